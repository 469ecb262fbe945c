"""What recall adds to a model's input: the earlier items that matter for the current message.

The window shows a model the recent turns; `earlier_context` adds, in front of it, the items the
store's recall finds for the user's message that the window does not already hold — bounded by
items and estimated tokens, in the order they were said, behind one marker message so a model (and
a reader of the transcript) can tell remembered context from the recent conversation.

Two ways in: the orchestrators call `earlier_context` for every turn; a direct SDK user passes
`recall_filter(session)` as `RunConfig(call_model_input_filter=...)`, which does the same for every
model call of a `Runner.run` without storing anything extra (a `session_input_callback` would
persist what it adds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from asdrp.memory.records import StoredItem
from asdrp.memory.rows import estimate_tokens, is_turn_start, message_text

if TYPE_CHECKING:  # the SDK types are only needed for annotations
    from agents.run_config import CallModelData, ModelInputData

    from asdrp.memory.session import ConversationSession

EARLIER_MARKER = "Earlier in this conversation (recalled, older than the recent messages below):"
"""The text of the message that introduces recalled items."""


@dataclass(frozen=True)
class RecallSettings:
    """How much recalled context a model gets on top of its window."""

    max_items: int = 6
    """At most this many recalled items per turn (0 turns recall off)."""
    max_tokens: int = 1_000
    """At most this many estimated tokens of recalled items per turn."""

    def __post_init__(self) -> None:
        if not isinstance(self.max_items, int) or self.max_items < 0:
            raise ValueError(f"RecallSettings.max_items must be a non-negative integer, got {self.max_items!r}")
        if not isinstance(self.max_tokens, int) or self.max_tokens < 1:
            raise ValueError(f"RecallSettings.max_tokens must be a positive integer, got {self.max_tokens!r}")

    @property
    def enabled(self) -> bool:
        return self.max_items > 0


def marker_message() -> dict[str, Any]:
    """The message that introduces recalled items (a developer note, not something anyone said)."""
    return {"role": "developer", "content": EARLIER_MARKER}


def is_marker(item: dict[str, Any]) -> bool:
    """True for the marker message that `earlier_context` puts in front of recalled items."""
    return item.get("role") == "developer" and item.get("content") == EARLIER_MARKER


def earlier_context(
    recalled: Sequence[StoredItem], window: Sequence[dict[str, Any]], settings: RecallSettings
) -> list[dict[str, Any]]:
    """[marker, recalled items…] to put before `window`: best-ranked first when cutting, then in the
    order they were said; nothing the window holds, no tool item without its pair; [] if none fit."""
    if not settings.enabled:
        return []
    chosen: list[StoredItem] = []
    tokens = 0
    for stored in recalled:  # best first: the budget keeps the most relevant
        item = stored.item
        if item in window or item.get("type") not in (None, "message") or not message_text(item):
            continue  # already visible, or a tool call/output (meaningless without its pair)
        cost = estimate_tokens(item)
        if len(chosen) >= settings.max_items or tokens + cost > settings.max_tokens:
            break
        chosen.append(stored)
        tokens += cost
    if not chosen:
        return []
    chosen.sort(key=lambda stored: stored.seq)
    return [marker_message(), *({k: v for k, v in s.item.items() if k != "id"} for s in chosen)]


def latest_user_text(items: Sequence[Any]) -> str:
    """The text of the last user message among model input items ("" if there is none)."""
    for item in reversed(items):
        if isinstance(item, dict) and is_turn_start(item):
            return message_text(item)
    return ""


def recall_filter(session: ConversationSession, settings: RecallSettings | None = None) -> Any:
    """A `call_model_input_filter` for `RunConfig` that adds what `session` recalls for the user's message.

    Usage::

        run_config = RunConfig(call_model_input_filter=recall_filter(session))
        await Runner.run(agent, "What is my name?", session=session, run_config=run_config)
    """
    chosen = settings or RecallSettings()

    async def add_earlier_context(data: CallModelData[Any]) -> ModelInputData:
        model_data = data.model_data
        items = list(model_data.input)
        query = latest_user_text(items)
        if not query or not chosen.enabled or any(isinstance(i, dict) and is_marker(i) for i in items):
            return model_data
        recalled = await session.recall(query[:10_000], limit=chosen.max_items * 2)
        extra = earlier_context(recalled, [i for i in items if isinstance(i, dict)], chosen)
        if extra:
            model_data.input = [*extra, *items]
        return model_data

    return add_earlier_context
