"""Translation between stored items (SDK input items) and OpenAI's conversation items.

A stored item is kept exactly as it was appended; on the way out it gets its stable id and the
fields OpenAI's item types require (a message's `status`, content as typed parts). On the way in
a client's items are checked just enough to be items at all, and stored without their `id` (ours
replaces it).
"""

from __future__ import annotations

from typing import Any

from asdrp.memory.rows import message_text
from asdrp.server.errors import ApiError
from asdrp.server.v1.state import TaggedItem, without_private_keys

MESSAGE_ROLES = frozenset({"user", "assistant", "system", "developer"})


def text_part(role: str, text: str) -> dict[str, Any]:
    """A message's text as the content part OpenAI uses for that role."""
    if role == "assistant":
        return {"type": "output_text", "text": text, "annotations": []}
    return {"type": "input_text", "text": text}


def is_message(item: dict[str, Any]) -> bool:
    return item.get("type", "message") == "message" and isinstance(item.get("role"), str)


def render_item(tagged: TaggedItem) -> dict[str, Any]:
    """A stored item as an OpenAI conversation item, with its stable id."""
    item = without_private_keys(tagged.stored.item)
    if is_message(item):
        role = str(item["role"])
        content = item.get("content")
        if isinstance(content, str):
            parts = [text_part(role, content)]
        elif isinstance(content, list):
            parts = [part for part in content if isinstance(part, dict)]
        else:
            parts = []
        return {"type": "message", "id": tagged.id, "role": role, "status": "completed", "content": parts}
    rendered = dict(item)
    rendered["id"] = tagged.id
    if rendered.get("type") in ("function_call", "function_call_output"):
        rendered.setdefault("status", "completed")
    return rendered


def input_items(raw: object, where: str) -> list[dict[str, Any]]:
    """A client's items, checked and stripped of ids; 400 naming the first one that is not an item."""
    if isinstance(raw, str):
        return [{"role": "user", "content": raw}]
    if not isinstance(raw, list):
        raise ApiError(400, "invalid_items", f"{where} must be a string or a list of items.")
    items: list[dict[str, Any]] = []
    for position, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ApiError(400, "invalid_items", f"{where}[{position}] is not an object.")
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            if role not in MESSAGE_ROLES:
                raise ApiError(
                    400, "invalid_items",
                    f"{where}[{position}]: role must be one of {', '.join(sorted(MESSAGE_ROLES))}, got {role!r}.",
                )
            content = item.get("content")
            if not isinstance(content, (str, list)):
                raise ApiError(400, "invalid_items", f"{where}[{position}]: content must be a string or a list.")
        elif not isinstance(kind, str):
            raise ApiError(400, "invalid_items", f"{where}[{position}]: type must be a string.")
        items.append({k: v for k, v in item.items() if k != "id"})
    return items


def split_turn(items: list[dict[str, Any]], where: str) -> tuple[list[dict[str, Any]], str]:
    """(items before the last user message, that message's text): what a turn is asked, and its context."""
    for position in range(len(items) - 1, -1, -1):
        item = items[position]
        if is_message(item) and item.get("role") == "user":
            if any(not is_message(later) for later in items[position + 1:]) or position != len(items) - 1:
                raise ApiError(400, "invalid_input", f"{where}: the last item must be the user's message.")
            return items[:position], message_text(item)
    raise ApiError(400, "invalid_input", f"{where} holds no user message to answer.")


def dialogue(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The (role, text) of the user and assistant messages: what a chat front end shows and resends."""
    return [
        (str(item["role"]), message_text(item).strip())
        for item in items
        if is_message(item) and item.get("role") in ("user", "assistant")
    ]
