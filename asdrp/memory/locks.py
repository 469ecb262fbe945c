"""In-process, per-conversation turn queues: the first half of every store's turn lock.

Turns on one conversation queue here before they take the store's cross-process lock, so a
process never holds more than one cross-process lock per conversation.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from asdrp.memory.errors import SessionBusyError
from asdrp.memory.records import ConversationKey


class KeyedLocks:
    """One asyncio.Lock per conversation key, dropped again when nobody holds or awaits it."""

    def __init__(self) -> None:
        self._locks: dict[ConversationKey, asyncio.Lock] = {}
        self._users: dict[ConversationKey, int] = {}

    @asynccontextmanager
    async def hold(
        self, key: ConversationKey, *, wait: bool, busy: Callable[[ConversationKey], SessionBusyError]
    ) -> AsyncIterator[None]:
        """Hold the lock of `key`; with wait=False raise `busy(key)` at once if it is taken."""
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        if not wait and lock.locked():
            raise busy(key)
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
