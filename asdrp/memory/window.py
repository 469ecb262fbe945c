"""The model's window: which recent items of a conversation the model sees on a turn.

Pure functions shared by every store. A store fetches only the tail of a conversation (the
newest `max_items` rows) and `select_window` trims it so that (1) the item and token budgets
hold, (2) the cut falls on a turn boundary (a turn starts at a user message), and (3) a tool
result is never separated from the call that asked for it. The cost is therefore bounded by
the window size, never by the length of the history.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from asdrp.memory.records import WindowSettings
from asdrp.memory.rows import estimate_tokens, is_tool_output, is_turn_start


class WindowRow(NamedTuple):
    """One candidate item for the window with the facts the stores precompute at write time.

    A NamedTuple rather than a dataclass: stores build 50 of these per turn, and tuples are cheap.
    """

    item: dict[str, Any]
    tokens: int
    turn_start: bool

    @classmethod
    def of(cls, item: dict[str, Any]) -> WindowRow:
        """A row computed from the item itself (for callers that did not store the facts)."""
        return cls(item, estimate_tokens(item), is_turn_start(item))


def _orphaning_cuts(rows: Sequence[WindowRow]) -> list[bool]:
    """bad[j] is True when starting the window at j would keep a tool output but drop its call.

    A start j is bad iff some output at position >= j has its call before j, i.e. iff the smallest
    call position among the outputs from j on is < j (one backward pass over a suffix minimum).
    """
    call_positions: dict[str, int] = {}
    output_calls: list[int | None] = []
    for position, row in enumerate(rows):
        item = row.item
        call_id = item.get("call_id")
        kind = item.get("type")
        if not isinstance(call_id, str) or not isinstance(kind, str):
            output_calls.append(None)
        elif is_tool_output(item):
            output_calls.append(call_positions.get(call_id, -1))  # -1: the call lies before the tail
        else:
            call_positions.setdefault(call_id, position)
            output_calls.append(None)
    bad = [False] * len(rows)
    smallest = len(rows)
    for position in range(len(rows) - 1, -1, -1):
        call_position = output_calls[position]
        if call_position is not None and call_position < smallest:
            smallest = call_position
        bad[position] = smallest < position
    return bad


def _keeps_every_call(rows: Sequence[WindowRow], start: int) -> bool:
    """True when no tool output in rows[start:] has lost its call (one pass over the suffix)."""
    calls: set[str] = set()
    for row in rows[start:]:
        item = row.item
        call_id = item.get("call_id")
        if not isinstance(call_id, str):
            continue
        if is_tool_output(item):
            if call_id not in calls:
                return False
        else:
            calls.add(call_id)
    return True


def select_window(rows: Sequence[WindowRow], settings: WindowSettings) -> list[dict[str, Any]]:
    """The items of the window, oldest first, chosen from `rows` (a conversation's tail, oldest first).

    Prefers the oldest turn boundary within both budgets. When even the newest turn alone is too
    big, it cuts inside that turn at the oldest point that keeps every tool output with its call.
    If no such point fits the budgets, the window is empty: the budgets are hard limits.
    """
    count = len(rows)
    if count == 0:
        return []
    fits_from = count  # smallest start index whose suffix fits both budgets
    tokens = 0
    for index in range(count - 1, max(0, count - settings.max_items) - 1, -1):
        tokens += rows[index].tokens
        if settings.max_tokens is not None and tokens > settings.max_tokens:
            break
        fits_from = index
    if fits_from == count:
        return []
    # The usual case, in one pass: the oldest turn boundary that fits keeps every call with its output.
    first_turn = next((index for index in range(fits_from, count) if rows[index].turn_start), None)
    if first_turn is not None and _keeps_every_call(rows, first_turn):
        return [row.item for row in rows[first_turn:]]
    bad = _orphaning_cuts(rows)
    start = next(
        (index for index in range(fits_from, count) if rows[index].turn_start and not bad[index]),
        None,
    )
    if start is None:
        start = next((index for index in range(fits_from, count) if not bad[index]), count)
    return [row.item for row in rows[start:]]
