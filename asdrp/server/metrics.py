"""Prometheus metrics of one app: turns, turn latency, errors, active turns and sessions.

Each app owns its `CollectorRegistry`, so two apps in one process (tests) never share counters
and nothing is registered globally.
"""

from __future__ import annotations

import time

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
        self._last_seen: dict[tuple[str, str], float] = {}

    def session_seen(self, user: str, session_id: str) -> None:
        """Record activity on a conversation (for the active-sessions gauge)."""
        now = time.monotonic()
        self._last_seen[(user, session_id)] = now
        if len(self._last_seen) > 10_000:  # keep the map bounded on a busy server
            self._prune(now)

    def _prune(self, now: float) -> None:
        cutoff = now - ACTIVE_SESSION_WINDOW_S
        self._last_seen = {key: seen for key, seen in self._last_seen.items() if seen >= cutoff}

    def _count_active_sessions(self) -> float:
        self._prune(time.monotonic())
        return float(len(self._last_seen))

    def error(self, error_code: str) -> None:
        self.errors.labels(error_code=error_code).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
