"""Retention: expire idle conversations and trim long ones, the same rules on every store.

`prune(store, max_age_seconds=..., max_items=...)` is what `asdrp sessions prune` and the server's
periodic sweep call; each store does the work in its own engine (SQL deletes, Redis scripts) so a
sweep never loads whole histories.

Rules:
- max_age_seconds: a conversation whose last write (`updated_at`) is older is deleted entirely
  (items and registry row).
- max_items: a longer conversation loses its oldest items, whole turns at a time (a turn starts at a
  user message), so at most `max_items` remain and a tool call never loses its result. If the newest
  turn alone is longer than `max_items`, that whole turn is kept: retention never cuts inside a turn.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass
class PruneResult:
    """What one prune pass removed."""

    sessions_deleted: int = 0
    """Conversations deleted because they were idle longer than max_age."""
    sessions_trimmed: int = 0
    """Conversations that lost old turns to max_items."""
    items_removed: int = 0
    """Items removed in total (from deleted and trimmed conversations)."""

    def __iadd__(self, other: "PruneResult") -> "PruneResult":
        self.sessions_deleted += other.sessions_deleted
        self.sessions_trimmed += other.sessions_trimmed
        self.items_removed += other.items_removed
        return self


class PrunableStore(Protocol):
    """A store that can apply retention itself (every store in asdrp.memory)."""

    kind: str

    async def prune(
        self, *, max_age_seconds: float | None = None, max_items: int | None = None, now: float | None = None
    ) -> Any: ...


def keep_from_for_max_items(newest_first: list[tuple[int, bool]]) -> int | None:
    """The seq to keep from, given the newest `max_items` rows as (seq, turn_start), newest first.

    It is the oldest turn start among them; None when they hold no turn start (the newest turn is
    longer than max_items: the caller keeps from that turn's start instead).
    """
    keep: int | None = None
    for seq, turn_start in newest_first:
        if turn_start:
            keep = seq
    return keep


async def prune(
    store: PrunableStore,
    *,
    max_age_seconds: float | None = None,
    max_items: int | None = None,
    now: float | None = None,
) -> PruneResult:
    """Apply the retention rules above to every conversation in `store`; returns what was removed."""
    if max_age_seconds is not None and max_age_seconds <= 0:
        raise ValueError(f"max_age_seconds must be positive, got {max_age_seconds!r}")
    if max_items is not None and max_items < 1:
        raise ValueError(f"max_items must be at least 1, got {max_items!r}")
    if max_age_seconds is None and max_items is None:
        return PruneResult()
    result = await store.prune(
        max_age_seconds=max_age_seconds, max_items=max_items, now=time.time() if now is None else now
    )
    return result if isinstance(result, PruneResult) else PruneResult(**vars(result))
