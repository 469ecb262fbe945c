"""What the stores derive from an SDK item when they write it: JSON text, role, title.

Kept apart from the stores so every backend (SQLite, PostgreSQL, Redis) records items the same way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from asdrp.memory.errors import InvalidItemError
from asdrp.memory.records import ConversationKey
from asdrp.memory.window import is_turn_start

TITLE_LENGTH = 80


def serialize_items(key: ConversationKey, items: Sequence[dict[str, Any]]) -> list[str]:
    """Compact JSON of each item; raises InvalidItemError before anything is written."""
    texts: list[str] = []
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidItemError(
                f"Item {position} for session {key.session_id!r} (user {key.user!r}) is a "
                f"{type(item).__name__}, not a dict"
            )
        try:
            texts.append(json.dumps(item, separators=(",", ":"), ensure_ascii=False))
        except (TypeError, ValueError) as exc:
            raise InvalidItemError(
                f"Item {position} for session {key.session_id!r} (user {key.user!r}) is not "
                f"JSON-serialisable: {exc}"
            ) from exc
    return texts


def item_role(item: dict[str, Any]) -> str:
    """The role of a message, or the type of a tool item ("function_call", ...)."""
    role = item.get("role")
    if isinstance(role, str) and role:
        return role
    kind = item.get("type")
    return kind if isinstance(kind, str) and kind else "unknown"


def message_text(item: dict[str, Any]) -> str:
    """The plain text of a message item (string content or the text parts of a content list)."""
    content = item.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [part.get("text", "") for part in content if isinstance(part, dict)]
        return " ".join(part for part in parts if isinstance(part, str))
    return ""


def title_from(items: Sequence[dict[str, Any]]) -> str:
    """The session title a batch offers: its first user message, whitespace-collapsed, <= 80 chars."""
    for item in items:
        if is_turn_start(item):
            text = " ".join(message_text(item).split())
            if text:
                return text[:TITLE_LENGTH]
    return ""
