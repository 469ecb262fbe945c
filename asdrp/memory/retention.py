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

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
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

    def __iadd__(self, other: PruneResult) -> PruneResult:
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


DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
"""Suffixes of a duration: seconds, minutes, hours, days, weeks."""


def parse_duration(value: object) -> float:
    """Seconds from a positive number or a string like "90", "90s", "15m", "12h", "30d", "2w".

    The one duration rule of the YAML (`max_age`) and the CLI (`--max-age`); ValueError names the value.
    """
    seconds: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        unit = DURATION_UNITS.get(text[-1:], None)
        number = text[:-1] if unit is not None else text
        try:
            seconds = float(number) * (unit or 1)
        except ValueError:
            seconds = None
    if seconds is None or not seconds == seconds or seconds in (float("inf"),):
        raise ValueError(f"{value!r} is not a duration like 3600, 90s, 15m, 12h, 30d or 2w")
    if seconds <= 0:
        raise ValueError(f"a duration must be positive, got {value!r}")
    return seconds


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


@dataclass(frozen=True)
class RetentionPolicy:
    """The retention limits of one store (from the `session_memory` blocks of the agents using it)."""

    max_age_seconds: float | None = None
    """Delete a conversation idle longer than this (None = keep forever)."""
    max_items: int | None = None
    """Keep at most this many items per conversation, whole turns (None = no limit)."""

    @property
    def is_active(self) -> bool:
        return self.max_age_seconds is not None or self.max_items is not None


def merge_policies(policies: Iterable[RetentionPolicy]) -> RetentionPolicy:
    """The most lenient of several policies on one store: nothing is removed that any of them keeps."""
    policies = list(policies)
    if not policies:
        return RetentionPolicy()
    ages = [p.max_age_seconds for p in policies]
    counts = [p.max_items for p in policies]
    return RetentionPolicy(
        max_age_seconds=None if None in ages else max(a for a in ages if a is not None),
        max_items=None if None in counts else max(c for c in counts if c is not None),
    )


class RetentionSweeper:
    """Applies retention to a server's stores every `interval_s` seconds, in the background.

    `plans` is called on every sweep (so it reflects the stores in use) and returns (store, policy)
    pairs. A failing store (e.g. database down) is logged and retried on the next sweep; the sweep
    never takes the server down. With several replicas each sweeps; prune is idempotent, so that is
    only redundant work, never wrong.
    """

    def __init__(
        self,
        plans: Callable[[], Iterable[tuple[PrunableStore, RetentionPolicy]]],
        interval_s: float,
        *,
        logger: logging.Logger | None = None,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"retention sweep interval must be positive, got {interval_s!r}")
        self.plans = plans
        self.interval_s = interval_s
        self.log = logger or logging.getLogger("asdrp.retention")
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def run_once(self) -> PruneResult:
        """One sweep over every planned store; returns the total removed."""
        total = PruneResult()
        try:
            plans = list(self.plans())
        except Exception as exc:
            self.log.warning("retention sweep skipped: cannot list the stores: %s", exc)
            return total
        for store, policy in plans:
            if not policy.is_active:
                continue
            try:
                total += await prune(store, max_age_seconds=policy.max_age_seconds, max_items=policy.max_items)
            except Exception as exc:
                self.log.warning("retention sweep of the %s store failed: %s", store.kind, exc)
        if total.sessions_deleted or total.items_removed:
            self.log.info(
                "retention sweep: %d conversations expired, %d trimmed, %d items removed",
                total.sessions_deleted, total.sessions_trimmed, total.items_removed,
            )
        return total

    def start(self) -> None:
        """Start sweeping in the background (first sweep after one interval)."""
        if self._task is None:
            self._stopping = asyncio.Event()
            self._task = asyncio.create_task(self._loop(self._stopping), name="asdrp-retention-sweep")

    async def stop(self) -> None:
        """Stop and wait for the sweep task.

        The flag ends the loop even when a cancellation is lost inside a store call (a database
        driver may turn a cancelled command into a connection error, which the sweep logs and
        survives); the cancel interrupts a sweep in progress.
        """
        task, self._task = self._task, None
        if task is not None:
            self._stopping.set()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                await asyncio.wait_for(stopping.wait(), self.interval_s)
            except TimeoutError:
                await self.run_once()
