"""Prometheus metrics of one app: turns, turn latency, errors, active turns and sessions.

Each app owns its `CollectorRegistry`, so two apps in one process (tests) never share counters
and nothing is registered globally.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

ACTIVE_SESSION_WINDOW_S = 15 * 60
"""A conversation counts as active for this long after its last turn."""

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class ServerMetrics:
    """The counters the server updates; `render()` is the `/metrics` body."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.turns = Counter(
            "asdrp_turns", "Chat turns answered, by agent, mode and outcome.", ["agent_id", "mode", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "asdrp_turn_latency_seconds", "Time to answer a turn, by agent and mode.", ["agent_id", "mode"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.errors = Counter(
            "asdrp_errors", "Error responses, by error_code.", ["error_code"], registry=self.registry
        )
        self.active_turns = Gauge("asdrp_active_turns", "Turns being answered right now.", registry=self.registry)
        self.active_sessions = Gauge(
            "asdrp_active_sessions",
            f"Conversations with a turn in the last {ACTIVE_SESSION_WINDOW_S // 60} minutes (this process).",
            registry=self.registry,
        )
        self.active_sessions.set_function(self._count_active_sessions)
        self._last_seen: OrderedDict[tuple[str, str], float] = OrderedDict()
        """Conversations by last activity, oldest first: expired ones are dropped from the front."""

    def session_seen(self, user: str, session_id: str) -> None:
        """Record activity on a conversation (for the active-sessions gauge): O(1) amortised per turn."""
        now = time.monotonic()
        key = (user, session_id)
        self._last_seen[key] = now
        self._last_seen.move_to_end(key)
        self._prune(now)

    def _prune(self, now: float) -> None:
        cutoff = now - ACTIVE_SESSION_WINDOW_S
        while self._last_seen:
            oldest = next(iter(self._last_seen.values()))
            if oldest >= cutoff:
                return
            self._last_seen.popitem(last=False)  # each entry is dropped once: the cost is paid by its own turn

    def _count_active_sessions(self) -> float:
        self._prune(time.monotonic())
        return float(len(self._last_seen))

    def error(self, error_code: str) -> None:
        self.errors.labels(error_code=error_code).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
