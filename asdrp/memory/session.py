"""ConversationSession: one conversation of any SessionStore, as the SDK's `Session`.

Pass it to `Runner.run(agent, input, session=session)`. It reads a bounded window (the runner
asks for `session_settings.limit` items) and stores whole turns: the runner calls `add_items`
once for the user's input and once per model response, each time passing `wrapper=` (the run's
context, one object per run). Those items are held per run and written in ONE store transaction
when the turn settles (`turn_settles`): the assistant has answered and every tool call has its
output, or the run ends on a tool result (`tool_use_behavior="stop_on_first_tool"`, `StopAtTools`).
A run that fails or is cancelled before that leaves nothing behind.

A run interrupted for a tool approval is different: its items are *staged* in the store (durable,
invisible to readers). The resumed run — in this process or another, on another replica, hours
later — presents the outputs of the waiting calls; the session finds the staged turn those calls
belong to and settles the whole turn, `[user, function_call, function_call_output, assistant]`,
once (a second resume of the same interruption gets StaleTurnError instead of a duplicate).

Items the session cannot read as Responses items (the SDK's `EncryptedSession` hands over
encrypted envelopes) and direct calls without `wrapper` (API use, tests) are stored at once, one
transaction per call, as the SDK's own sessions do.
"""

from __future__ import annotations

import sys
import uuid
import weakref
from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from agents.memory import SessionSettings

from asdrp.memory.errors import StaleTurnError
from asdrp.memory.ids import DEFAULT_USER
from asdrp.memory.records import ConversationKey, SessionInfo, StoredItem, WindowSettings
from asdrp.memory.rows import call_id_of, is_opaque, is_tool_output, is_turn_start
from asdrp.memory.stores.base import SessionStore
from asdrp.memory.window import WindowRow, select_window

FINAL_SAVE_FUNCTIONS = frozenset({"save_final_turn_items_after_guardrails", "_finalize_streamed_final_output"})
"""The SDK (0.24) functions that save a run's final items, non-streamed and streamed."""


def run_is_ending(max_depth: int = 48) -> bool:
    """Whether the SDK is saving the final items of a run right now (called from `add_items`).

    The Session protocol has no end-of-run call, and a run that stops on a tool result hands the
    session exactly what a run about to call the model again does. The SDK saves a run's last
    items from the functions in FINAL_SAVE_FUNCTIONS, so their presence on the stack is the one
    signal that tells the two apart. Should a later SDK rename them, such turns would wait for an
    answer that never comes; the tests of stop_on_first_tool catch that.
    """
    frame = sys._getframe(1)
    for _ in range(max_depth):
        if frame is None:
            return False
        if frame.f_code.co_name in FINAL_SAVE_FUNCTIONS:
            return True
        frame = frame.f_back
    return False


def unanswered_calls(items: Iterable[dict[str, Any]]) -> set[str]:
    """Call ids of the tool calls among `items` that have no output among them."""
    calls: set[str] = set()
    outputs: set[str] = set()
    for item in items:
        call_id = call_id_of(item)
        if call_id is not None:
            (outputs if is_tool_output(item) else calls).add(call_id)
    return calls - outputs


def turn_settles(items: list[dict[str, Any]], *, run_ending: bool) -> bool:
    """Whether a run's turn is whole: every call answered, and the answer given or the run over."""
    if not items or unanswered_calls(items):
        return False
    last = items[-1]
    return (last.get("role") == "assistant" and last.get("type", "message") == "message") or run_ending


@dataclass
class _Turn:
    """The items of one run's turn in progress."""

    turn_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    items: list[dict[str, Any]] = field(default_factory=list)
    staged: bool = False
    """True once the turn is staged in the store (its run was interrupted): committing settles it."""


class ConversationSession:
    """The SDK Session protocol over one (user, session_id) conversation of a SessionStore."""

    def __init__(
        self,
        store: SessionStore,
        session_id: str,
        *,
        user: str = DEFAULT_USER,
        agent: str | None = None,
        agent_id: str | None = None,
        window: WindowSettings = WindowSettings(),
        owns_store: bool = False,
    ) -> None:
        self.key = ConversationKey(user, session_id)
        self.session_id: str = self.key.session_id
        self.user: str = self.key.user
        self.store = store
        self.agent = agent
        self.agent_id = agent_id if agent_id is not None else agent
        self.window = window
        self.session_settings: SessionSettings | None = SessionSettings(limit=window.max_items)
        self.owns_store = owns_store
        self._runs: dict[int, _Turn] = {}  # id(run context) -> that run's turn in progress

    def __repr__(self) -> str:
        return f"ConversationSession({self.session_id!r}, user={self.user!r}, store={self.store!r})"

    # --- SDK Session protocol --------------------------------------------------------------

    async def get_items(self, limit: int | None = None, wrapper: Any = None) -> list[dict[str, Any]]:
        """limit=None: the full history; limit=n: the newest n items, as the SDK's sessions return them.

        With a token budget (`WindowSettings.max_tokens`) the n items are cut further, on a turn
        boundary, to fit it, never leaving a tool output without its call. limit <= 0 is empty. Both
        include the calling run's own turn in progress.
        """
        if limit is not None and limit <= 0:
            return []
        turn = self._runs.get(id(wrapper)) if wrapper is not None else None
        pending = turn.items if turn is not None else []
        if limit is None:
            return [stored.item for stored in await self.store.read(self.key)] + list(pending)
        if self.window.max_tokens is None:
            recent = await self.store.tail(self.key, limit) if len(pending) < limit else []
            return (recent + list(pending))[-limit:]
        settings = WindowSettings(max_items=limit, max_tokens=self.window.max_tokens)
        committed = await self.store.window(self.key, settings)
        if not pending:
            return committed
        return select_window([WindowRow.of(item) for item in committed + pending], settings)

    async def add_items(self, items: list[dict[str, Any]], wrapper: Any = None) -> None:
        """Store items: at once without `wrapper`; with it, as part of the run's turn (see the module)."""
        items = list(items)
        if wrapper is None or any(is_opaque(item) for item in items):
            await self._append(items)
            return
        if not items:
            return
        turn = await self._turn_for(wrapper, items)
        turn.items.extend(items)
        if turn_settles(turn.items, run_ending=run_is_ending()):
            await self._append(turn.items, settle=turn.turn_id if turn.staged else None)
            self._runs[id(wrapper)] = _Turn()
        elif unanswered_calls(turn.items):
            # the run may stop here for an approval: keep the turn where a resumed run can find it
            await self.store.stage(self.key, turn.turn_id, turn.items)
            turn.staged = True

    async def pop_item(self, wrapper: Any = None) -> dict[str, Any] | None:
        """Remove and return the newest item (from the calling run's turn in progress first)."""
        turn = self._runs.get(id(wrapper)) if wrapper is not None else None
        if turn is None or not turn.items:
            return await self.store.pop(self.key)
        item = turn.items.pop()
        if turn.staged:
            await self.store.stage(self.key, turn.turn_id, turn.items)
        return item

    async def clear_session(self, wrapper: Any = None) -> None:
        """Remove every item and staged turn of the conversation (its registry row stays, with 0 items)."""
        self._runs.clear()
        await self.store.clear(self.key)

    # --- turns in progress -----------------------------------------------------------------

    async def _append(self, items: list[dict[str, Any]], *, settle: str | None = None) -> None:
        await self.store.append(self.key, items, agent=self.agent, agent_id=self.agent_id, settle=settle)

    async def _turn_for(self, wrapper: Any, items: list[dict[str, Any]]) -> _Turn:
        """The run's turn that `items` continue: its own, a staged one they resume, or a new one."""
        run = id(wrapper)
        turn = self._runs.get(run)
        if turn is None:
            turn = await self._resumed_turn(items) or _Turn()
            self._runs[run] = turn
            # the entry lives as long as the run's context: a run that dies takes its turn along
            weakref.finalize(wrapper, self._runs.pop, run, None)
        elif turn.items and is_turn_start(items[0]):
            # the same context starts a new turn after one that never settled (it failed)
            if turn.staged:
                await self.store.discard(self.key, turn.turn_id)
            turn = self._runs[run] = _Turn()
        return turn

    async def _resumed_turn(self, items: list[dict[str, Any]]) -> _Turn | None:
        """The staged turn whose waiting calls `items` answer (a resumed run), if any.

        Outputs for calls that are already in the stored history mean the interruption was resumed
        and stored before: StaleTurnError rather than a second copy of its ending.
        """
        answers = {call_id_of(item) for item in items if is_tool_output(item)} - {None}
        if not answers or is_turn_start(items[0]):
            return None
        for staged in await self.store.staged(self.key):
            if unanswered_calls(staged.items) & answers:
                return _Turn(staged.turn_id, list(staged.items), staged=True)
        recent = await self.store.window(self.key, WindowSettings(max_items=self.window.max_items))
        if any(call_id_of(item) in answers and not is_tool_output(item) for item in recent):
            raise StaleTurnError(f"The interrupted turn of session {self.session_id!r} was already stored")
        return None

    # --- beyond the protocol ---------------------------------------------------------------

    @property
    def pending_items(self) -> list[dict[str, Any]]:
        """A copy of the items of the turns in progress in this process (all runs)."""
        return [item for turn in self._runs.values() for item in turn.items]

    async def history(self) -> list[StoredItem]:
        """The full stored history with seq, agent, role and time of each item."""
        return await self.store.read(self.key)

    async def info(self) -> SessionInfo | None:
        """The conversation's registry row (None before the first commit)."""
        return await self.store.info(self.key)

    async def recall(self, query: str, limit: int = 10) -> list[StoredItem]:
        """Items of this conversation's whole stored history most relevant to `query`, best first.

        Only this (user, session_id) is searched; see SessionStore.recall.
        """
        return await self.store.recall(self.key, query, limit)

    def lock(self, *, wait: bool = True) -> AbstractAsyncContextManager[None]:
        """The store's turn lock of this conversation (see SessionStore.lock)."""
        return self.store.lock(self.key, wait=wait)

    async def close(self) -> None:
        """Close the store if this session owns it (private in-memory stores); otherwise a no-op."""
        self._runs.clear()
        if self.owns_store:
            await self.store.close()

    def close_now(self) -> None:
        """Synchronous `close` for sync callers (a factory's cache reset)."""
        self._runs.clear()
        if self.owns_store:
            self.store.close_now()


__all__ = ["ConversationSession", "run_is_ending", "turn_settles", "unanswered_calls"]
