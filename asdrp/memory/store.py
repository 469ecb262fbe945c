"""The SessionStore protocol: what every session backend (SQLite, PostgreSQL, Redis) provides.

A store holds many conversations, each keyed by `ConversationKey(user, session_id)`, plus a
registry row per conversation. `ConversationSession` adapts one conversation of a store to the
SDK's `Session` protocol; the server's session endpoints use the registry methods directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, runtime_checkable

from asdrp.memory.records import ConversationKey, SessionInfo, StoredItem, WindowSettings
from asdrp.memory.retention import PruneResult


@runtime_checkable
class SessionStore(Protocol):
    """Async storage of conversations and their registry rows."""

    kind: str
    """"sqlite" | "postgres" | "redis"."""

    async def append(
        self,
        key: ConversationKey,
        items: Sequence[dict[str, Any]],
        *,
        agent: str | None,
        agent_id: str | None = None,
    ) -> None:
        """Append items in ONE transaction (all or none); create/update the registry row.

        The first write creates the row (agent_id = owner of the conversation, title = first user
        message, whitespace-collapsed, <= 80 chars); every write bumps updated_at and item_count.
        """
        ...

    async def window(self, key: ConversationKey, settings: WindowSettings) -> list[dict[str, Any]]:
        """The model's bounded window, oldest first; its cost does not grow with the history."""
        ...

    async def read(self, key: ConversationKey, *, after_seq: int = 0, limit: int | None = None) -> list[StoredItem]:
        """The full history, oldest first, paged by `after_seq` (the last seq seen)."""
        ...

    async def pop(self, key: ConversationKey) -> dict[str, Any] | None:
        """Remove and return the newest item (None when the conversation is empty)."""
        ...

    async def clear(self, key: ConversationKey) -> None:
        """Remove every item; the registry row stays with item_count 0."""
        ...

    async def info(self, key: ConversationKey) -> SessionInfo | None:
        """The registry row of a conversation (None if it was never written or was deleted)."""
        ...

    async def list_sessions(
        self, user: str, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[SessionInfo], str | None]:
        """A user's conversations, most recently updated first, and the cursor of the next page."""
        ...

    async def delete(self, key: ConversationKey) -> bool:
        """Delete items and registry row; True if there was anything to delete."""
        ...

    async def delete_user(self, user: str) -> int:
        """Delete every conversation of `user`; returns how many there were."""
        ...

    async def prune(
        self, *, max_age_seconds: float | None = None, max_items: int | None = None, now: float | None = None
    ) -> PruneResult:
        """Retention over every conversation (rules in asdrp.memory.retention; call it through `prune`)."""
        ...

    def lock(self, key: ConversationKey, *, wait: bool = True) -> AbstractAsyncContextManager[None]:
        """Serialise whole turns on one conversation; wait=False raises SessionBusyError if held."""
        ...

    async def close(self) -> None:
        """Release connections; later calls raise StoreUnavailableError."""
        ...
