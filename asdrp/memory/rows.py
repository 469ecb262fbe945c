"""One place for what is derived from an SDK item: its JSON text, role, text, turn start, tokens, title.

Every store writes these facts once, at append time, so windows, retention and recall never have
to parse a history again; the offline model and the window use the same token estimate.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from asdrp.memory.errors import InvalidItemError
from asdrp.memory.records import ConversationKey

TITLE_LENGTH = 80
"""A session's title is its first user message, cut to this many characters."""

_OUTPUT_SUFFIX = "_output"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def item_json(item: dict[str, Any]) -> str:
    """Compact JSON of an item, UTF-8 where it can be and \\u escapes where it cannot.

    A lone surrogate (half an emoji from a broken client) cannot be encoded as UTF-8; escaping the
    whole item then keeps it storable and makes it round-trip exactly, as the SDK's SQLiteSession does.
    """
    text = json.dumps(item, separators=(",", ":"), ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(item, separators=(",", ":"), ensure_ascii=True)
    return text


def estimate_tokens_of_text(text: str) -> int:
    """The token estimate of a text: len // 4, at least 1. The one rule, for items and prompts alike."""
    return max(1, len(text) // 4)


def estimate_tokens(item: dict[str, Any]) -> int:
    """Estimated tokens of an item: the estimate of its compact JSON."""
    return estimate_tokens_of_text(json.dumps(item, separators=(",", ":"), ensure_ascii=False, default=str))


def is_turn_start(item: dict[str, Any]) -> bool:
    """True for a user-role message: the first item of a turn."""
    return item.get("role") == "user" and item.get("type", "message") == "message"


def is_tool_output(item: dict[str, Any]) -> bool:
    """True for a tool result (function_call_output, computer_call_output, ...)."""
    kind = item.get("type")
    return isinstance(kind, str) and kind.endswith(_OUTPUT_SUFFIX)


def call_id_of(item: dict[str, Any]) -> str | None:
    """The call id of a tool call or tool result; None for other items."""
    call_id = item.get("call_id")
    return call_id if isinstance(call_id, str) else None


def item_role(item: dict[str, Any]) -> str:
    """The role of a message, or the type of a tool item ("function_call", ...)."""
    role = item.get("role")
    if isinstance(role, str) and role:
        return role
    kind = item.get("type")
    return kind if isinstance(kind, str) and kind else "unknown"


def message_text(item: dict[str, Any]) -> str:
    """The plain text of a message item: string content, or its text parts joined without separator."""
    content = item.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def item_text(item: dict[str, Any]) -> str:
    """Readable text of any stored item: a message's text, a call as name(arguments), a tool's output."""
    kind = item.get("type")
    if isinstance(kind, str) and kind.endswith("_call") and "name" in item:
        return f"{item.get('name', '?')}({item.get('arguments', '')})"
    if is_tool_output(item):
        output = item.get("output", "")
        if isinstance(output, str):
            return output
        if isinstance(output, list):
            return message_text({"content": output})
        return json.dumps(output, ensure_ascii=False)
    if "content" in item:
        return message_text(item)
    return json.dumps(item, ensure_ascii=False)[:2000]


def title_from(items: Sequence[dict[str, Any]]) -> str:
    """The session title a batch offers: its first user message, whitespace-collapsed, <= 80 chars."""
    for item in items:
        if is_turn_start(item):
            text = " ".join(message_text(item).split())
            if text:  # a title is plain text: a lone surrogate becomes U+FFFD rather than breaking a write
                return _LONE_SURROGATE.sub("\ufffd", text[:TITLE_LENGTH])
    return ""


@dataclass(frozen=True)
class Row:
    """An item as a store writes it: the item, its JSON and the facts derived from it."""

    item: dict[str, Any]
    data: str
    """Compact JSON of the item (what is stored)."""
    role: str
    turn_start: bool
    tokens: int
    agent: str | None
    created_at: float
    terms: dict[str, int] = field(default_factory=dict)
    """The item's recall index terms with their counts (empty for items recall cannot read)."""
    terms_length: int = 0
    """The item's length for ranking: how many index terms it holds (the sum of `terms`)."""


def is_opaque(item: object) -> bool:
    """True for an item that is not a Responses item (an encrypted envelope, say): no text, no turn in it."""
    return not isinstance(item, dict) or ("type" not in item and "role" not in item)


def make_rows(
    key: ConversationKey,
    items: Sequence[Any],
    *,
    agent: str | None,
    created_at: float,
    roles: Sequence[str | None] | None = None,
    agents: Sequence[str | None] | None = None,
    times: Sequence[float] | None = None,
    index: Callable[[dict[str, Any]], dict[str, int]] | None = None,
) -> list[Row]:
    """Rows for `items`; raises InvalidItemError naming the first bad item before anything is written.

    `roles`, `agents` and `times` override the derived values item by item (imports keep the
    original agent, role and time of each item); `index` gives an item's recall terms.
    """
    rows: list[Row] = []
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidItemError(
                f"Item {position} for session {key.session_id!r} (user {key.user!r}) is a "
                f"{type(item).__name__}, not a dict"
            )
        try:
            data = item_json(item)
        except (TypeError, ValueError) as exc:
            raise InvalidItemError(
                f"Item {position} for session {key.session_id!r} (user {key.user!r}) is not "
                f"JSON-serialisable: {exc}"
            ) from exc
        role = roles[position] if roles is not None and roles[position] else item_role(item)
        terms = index(item) if index is not None and not is_opaque(item) else {}
        rows.append(
            Row(
                item=item,
                data=data,
                role=role,
                turn_start=is_turn_start(item),
                tokens=estimate_tokens_of_text(data),
                agent=agents[position] if agents is not None else agent,
                created_at=times[position] if times is not None else created_at,
                terms=terms,
                terms_length=sum(terms.values()),
            )
        )
    return rows
