// asdrp chat page: vanilla JS, no build step. Talks to the same server's HTTP API
// (see DESIGN.md "The HTTP contract"); streams answers over SSE read from fetch().
"use strict";

const KEY_STORAGE = "asdrp.apiKey";
const CURRENT_STORAGE = "asdrp.current";
const TRACE_STORAGE = "asdrp.traces";

const $ = (id) => document.getElementById(id);
const els = {
  agent: $("agent-select"), keyForm: $("key-form"), key: $("api-key"), mode: $("mode"),
  newSession: $("new-session"), sessions: $("session-list"), noSessions: $("no-sessions"),
  sessionId: $("session-id"), messages: $("messages"), error: $("error"),
  form: $("chat-form"), input: $("message-input"), send: $("send-button"),
};

let agents = [];
let current = loadJson(CURRENT_STORAGE, { sessionId: null, agentId: null });
let busy = false;

function loadJson(name, fallback) {
  try { return JSON.parse(localStorage.getItem(name)) || fallback; } catch { return fallback; }
}
function saveCurrent() { localStorage.setItem(CURRENT_STORAGE, JSON.stringify(current)); }

function headers(json) {
  const h = {};
  const key = localStorage.getItem(KEY_STORAGE);
  if (key) h["X-API-Key"] = key;
  if (json) h["Content-Type"] = "application/json";
  return h;
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { ...headers(!!options.body), ...(options.headers || {}) } });
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try { detail = (await response.json()).detail || detail; } catch { /* not JSON */ }
    const error = new Error(detail);
    error.status = response.status;
    throw error;
  }
  return response.status === 204 ? null : response.json();
}

function showError(message) {
  els.error.textContent = message || "";
  els.error.hidden = !message;
}

function setSession(sessionId) {
  current.sessionId = sessionId;
  current.agentId = els.agent.value || current.agentId;
  saveCurrent();
  els.sessionId.textContent = sessionId || "new conversation";
  for (const li of els.sessions.children) li.classList.toggle("current", li.dataset.sessionId === sessionId);
}

function agentName(id) {
  const found = agents.find((a) => a.id === id);
  return found ? found.display_name : (id || "assistant");
}

// --- messages -------------------------------------------------------------------------------

// Answers may mark labels with **bold** (the MoE merge, most LLMs): render just that, never as HTML.
function renderText(element, text) {
  element.replaceChildren();
  const pieces = String(text).split(/\*\*(.+?)\*\*/gs);
  pieces.forEach((piece, index) => {
    if (index % 2 === 1) {
      const strong = document.createElement("strong");
      strong.textContent = piece;
      element.append(strong);
    } else if (piece) {
      element.append(document.createTextNode(piece));
    }
  });
}

function addMessage(role, text, who) {
  const div = document.createElement("div");
  div.className = `message ${role}`;
  const label = document.createElement("span");
  label.className = "who";
  label.textContent = role === "user" ? "You" : who || "Assistant";
  const body = document.createElement("span");
  body.className = "text";
  renderText(body, text);
  div.append(label, body);
  els.messages.append(div);
  els.messages.scrollTop = els.messages.scrollHeight;
  return div;
}

function addTrace(div, trace) {
  if (!Array.isArray(trace) || trace.length === 0) return;
  const details = document.createElement("details");
  details.className = "trace";
  const summary = document.createElement("summary");
  summary.textContent = `Trace (${trace.length} step${trace.length === 1 ? "" : "s"})`;
  const list = document.createElement("ul");
  for (const step of trace) {
    const li = document.createElement("li");
    li.textContent = describeStep(step);
    list.append(li);
  }
  const rawDetails = document.createElement("details");
  const rawSummary = document.createElement("summary");
  rawSummary.textContent = "Raw trace";
  const raw = document.createElement("pre");
  raw.textContent = JSON.stringify(trace, null, 2);
  rawDetails.append(rawSummary, raw);
  details.append(summary, list, rawDetails);
  div.append(details);
}

// One readable line per trace step: who answered what, how it went, how long it took.
function describeStep(step) {
  const ms = step.elapsed_ms ?? step.duration_ms;
  if (step.agent) {
    const parts = [step.agent];
    if (step.expert) parts.push(`expert ${step.expert}`);
    if (step.text) parts.push(`“${step.text}”`);
    if (step.status) parts.push(step.status);
    if (step.score !== undefined) parts.push(`score ${Number(step.score).toFixed(2)}`);
    if (ms !== undefined) parts.push(`${Math.round(ms)} ms`);
    if (step.error) parts.push(step.error);
    return parts.join(" · ");
  }
  const kind = step.type || "step";
  const parts = [kind];
  if (step.method) parts.push(step.method);
  if (step.complexity) parts.push(step.complexity);
  if (Array.isArray(step.subqueries)) parts.push(`${step.subqueries.length} sub-quer${step.subqueries.length === 1 ? "y" : "ies"}`);
  if (step.reason) parts.push(step.reason);
  return parts.join(" · ");
}

function traces() { return loadJson(TRACE_STORAGE, {}); }
function saveTrace(sessionId, answerIndex, trace) {
  if (!Array.isArray(trace) || trace.length === 0) return;
  const all = traces();
  const forSession = all[sessionId] || {};
  forSession[answerIndex] = trace;
  all[sessionId] = forSession;
  const ids = Object.keys(all);
  if (ids.length > 50) delete all[ids[0]]; // keep browser storage small
  localStorage.setItem(TRACE_STORAGE, JSON.stringify(all));
}

function assistantCount() { return els.messages.querySelectorAll(".message.assistant").length; }

async function loadSession(sessionId) {
  showError("");
  const detail = await api(`/sessions/${encodeURIComponent(sessionId)}`);
  els.messages.replaceChildren();
  if (detail.agent_id && agents.some((a) => a.id === detail.agent_id)) els.agent.value = detail.agent_id;
  const saved = traces()[sessionId] || {};
  let answers = 0;
  for (const item of detail.items) {
    if (item.type !== "message") continue;
    if (item.role === "user") addMessage("user", item.content);
    else if (item.role === "assistant") {
      const div = addMessage("assistant", item.content, agentName(item.agent));
      addTrace(div, saved[answers]);
      answers += 1;
    }
  }
  setSession(sessionId);
}

// --- sidebar --------------------------------------------------------------------------------

function when(seconds) {
  const date = new Date(seconds * 1000);
  const today = new Date().toDateString() === date.toDateString();
  return today ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : date.toLocaleDateString();
}

async function refreshSessions() {
  let page;
  try { page = await api("/sessions?limit=100"); } catch (error) { showError(error.message); return; }
  els.sessions.replaceChildren();
  for (const session of page.sessions) {
    const li = document.createElement("li");
    li.dataset.sessionId = session.session_id;
    li.classList.toggle("current", session.session_id === current.sessionId);
    const open = document.createElement("button");
    open.type = "button";
    open.className = "open-session";
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = session.title || session.session_id;
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = `${when(session.updated_at)} · ${agentName(session.agent_id)}`;
    open.append(title, meta);
    open.setAttribute("aria-label", `Open conversation: ${title.textContent}`);
    open.addEventListener("click", () => loadSession(session.session_id).catch((e) => showError(e.message)));
    const del = document.createElement("button");
    del.type = "button";
    del.className = "delete-session";
    del.textContent = "✕";
    del.title = "Delete conversation";
    del.setAttribute("aria-label", `Delete conversation: ${title.textContent}`);
    del.addEventListener("click", () => deleteSession(session.session_id));
    li.append(open, del);
    els.sessions.append(li);
  }
  els.noSessions.hidden = page.sessions.length > 0;
}

async function deleteSession(sessionId) {
  try {
    await api(`/sessions/${encodeURIComponent(sessionId)}`, { method: "DELETE" });
  } catch (error) {
    if (error.status !== 404) { showError(error.message); return; }
  }
  const all = traces();
  delete all[sessionId];
  localStorage.setItem(TRACE_STORAGE, JSON.stringify(all));
  if (current.sessionId === sessionId) newConversation();
  await refreshSessions();
}

function newConversation() {
  els.messages.replaceChildren();
  showError("");
  setSession(null);
  els.input.focus();
}

// --- sending (SSE over fetch) ---------------------------------------------------------------

async function* sseEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = frame.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
      if (data) yield JSON.parse(data);
    }
  }
}

async function send(text) {
  if (busy || !text.trim()) return;
  busy = true;
  els.send.disabled = true;
  showError("");
  const agentId = els.agent.value;
  addMessage("user", text);
  const answer = addMessage("assistant", "…", agentName(agentId));
  const body = answer.querySelector(".text");
  const answerIndex = assistantCount() - 1;
  try {
    const response = await fetch(`/agents/${encodeURIComponent(agentId)}/chat/stream`, {
      method: "POST",
      headers: headers(true),
      body: JSON.stringify({ input: text, session_id: current.sessionId }),
    });
    if (!response.ok) {
      let detail = `${response.status} ${response.statusText}`;
      try { detail = (await response.json()).detail || detail; } catch { /* not JSON */ }
      throw new Error(detail);
    }
    let streamed = "";
    for await (const event of sseEvents(response)) {
      if (event.type === "metadata") {
        setSession(event.metadata.session_id);
      } else if (event.type === "token") {
        streamed += event.content;
        body.textContent = streamed;
      } else if (event.type === "done") {
        renderText(body, event.content);
        answer.dataset.done = "true";
        setSession(event.metadata.session_id);
        addTrace(answer, event.metadata.trace);
        saveTrace(event.metadata.session_id, answerIndex, event.metadata.trace);
      } else if (event.type === "error") {
        body.textContent = `Error: ${event.content}`;
        answer.dataset.done = "error";
      }
    }
  } catch (error) {
    body.textContent = `Error: ${error.message}`;
    answer.dataset.done = "error";
    showError(error.message);
  } finally {
    busy = false;
    els.send.disabled = false;
    els.messages.scrollTop = els.messages.scrollHeight;
    refreshSessions();
  }
}

// --- start-up -------------------------------------------------------------------------------

async function loadAgents() {
  agents = await api("/agents");
  els.agent.replaceChildren();
  for (const agent of agents) {
    const option = document.createElement("option");
    option.value = agent.id;
    option.textContent = agent.kind === "orchestrator" ? `${agent.display_name} (orchestrator)` : agent.display_name;
    els.agent.append(option);
  }
  if (current.agentId && agents.some((a) => a.id === current.agentId)) els.agent.value = current.agentId;
  else if (agents.some((a) => a.id === "moe")) els.agent.value = "moe"; // the orchestrator answers any topic
}

async function start() {
  els.key.value = localStorage.getItem(KEY_STORAGE) || "";
  try {
    const health = await api("/health");
    els.mode.textContent = health.mode === "local" ? "Local mode: no API key needed" : "API key required";
  } catch (error) { showError(`Server unreachable: ${error.message}`); return; }
  try {
    await loadAgents();
  } catch (error) {
    showError(error.status === 401 ? "Enter your API key and press “Save key”." : error.message);
    return;
  }
  setSession(current.sessionId);
  if (current.sessionId) {
    try { await loadSession(current.sessionId); } catch (error) {
      if (error.status === 404) newConversation(); else showError(error.message);
    }
  }
  await refreshSessions();
}

els.keyForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const key = els.key.value.trim();
  if (key) localStorage.setItem(KEY_STORAGE, key); else localStorage.removeItem(KEY_STORAGE);
  showError("");
  start();
});
els.form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = els.input.value;
  els.input.value = "";
  send(text);
});
els.input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    els.form.requestSubmit();
  }
});
els.newSession.addEventListener("click", newConversation);
els.agent.addEventListener("change", () => {
  // A conversation belongs to the agent it started with; another agent starts a new one.
  current.agentId = els.agent.value;
  if (current.sessionId) newConversation(); else saveCurrent();
});

start();
