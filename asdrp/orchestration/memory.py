"""The orchestrators' conversation-wide memory: the canonical transcript plus each specialist's tool memory.

One user's conversation holds together whichever specialists answer its turns because the
orchestrator, not the specialists, owns the history: a turn is written as [user message, the
answer the user saw] in ONE append, tagged with the agent(s) that produced it. Specialists run
without sessions and get their context from here: the recent transcript window, their own earlier
tool calls/results (kept per conversation and specialist in a separate namespace that is never
listed as a user session), merged chronologically, and the (sub)query.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from asdrp.agents.agent_factory import AgentFactory
from asdrp.memory import ConversationKey, SessionStore, WindowSettings, message_text
from asdrp.memory.ids import MAX_ID_LENGTH
from asdrp.memory.recall_input import earlier_context
from asdrp.memory.stores.base import RECALL_QUERY_MAX_CHARS
from asdrp.orchestration.settings import MemorySettings

log = logging.getLogger("asdrp.orchestration")

TOOL_ITEM_TYPES = frozenset({"function_call", "function_call_output"})
"""Item types kept as a specialist's tool memory."""

_ANSWER_TAG = "_answer"
"""Private key on stored tool items: the id of the transcript answer of the turn they belong to."""

_PRIVATE_KEYS = (_ANSWER_TAG, "id")
"""Keys removed before items reach a model: ours, and item ids (the runner de-duplicates by id,
and a real API rejects ids of items it did not produce in this request)."""


def bounded_id(prefix: str, value: str) -> str:
    """`prefix + value` if that is a valid id, else `prefix` + a digest of value (stable): too long, or a value
    starting with "." after a prefix ending with one (".." is never valid, and ".x" is a valid id or user)."""
    candidate = prefix + value
    if len(candidate) <= MAX_ID_LENGTH and ".." not in candidate:
        return candidate
    return prefix + hashlib.sha256(value.encode()).hexdigest()[:48]


def side_user(user: str) -> str:
    """The user namespace holding every side record of `user`'s conversations (nobody logs in as it)."""
    return bounded_id("_tools.", user)


def tool_memory_key(key: ConversationKey, agent: str) -> ConversationKey:
    """Where `agent`'s tool items of conversation `key` live (a user namespace nobody logs in as)."""
    return ConversationKey(side_user(key.user), bounded_id(f"{agent}.", key.session_id))


def route_key(key: ConversationKey) -> ConversationKey:
    """Where the routing decisions of conversation `key` live (which experts answered each turn)."""
    return ConversationKey(side_user(key.user), bounded_id("_route.", key.session_id))


def user_message(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def assistant_message(text: str, item_id: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
        "status": "completed",
    }
    if item_id:
        item["id"] = item_id
    return item


def clean(item: dict[str, Any]) -> dict[str, Any]:
    """A copy of a stored item that is safe to give to a model."""
    return {k: v for k, v in item.items() if k not in _PRIVATE_KEYS}


@dataclass
class ConversationState:
    """What a turn starts from: the transcript window and the previous turn's routing."""

    key: ConversationKey
    window: list[dict[str, Any]]
    """Recent transcript items, oldest first (bounded by the memory settings)."""
    earlier: list[dict[str, Any]] = field(default_factory=list)
    """Items recalled from further back for this turn's message, behind their marker (or empty)."""
    previous_route: dict[str, Any] = field(default_factory=dict)
    """The previous turn's routing record: {"experts": [...], "capabilities": [...], ...}."""

    @property
    def is_new(self) -> bool:
        return not self.window

    @property
    def last_answer(self) -> str:
        for item in reversed(self.window):
            if item.get("role") == "assistant":
                return message_text(item)
        return ""

    def recent(self, count: int) -> list[dict[str, Any]]:
        """The last `count` transcript items, cleaned (for synthesis and planning prompts)."""
        return [clean(item) for item in self.window[-count:]] if count else []


@dataclass
class TurnRecord:
    """Everything one turn writes: the transcript pair, its routing and the specialists' tool items."""

    query: str
    answer: str
    answered_by: str
    """Agent tag of the answer: one agent, "geo+clock" for a mix, or the orchestrator for a fallback message."""
    route: dict[str, Any]
    """Routing facts the next turn needs (e.g. {"experts": [...], "capabilities": [...]}); stored."""
    trace: list[dict[str, Any]] = field(default_factory=list)
    """What the caller sees about how the turn was answered; not stored."""
    tool_items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Each specialist's new tool calls/results of this turn, kept as its tool memory."""


class ConversationMemory:
    """Transcript and tool memory of one orchestrator, over stores owned by the agent factory."""

    def __init__(
        self,
        orchestrator_id: str,
        transcript: SessionStore,
        tools: SessionStore,
        settings: MemorySettings,
        specialists: Sequence[str],
    ) -> None:
        self.orchestrator_id = orchestrator_id
        self.transcript = transcript
        self.tools = tools
        self.settings = settings
        self.specialists = list(specialists)

    @classmethod
    def open(
        cls, factory: AgentFactory, orchestrator_id: str, settings: MemorySettings, specialists: Sequence[str]
    ) -> ConversationMemory:
        """Memory on the factory's shared stores: the shared database if one is set, else two files."""
        transcript = factory.shared_store(factory.session_url or settings.location)
        tools = factory.shared_store(factory.session_url or settings.tools_location)
        return cls(orchestrator_id, transcript, tools, settings, specialists)

    def describe(self) -> dict[str, Any]:
        """The session_memory block a catalog shows for this orchestrator."""
        block: dict[str, Any] = {"type": self.transcript.kind, "enabled": True}
        if self.transcript.kind == "sqlite":
            block["database_path"] = self.transcript.location
        else:
            block["url"] = "shared"
        block["context_items"] = self.settings.window.max_items
        block["context_tokens"] = self.settings.window.max_tokens
        return block

    def lock(self, key: ConversationKey, *, wait: bool) -> AbstractAsyncContextManager[None]:
        """The turn lock of a conversation (one turn at a time; different conversations in parallel)."""
        return self.transcript.lock(key, wait=wait)

    async def load(self, key: ConversationKey, query: str = "") -> ConversationState:
        """The transcript window, what recall finds for `query` beyond it, and the previous routing.

        Forgets the side memory of a deleted conversation.
        """
        window = await self.transcript.window(key, self.settings.window)
        earlier: list[dict[str, Any]] = []
        recall = self.settings.recall
        if window and recall.enabled and query:
            found = await self.transcript.recall(key, query[:RECALL_QUERY_MAX_CHARS], limit=2 * recall.max_items)
            earlier = earlier_context(found, window, recall)
        routes = await self.tools.window(route_key(key), WindowSettings(max_items=1))
        route: dict[str, Any] = {}
        if routes:
            if not window:
                # The user deleted this conversation (or never had it): its side memory must not
                # come back under a reused session id.
                await self.forget(key)
            else:
                try:
                    route = json.loads(message_text(routes[-1]))
                except ValueError:
                    route = {}
        return ConversationState(key, window, earlier=earlier, previous_route=route)

    async def forget(self, key: ConversationKey) -> None:
        """Delete the side memory of one conversation: its routing record and every specialist's tool memory.

        Deleting a conversation must delete what the orchestrator learnt in it (places, amounts, rates),
        not only the transcript the user sees.
        """
        await asyncio.gather(
            self.tools.delete(route_key(key)),
            *(self.tools.delete(tool_memory_key(key, agent)) for agent in self.specialists),
        )

    async def forget_user(self, user: str) -> int:
        """Delete the side memory of every conversation of `user`; how many side records went."""
        return await self.tools.delete_user(side_user(user))

    async def specialist_input(
        self, state: ConversationState, agent: str, query: str, extra: Sequence[dict[str, Any]] = ()
    ) -> list[dict[str, Any]]:
        """What a specialist sees: transcript window + its own tool memory (chronological) + `extra` + query."""
        own: list[dict[str, Any]] = []
        if self.settings.tool_memory_items:
            own = await self.tools.window(
                tool_memory_key(state.key, agent), WindowSettings(max_items=self.settings.tool_memory_items)
            )
        by_answer: dict[str, list[dict[str, Any]]] = {}
        for item in own:
            by_answer.setdefault(str(item.get(_ANSWER_TAG)), []).append(item)
        in_window = {str(item.get("id")) for item in state.window if item.get("role") == "assistant"}
        merged = list(state.earlier)
        merged += [clean(item) for item in own if str(item.get(_ANSWER_TAG)) not in in_window]  # older turns
        for item in state.window:
            if item.get("role") == "assistant":
                merged.extend(clean(tool) for tool in by_answer.get(str(item.get("id")), ()))
            merged.append(clean(item))
        merged.extend(clean(item) for item in extra)
        merged.append(user_message(query))
        return merged

    async def record_turn(self, key: ConversationKey, turn: TurnRecord) -> None:
        """Write the turn: transcript pair in one append, then routing and tool memory.

        Once the transcript append has returned, the turn happened: the user's message and the
        answer are stored. The side memory lives in another store (another file, by default) and
        may fail on its own (locked, full, down); failing the turn then would tell the client a
        stored turn failed, and its retry would store it twice. So a side-memory failure is
        logged and the turn stands; the next turn simply sees less of this one's tool memory.
        """
        answer_id = f"msg_{uuid.uuid4().hex}"
        await self.transcript.append(
            key,
            [user_message(turn.query), assistant_message(turn.answer, answer_id)],
            agent=turn.answered_by,
            agent_id=self.orchestrator_id,
        )
        try:
            await self._record_side_memory(key, turn, answer_id)
        except Exception as exc:  # the transcript is written: nothing here may turn the turn into a failure
            log.warning(
                "%s: the turn of %s/%s is stored; its routing/tool memory was not (%s: %s)",
                self.orchestrator_id, key.user, key.session_id, type(exc).__name__, exc,
            )

    async def _record_side_memory(self, key: ConversationKey, turn: TurnRecord, answer_id: str) -> None:
        route = dict(turn.route, answer_id=answer_id)
        await self.tools.append(
            route_key(key), [assistant_message(json.dumps(route, separators=(",", ":")))], agent=self.orchestrator_id
        )
        for agent, items in turn.tool_items.items():
            tagged = [dict(item, **{_ANSWER_TAG: answer_id}) for item in items if item.get("type") in TOOL_ITEM_TYPES]
            if tagged:
                await self.tools.append(tool_memory_key(key, agent), tagged, agent=agent)

    async def tool_memory(self, key: ConversationKey, agent: str) -> list[dict[str, Any]]:
        """A specialist's stored tool items of a conversation (inspection and tests)."""
        return [
            clean(item)
            for item in await self.tools.window(tool_memory_key(key, agent), WindowSettings(max_items=10_000))
        ]
