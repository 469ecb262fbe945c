// asdrp chat page: vanilla JS, no build step. Talks to the same server's HTTP API (docs/http-api.md
// in the repository, /docs on the server) and streams answers over SSE read from fetch().
"use strict";

const KEY_STORAGE = "asdrp.apiKey";
const CURRENT_STORAGE = "asdrp.current";
// Per answer, what only the live reply carries (the trace, the model): kept so a reload shows the same.
const ANSWERS_STORAGE = "asdrp.answers";

// Example questions an empty conversation offers, per agent; orchestrators (and unknown ids) get the mix.
const EXAMPLES = {
  geo: ["Where is Kyoto?", "How far is Paris from London?", "What is near the Eiffel Tower?"],
  clock: ["What time is it in Tokyo?", "What time is it in New York?"],
  finance: ["What is the monthly payment on a 25000 loan at 7% over 5 years?"],
  calculator: ["What is 12 * 7?", "What is (3 + 4) * 5?"],
  chitchat: ["My name is Ada.", "What is my name?", "Hello!"],
  support: ["My name is Ada.", "What is my name?"],
  default: ["Where is Kyoto?", "What time is it in Tokyo?", "How far is Paris from London?", "My name is Ada."],
};

const $ = (id) => document.getElementById(id);
const els = {
  toggleSidebar: $("toggle-sidebar"), sidebar: $("sidebar"), agent: $("agent-select"), model: $("model"),
  keyForm: $("key-form"), key: $("api-key"), keyHint: $("key-hint"), mode: $("mode"),
  newSession: $("new-session"), sessions: $("session-list"), noSessions: $("no-sessions"),
  sessionId: $("session-id"), messages: $("messages"), suggestions: $("suggestions"),
  suggestionList: $("suggestion-list"), error: $("error"),
  form: $("chat-form"), input: $("message-input"), send: $("send-button"), count: $("char-count"),
};

// The server writes its limit into the page; 20000 is the server's default if the page is served elsewhere.
const MAX_INPUT = Number.parseInt(els.input.dataset.maxInput, 10) || 20000;
const NARROW = window.matchMedia("(max-width: 720px)");

let agents = [];
let current = loadJson(CURRENT_STORAGE, { sessionId: null, agentId: null });
let busy = false;

function loadJson(name, fallback) {
  try { return JSON.parse(localStorage.getItem(name)) || fallback; } catch { return fallback; }
}
function saveCurrent() { localStorage.setItem(CURRENT_STORAGE, JSON.stringify(current)); }
function formatCount(n) { return Number(n).toLocaleString("en-US"); }
// Characters as the server counts them (code points): an emoji is one, not the two UTF-16 units of .length.
function charCount(text) { let n = 0; for (const _ of text) n += 1; return n; }

function headers(json) {
  const h = {};
  const key = localStorage.getItem(KEY_STORAGE);
  if (key) h["X-API-Key"] = key;
  if (json) h["Content-Type"] = "application/json";
  return h;
}

// An error the API returned, readable by a person: known codes get our own words, and server
// setting names (which a page user cannot change) never appear.
function readableError(status, body) {
  const code = body && body.error_code;
  if (code === "input_too_large" || status === 413) {
    // The server's own limit when it states one (it may have changed since this page loaded).
    const stated = /limit is (\d+)/.exec((body && body.detail) || "");
    return tooLongMessage(null, stated ? Number(stated[1]) : MAX_INPUT);
  }
  if (status === 401) return "This server needs an API key: enter it under “API key” and press “Save key”.";
  if (status === 409) return "This conversation is still answering your previous message. Try again in a moment.";
  if (status === 503) return "The conversation store is unavailable right now. Try again shortly.";
  const detail = (body && body.detail) || `The server answered ${status}.`;
  return String(detail).replace(/\s*\(ASDRP_[A-Z_]+\)/g, "").replace(/\bASDRP_[A-Z_]+\b/g, "a server setting");
}

function tooLongMessage(length, limit = MAX_INPUT) {
  const size = length === null ? "too long" : `${formatCount(length)} characters`;
  return `Your message is ${size}; the limit is ${formatCount(limit)} characters. ` +
    "Shorten it (or split it into several messages) and send again.";
}

async function api(path, options = {}) {
  const request = { ...options, headers: { ...headers(!!options.body), ...(options.headers || {}) } };
  let response;
  try {
    response = await fetch(path, request);
  } catch (error) {
    // A read that met a dropped connection (a server restart, an idle connection it just closed)
    // is tried once more; a POST is not, since it may have reached the server.
    if ((options.method || "GET") !== "GET") throw error;
    await new Promise((resolve) => setTimeout(resolve, 300));
    response = await fetch(path, request);
  }
  if (!response.ok) {
    let body = null;
    try { body = await response.json(); } catch { /* not JSON */ }
    const error = new Error(readableError(response.status, body));
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
  if (found) return found.display_name;
  // A stored tag naming several specialists ("geo+clock") reads as their names.
  if (id && id.includes("+")) return id.split("+").map(agentName).join(" + ");
  return id || "Assistant";
}

function modelText(model) { return model === "offline" ? "offline model" : model; }

// The top bar names the model of the latest answer shown (never a remembered one: the server's model may
// have changed since, and a wrong label is worse than none).
function showModel(model) {
  if (!model) return;
  els.model.hidden = false;
  els.model.textContent = `Answers from: ${modelText(model)}`;
  els.model.title = model === "offline"
    ? "The offline model is a deterministic stand-in that uses the agents' tools; it is not an LLM."
    : `Answers come from the model ${model}.`;
}

// --- sidebar open/closed ----------------------------------------------------------------------

function setSidebar(open) {
  els.sidebar.hidden = !open;
  els.toggleSidebar.setAttribute("aria-expanded", String(open));
  document.body.classList.toggle("sidebar-open", open);
}
function closeSidebarOnPhone() { if (NARROW.matches) setSidebar(false); }

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

function messageCount() { return els.messages.querySelectorAll(".message").length; }

function clearMessages() {
  for (const div of els.messages.querySelectorAll(".message")) div.remove();
  updateEmptyState();
}

function updateEmptyState() {
  const empty = messageCount() === 0;
  els.suggestions.hidden = !empty;
  if (!empty) return;
  const examples = EXAMPLES[els.agent.value] || EXAMPLES.default;
  els.suggestionList.replaceChildren();
  for (const example of examples) {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "suggestion";
    button.textContent = example;
    button.addEventListener("click", () => submitText(example));
    li.append(button);
    els.suggestionList.append(li);
  }
}

// One message bubble. An assistant's label is the agent the conversation is with (the same live and
// after a reload); the model that answered is a separate badge.
function addMessage(role, text, who, model) {
  const div = document.createElement("div");
  div.className = `message ${role}`;
  const head = document.createElement("span");
  head.className = "head";
  const label = document.createElement("span");
  label.className = "who";
  label.textContent = role === "user" ? "You" : who || "Assistant";
  head.append(label);
  const badge = document.createElement("span");
  badge.className = "model";
  head.append(badge);
  const body = document.createElement("span");
  body.className = "text";
  renderText(body, text);
  div.append(head, body);
  setMessageModel(div, model);
  els.messages.append(div);
  els.suggestions.hidden = true;
  els.messages.scrollTop = els.messages.scrollHeight;
  return div;
}

function setMessageModel(div, model) {
  const badge = div.querySelector(".model");
  badge.textContent = model ? modelText(model) : "";
  badge.hidden = !model;
  if (model) badge.title = `Answered by: ${modelText(model)}`;
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
    const parts = [agentName(step.agent)];
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

function savedAnswers() { return loadJson(ANSWERS_STORAGE, {}); }
function saveAnswer(sessionId, answerIndex, trace, model) {
  const all = savedAnswers();
  const forSession = all[sessionId] || {};
  forSession[answerIndex] = { trace: Array.isArray(trace) ? trace : [], model: model || null };
  delete all[sessionId]; // re-insert: the most recently used sessions are kept
  all[sessionId] = forSession;
  const ids = Object.keys(all);
  if (ids.length > 50) delete all[ids[0]]; // keep browser storage small
  localStorage.setItem(ANSWERS_STORAGE, JSON.stringify(all));
}
function forgetAnswers(sessionId) {
  const all = savedAnswers();
  delete all[sessionId];
  localStorage.setItem(ANSWERS_STORAGE, JSON.stringify(all));
}

function assistantCount() { return els.messages.querySelectorAll(".message.assistant").length; }

async function loadSession(sessionId) {
  showError("");
  const path = `/sessions/${encodeURIComponent(sessionId)}`;
  const detail = await api(path);
  // A long history comes in pages, oldest first: follow them so the latest turns are shown too.
  for (let cursor = detail.next_cursor; cursor;) {
    const more = await api(`${path}?cursor=${encodeURIComponent(cursor)}`);
    detail.items.push(...more.items);
    cursor = more.next_cursor;
  }
  clearMessages();
  if (detail.agent_id && agents.some((a) => a.id === detail.agent_id)) els.agent.value = detail.agent_id;
  // The conversation's agent labels every answer, exactly as during the live conversation.
  const speaker = agentName(detail.agent_id || els.agent.value);
  const saved = savedAnswers()[sessionId] || {};
  let answers = 0;
  let latestModel = null;
  for (const item of detail.items) {
    if (item.type !== "message") continue;
    if (item.role === "user") addMessage("user", item.content);
    else if (item.role === "assistant") {
      const record = saved[answers] || {};
      const model = item.model || record.model;
      latestModel = model || latestModel;
      const div = addMessage("assistant", item.content, detail.agent_id ? speaker : agentName(item.agent), model);
      div.dataset.done = "true";
      addTrace(div, record.trace);
      answers += 1;
    }
  }
  showModel(latestModel);
  setSession(sessionId);
  updateEmptyState();
}

// --- sidebar --------------------------------------------------------------------------------

function when(seconds, withSeconds) {
  const date = new Date(seconds * 1000);
  const today = new Date().toDateString() === date.toDateString();
  const time = date.toLocaleTimeString([], withSeconds
    ? { hour: "2-digit", minute: "2-digit", second: "2-digit" } : { hour: "2-digit", minute: "2-digit" });
  return today ? time : `${date.toLocaleDateString([], { month: "short", day: "numeric" })} ${time}`;
}

// Conversations that start with the same words get a number (oldest first) and their start time to
// the second, so eight "Where is Kyoto?" are eight distinguishable entries.
function numberDuplicates(sessions) {
  const byTitle = new Map();
  for (const session of sessions) {
    const title = (session.title || session.session_id).trim();
    if (!byTitle.has(title)) byTitle.set(title, []);
    byTitle.get(title).push(session);
  }
  const numbers = new Map();
  for (const group of byTitle.values()) {
    if (group.length < 2) continue;
    [...group].sort((a, b) => a.created_at - b.created_at)
      .forEach((session, index) => numbers.set(session.session_id, index + 1));
  }
  return numbers;
}

async function refreshSessions() {
  let page;
  try { page = await api("/sessions?limit=100"); } catch (error) { showError(error.message); return; }
  const numbers = numberDuplicates(page.sessions);
  els.sessions.replaceChildren();
  for (const session of page.sessions) els.sessions.append(sessionEntry(session, numbers.get(session.session_id)));
  els.noSessions.hidden = page.sessions.length > 0;
}

function sessionEntry(session, number) {
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
  // The number goes on the short second line: a long title is cut with an ellipsis and would hide it.
  meta.textContent = number
    ? `#${number} · started ${when(session.created_at, true)} · ${agentName(session.agent_id)}`
    : `${when(session.updated_at, false)} · ${agentName(session.agent_id)}`;
  open.append(title, meta);
  const name = number ? `${title.textContent} (#${number})` : title.textContent;
  open.setAttribute("aria-label", `Open conversation: ${name}`);
  open.addEventListener("click", () => {
    loadSession(session.session_id).then(closeSidebarOnPhone).catch((e) => showError(e.message));
  });
  const del = document.createElement("button");
  del.type = "button";
  del.className = "delete-session";
  del.textContent = "✕";
  del.title = "Delete conversation";
  del.setAttribute("aria-label", `Delete conversation: ${name}`);
  del.addEventListener("click", () => askToDelete(li, session.session_id, name));
  li.append(open, del);
  return li;
}

// Deleting cannot be undone (the history is gone from the server), so it takes a second, explicit click.
function askToDelete(li, sessionId, title) {
  const kept = [...li.children];
  const box = document.createElement("div");
  box.className = "confirm-delete";
  box.setAttribute("role", "group");
  box.setAttribute("aria-label", `Confirm deleting: ${title}`);
  const question = document.createElement("span");
  question.textContent = `Delete “${title}” for good?`;
  const yes = document.createElement("button");
  yes.type = "button";
  yes.className = "confirm-delete-yes danger";
  yes.textContent = "Delete";
  const no = document.createElement("button");
  no.type = "button";
  no.className = "confirm-delete-no";
  no.textContent = "Cancel";
  const cancel = () => { li.replaceChildren(...kept); kept[kept.length - 1].focus(); };
  no.addEventListener("click", cancel);
  box.addEventListener("keydown", (event) => { if (event.key === "Escape") cancel(); });
  yes.addEventListener("click", () => deleteSession(sessionId));
  box.append(question, yes, no);
  li.replaceChildren(box);
  no.focus();
}

async function deleteSession(sessionId) {
  try {
    await api(`/sessions/${encodeURIComponent(sessionId)}`, { method: "DELETE" });
  } catch (error) {
    if (error.status !== 404) { showError(error.message); return; }
  }
  forgetAnswers(sessionId);
  if (current.sessionId === sessionId) newConversation();
  await refreshSessions();
}

function newConversation() {
  clearMessages();
  showError("");
  setSession(null);
  els.input.focus();
}

// --- the message box ------------------------------------------------------------------------

function updateCount() {
  const length = charCount(els.input.value);
  els.count.textContent = `${formatCount(length)} / ${formatCount(MAX_INPUT)}`;
  els.count.title = `Messages can be up to ${formatCount(MAX_INPUT)} characters.`;
  els.count.classList.toggle("over", length > MAX_INPUT);
}

// What stops a message from being sent, said once, in plain words; null when it can go.
function inputProblem(text) {
  if (!text.trim()) return "Type a message first.";
  const length = charCount(text);
  if (length > MAX_INPUT) return tooLongMessage(length);
  return null;
}

function submitText(text) {
  const problem = inputProblem(text);
  if (problem) { showError(problem); els.input.focus(); return; }
  if (busy) return;
  if (els.input.value === text) els.input.value = "";
  updateCount();
  send(text);
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

// A message the server refused is taken back: its bubbles go, the text returns to the box, one error says why.
function takeBack(text, bubbles, message) {
  for (const div of bubbles) div.remove();
  if (!els.input.value) els.input.value = text;
  updateCount();
  updateEmptyState();
  showError(message);
}

async function send(text) {
  busy = true;
  els.send.disabled = true;
  showError("");
  const agentId = els.agent.value;
  const question = addMessage("user", text);
  const answer = addMessage("assistant", "…", agentName(agentId));
  const body = answer.querySelector(".text");
  const answerIndex = assistantCount() - 1;
  try {
    let response;
    try {
      response = await fetch(`/agents/${encodeURIComponent(agentId)}/chat/stream`, {
        method: "POST",
        headers: headers(true),
        body: JSON.stringify({ input: text, session_id: current.sessionId }),
      });
    } catch (error) {
      takeBack(text, [question, answer], `Cannot reach the server (${error.message}). Your message was not sent.`);
      return;
    }
    if (!response.ok) {
      let detail = null;
      try { detail = await response.json(); } catch { /* not JSON */ }
      takeBack(text, [question, answer], readableError(response.status, detail));
      return;
    }
    let streamed = "";
    for await (const event of sseEvents(response)) {
      if (event.type === "metadata") {
        setSession(event.metadata.session_id);
      } else if (event.type === "token") {
        streamed += event.content;
        body.textContent = streamed;
      } else if (event.type === "done") {
        const meta = event.metadata || {};
        renderText(body, event.content);
        answer.dataset.done = "true";
        setSession(meta.session_id);
        setMessageModel(answer, meta.model);
        showModel(meta.model);
        addTrace(answer, meta.trace);
        saveAnswer(meta.session_id, answerIndex, meta.trace, meta.model);
      } else if (event.type === "error") {
        // Shown in the answer's bubble only: one place, not two.
        body.textContent = `Sorry, this answer failed: ${readableError(500, { detail: event.content })}`;
        answer.dataset.done = "error";
      }
    }
  } catch (error) {
    body.textContent = `Sorry, the answer was cut off: ${error.message}`;
    answer.dataset.done = "error";
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
  updateCount();
  try {
    const health = await api("/health");
    els.mode.textContent = health.mode === "local" ? "Local mode: no API key needed" : "API key required";
    els.keyForm.hidden = health.mode === "local"; // no keys exist in local mode: nothing to enter
  } catch (error) { showError(`Server unreachable: ${error.message}`); return; }
  try {
    await loadAgents();
  } catch (error) {
    if (error.status !== 401) { showError(error.message); return; }
    // Said next to the key box (in the list of conversations, opened for it), where a phone shows it.
    setSidebar(true);
    els.keyHint.textContent = els.key.value
      ? "This key was not accepted. Check it and press “Save key” again."
      : "This server needs an API key: enter it above and press “Save key”.";
    els.keyHint.hidden = false;
    els.key.focus();
    return;
  }
  els.keyHint.hidden = true;
  setSession(current.sessionId);
  updateEmptyState();
  if (current.sessionId) {
    try { await loadSession(current.sessionId); } catch (error) {
      if (error.status === 404) newConversation(); else showError(error.message);
    }
  }
  await refreshSessions();
}

setSidebar(!NARROW.matches); // a phone opens on the conversation, the list one tap away
els.toggleSidebar.addEventListener("click", () => setSidebar(els.sidebar.hidden));
// On a phone the list covers the conversation: a tap on the conversation puts it away.
document.querySelector(".chat").addEventListener("click", closeSidebarOnPhone);
els.keyForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const key = els.key.value.trim();
  if (key) localStorage.setItem(KEY_STORAGE, key); else localStorage.removeItem(KEY_STORAGE);
  showError("");
  start();
});
els.form.addEventListener("submit", (event) => {
  event.preventDefault();
  submitText(els.input.value);
});
els.input.addEventListener("input", () => {
  updateCount();
  if (!els.error.hidden && !inputProblem(els.input.value)) showError("");
});
els.input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    els.form.requestSubmit();
  }
});
els.newSession.addEventListener("click", () => { newConversation(); closeSidebarOnPhone(); });
els.agent.addEventListener("change", () => {
  // A conversation belongs to the agent it started with; another agent starts a new one.
  current.agentId = els.agent.value;
  if (current.sessionId) newConversation(); else saveCurrent();
  updateEmptyState();
});

start();
