"""A read-only view of the model input: the latest user message, the history and tool traffic.

The SDK hands a model either a string or a list of Responses-format items (dict or pydantic);
every rule needs the same few questions answered about it, so they are answered once here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Message:
    """One user or assistant message, reduced to its plain text."""

    role: Literal["user", "assistant"]
    text: str
    position: int = 0
    """Index of the item in the model input: lets history searches go newest first across kinds."""


@dataclass(frozen=True)
class ToolCall:
    """A function call the model made earlier, with its parsed arguments."""

    call_id: str
    name: str
    arguments: dict[str, Any]
    position: int = 0
    """Index of the item in the model input (see `Message.position`)."""


@dataclass(frozen=True)
class ToolResult:
    """A function call's output as the model sees it (always text here)."""

    call_id: str
    name: str | None
    output: str


@dataclass
class Transcript:
    """Everything the rules look at, in the order it appeared.

    `history` is the messages before the latest user message; `calls` are all function calls in
    the input (oldest first); `pending_results` are the tool results that end the input (rule 1).
    """

    latest: str = ""
    history: list[Message] = field(default_factory=list)
    user_messages: list[str] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)
    pending_results: list[ToolResult] = field(default_factory=list)
    results: list[ToolResult] = field(default_factory=list)
    """Every tool result in the input, oldest first (references such as "my monthly payment")."""

    @property
    def earlier_user_messages(self) -> list[str]:
        """The user's messages before the latest one, oldest first."""
        return [m.text for m in self.history if m.role == "user"]


def _as_dict(item: Any) -> dict[str, Any]:
    if isinstance(item, dict):
        return item
    dump = getattr(item, "model_dump", None)
    return dump(exclude_unset=False) if callable(dump) else {}


def content_text(content: Any) -> str:
    """Plain text of a message's `content`: a string, or a list of text parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts: list[str] = []
        for part in content:
            part = _as_dict(part) if not isinstance(part, str) else {"text": part}
            text = part.get("text") or part.get("refusal")
            if isinstance(text, str):
                parts.append(text)
        return "\n".join(parts)
    return str(content)


def _parse_arguments(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        parsed = json.loads(raw or "{}")
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def read_transcript(input_: str | list[Any]) -> Transcript:
    """Build the `Transcript` of one model call's input."""
    if isinstance(input_, str):
        return Transcript(latest=input_, user_messages=[input_])

    items = [_as_dict(item) for item in input_]
    last_user = max((i for i, it in enumerate(items) if it.get("role") == "user"
                     and it.get("type", "message") == "message"), default=-1)
    transcript = Transcript()
    names_by_call: dict[str, str] = {}
    for index, item in enumerate(items):
        kind = item.get("type", "message")
        role = item.get("role")
        if kind == "message" and role in ("user", "assistant"):
            text = content_text(item.get("content"))
            if role == "user":
                transcript.user_messages.append(text)
            if index == last_user:
                transcript.latest = text
            elif index < last_user:
                transcript.history.append(Message(role=role, text=text, position=index))
        elif kind == "function_call":
            call = ToolCall(call_id=str(item.get("call_id", "")), name=str(item.get("name", "")),
                            arguments=_parse_arguments(item.get("arguments")), position=index)
            names_by_call[call.call_id] = call.name
            transcript.calls.append(call)
        elif kind == "function_call_output":
            call_id = str(item.get("call_id", ""))
            transcript.results.append(ToolResult(call_id=call_id, name=names_by_call.get(call_id),
                                                 output=content_text(item.get("output"))))

    # Rule 1 looks only at results after the latest user message and after any assistant text.
    tail_start = last_user + 1
    for index in range(len(items) - 1, last_user, -1):
        it = items[index]
        if it.get("type", "message") == "message" and it.get("role") == "assistant":
            tail_start = index + 1
            break
    for it in items[tail_start:]:
        if it.get("type") == "function_call_output":
            call_id = str(it.get("call_id", ""))
            transcript.pending_results.append(
                ToolResult(call_id=call_id, name=names_by_call.get(call_id),
                           output=content_text(it.get("output"))))
    return transcript
