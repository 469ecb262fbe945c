"""In-process, per-conversation turn locks (the SQLite store's `lock`).

They serialise whole turns on one conversation within one process and event loop. Serialising
turns across processes needs a shared store (PostgreSQL advisory locks, Redis); the SQLite store
still keeps every single write atomic across processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from asdrp.memory.errors import SessionBusyError
from asdrp.memory.records import ConversationKey


class KeyedLocks:
    """One asyncio.Lock per conversation key, dropped again when nobody holds or awaits it."""

    def __init__(self) -> None:
        self._locks: dict[ConversationKey, asyncio.Lock] = {}
        self._users: dict[ConversationKey, int] = {}

    @asynccontextmanager
    async def hold(self, key: ConversationKey, *, wait: bool = True) -> AsyncIterator[None]:
        """Hold the lock of `key`; with wait=False raise SessionBusyError at once if it is taken."""
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        if not wait and lock.locked():
            raise SessionBusyError(
                f"Session {key.session_id!r} of user {key.user!r} is busy with another turn; try again shortly"
            )
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:
                del self._users[key]
                del self._locks[key]

    def held(self, key: ConversationKey) -> bool:
        """Whether a turn currently holds `key` (for diagnostics and tests)."""
        lock = self._locks.get(key)
        return lock is not None and lock.locked()
