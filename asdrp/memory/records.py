"""Plain records the stores exchange with their callers: keys, stored items, session rows, windows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asdrp.memory.ids import validate_session_id, validate_user


@dataclass(frozen=True)
class ConversationKey:
    """Identifies one conversation: the same session_id under two users is two conversations."""

    user: str
    """The owner of the conversation (validated by the id rule)."""
    session_id: str
    """The conversation's id within the user's sessions (validated by the id rule)."""

    def __post_init__(self) -> None:
        validate_user(self.user)
        validate_session_id(self.session_id)


@dataclass
class StoredItem:
    """One item of a conversation's full history, as read back through `SessionStore.read`."""

    seq: int
    """Increasing position of the item (strictly increasing within a conversation; use as `after_seq`)."""
    item: dict[str, Any]
    """The SDK input item (Responses format) exactly as it was appended."""
    agent: str | None
    """The agent that produced or received the item (None when the writer did not say)."""
    role: str
    """The item's role ("user", "assistant", ...) or, for tool items, its type ("function_call", ...)."""
    created_at: float
    """Unix time at which the item was written."""


@dataclass
class SessionInfo:
    """The registry row of one conversation: what a session list shows."""

    user: str
    """Owner of the conversation."""
    session_id: str
    """The conversation's id."""
    agent_id: str | None
    """The agent or orchestrator that owns the conversation (set by the first write that names one)."""
    title: str
    """First user message, whitespace-collapsed and cut to 80 characters ("" until there is one)."""
    created_at: float
    """Unix time of the first write."""
    updated_at: float
    """Unix time of the latest change (append, pop, clear)."""
    item_count: int
    """Number of items currently stored."""


@dataclass(frozen=True)
class WindowSettings:
    """How much of a conversation the model sees on each turn (the window, not the stored history)."""

    max_items: int = 50
    """At most this many of the most recent items (0: the model sees no history)."""
    max_tokens: int | None = None
    """At most this many estimated tokens in total (None = no token budget)."""

    def __post_init__(self) -> None:
        if isinstance(self.max_items, bool) or not isinstance(self.max_items, int) or self.max_items < 0:
            raise ValueError(f"WindowSettings.max_items must be a non-negative integer, got {self.max_items!r}")
        if self.max_tokens is not None and (not isinstance(self.max_tokens, int) or self.max_tokens < 1):
            raise ValueError(f"WindowSettings.max_tokens must be a positive integer or None, got {self.max_tokens!r}")
