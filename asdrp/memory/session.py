"""ConversationSession: one conversation of any SessionStore, as the SDK's `Session`.

Pass it to `Runner.run(agent, input, session=session)`. It reads a bounded window (the runner
asks for `session_settings.limit` items) and writes whole turns atomically: the runner calls
`add_items` once for the user's input and once per model response, each time passing
`wrapper=` (the run's context, one object per run); those calls are buffered per run and
committed in ONE store transaction when the turn ends with the final assistant message. A run
that fails or is cancelled mid-turn therefore leaves nothing behind: its buffer disappears with
its context object. Several runs sharing one session object (the factory caches sessions) each
buffer their own turn, so they never drop or interleave each other's items. Direct calls without
`wrapper` (API use, tests) commit immediately, one transaction per call.

Known limit: a turn whose run ends on a tool result (tool_use_behavior="stop_on_first_tool")
never ends with an assistant message, so it is not committed.
"""

from __future__ import annotations

import asyncio
import weakref
from contextlib import AbstractAsyncContextManager
from typing import Any

from agents.memory import SessionSettings

from asdrp.memory.ids import DEFAULT_USER
from asdrp.memory.records import ConversationKey, SessionInfo, StoredItem, WindowSettings
from asdrp.memory.store import SessionStore
from asdrp.memory.window import WindowRow, is_turn_start, select_window


def turn_is_complete(items: list[dict[str, Any]]) -> bool:
    """True when a turn's items end with an assistant message and no tool call awaits its output."""
    if not items:
        return False
    last = items[-1]
    if last.get("role") != "assistant" or last.get("type", "message") != "message":
        return False
    calls = {item.get("call_id") for item in items if item.get("type") in ("function_call", "custom_tool_call")}
    outputs = {item.get("call_id") for item in items if str(item.get("type", "")).endswith("_output")}
    return calls <= outputs


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
        self._turns: dict[int, list[dict[str, Any]]] = {}  # id(run context) -> that run's uncommitted turn

    def __repr__(self) -> str:
        return f"ConversationSession({self.session_id!r}, user={self.user!r}, store={self.store!r})"

    # --- SDK Session protocol --------------------------------------------------------------

    async def get_items(self, limit: int | None = None, wrapper: Any = None) -> list[dict[str, Any]]:
        """limit=None: the full history (protocol semantics); limit=n: the model window of n items.

        The window is cut on turn boundaries, so it can hold fewer than n items. Both include the
        uncommitted items of the calling run's turn in progress.
        """
        pending = self._turns.get(id(wrapper), []) if wrapper is not None else []
        if limit is None:
            return [stored.item for stored in await self.store.read(self.key)] + list(pending)
        settings = WindowSettings(max_items=max(1, limit), max_tokens=self.window.max_tokens)
        committed = await self.store.window(self.key, settings)
        if not pending:
            return committed
        rows = [WindowRow.of(item) for item in committed + pending]
        return select_window(rows, settings)

    async def add_items(self, items: list[dict[str, Any]], wrapper: Any = None) -> None:
        """Store items: immediately without `wrapper`; buffered until the turn completes with it."""
        items = list(items)
        if wrapper is None:
            await self.store.append(self.key, items, agent=self.agent, agent_id=self.agent_id)
            return
        run = id(wrapper)
        turn = self._turns.get(run)
        if turn is None:
            turn = self._turns[run] = []
            # the buffer lives exactly as long as the run's context: a run that dies mid-turn
            # takes its uncommitted items with it (a turn is all or nothing)
            weakref.finalize(wrapper, self._turns.pop, run, None)
        elif items and is_turn_start(items[0]) and not turn_is_complete(turn):
            turn.clear()  # the same context starts a new turn after a failed one
        turn.extend(items)
        if turn_is_complete(turn):
            committed = list(turn)
            await self.store.append(self.key, committed, agent=self.agent, agent_id=self.agent_id)
            del turn[: len(committed)]

    async def pop_item(self, wrapper: Any = None) -> dict[str, Any] | None:
        """Remove and return the newest item (from the calling run's uncommitted turn first)."""
        pending = self._turns.get(id(wrapper)) if wrapper is not None else None
        if pending:
            return pending.pop()
        return await self.store.pop(self.key)

    async def clear_session(self, wrapper: Any = None) -> None:
        """Remove every item of the conversation (its registry row stays, with 0 items)."""
        self._turns.clear()
        await self.store.clear(self.key)

    # --- beyond the protocol ---------------------------------------------------------------

    @property
    def pending_items(self) -> list[dict[str, Any]]:
        """A copy of the buffered, not yet committed items of the turns in progress (all runs)."""
        return [item for turn in self._turns.values() for item in turn]

    async def history(self) -> list[StoredItem]:
        """The full stored history with seq, agent, role and time of each item."""
        return await self.store.read(self.key)

    async def info(self) -> SessionInfo | None:
        """The conversation's registry row (None before the first commit)."""
        return await self.store.info(self.key)

    def lock(self, *, wait: bool = True) -> AbstractAsyncContextManager[None]:
        """The store's turn lock of this conversation (see SessionStore.lock)."""
        return self.store.lock(self.key, wait=wait)

    async def close(self) -> None:
        """Close the store if this session owns it (private in-memory stores); otherwise a no-op."""
        self._turns.clear()
        if self.owns_store:
            await self.store.close()

    def close_now(self) -> None:
        """Synchronous `close` for sync callers (a factory's cache reset).

        Stores with a `close_now()` close at once; others are closed on the running loop if there
        is one (there is nothing to release without a loop for network stores).
        """
        self._turns.clear()
        if not self.owns_store:
            return
        close_sync = getattr(self.store, "close_now", None)
        if callable(close_sync):
            close_sync()
            return
        try:
            asyncio.get_running_loop().create_task(self.store.close())
        except RuntimeError:
            pass
