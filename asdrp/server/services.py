"""What the request handlers share for the life of one app: catalog, sessions, auth, metrics.

Held on `app.state.services` and reached through the `services` dependency, so handlers declare
what they need instead of importing globals.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from fastapi import Request

from asdrp.memory.stores import SessionStore
from asdrp.orchestration.base import Responder
from asdrp.orchestration.directory import SessionDirectory
from asdrp.server.auth import ApiKeyAuthenticator
from asdrp.server.metrics import ServerMetrics
from asdrp.server.settings import ServerSettings


class Catalog(Protocol):
    """The part of `asdrp.orchestration.catalog.ResponderCatalog` the server uses."""

    def descriptors(self) -> list[dict[str, Any]]: ...

    def get(self, agent_id: str) -> Responder: ...

    def stores(self) -> list[SessionStore]: ...

    async def aclose(self) -> None: ...


@dataclass
class TurnOutcome:
    """Filled in by a handler so the metrics know how a turn ended."""

    outcome: str = "ok"


@dataclass
class ServerServices:
    """Everything one app instance owns; closed by the app's lifespan."""

    settings: ServerSettings
    catalog: Catalog
    authenticator: ApiKeyAuthenticator
    metrics: ServerMetrics = field(default_factory=ServerMetrics)
    factory: Any = None
    """The AgentFactory behind the catalog (closed after it), when the app built one."""

    def directory(self) -> SessionDirectory:
        """The user's conversations over every store with user-visible sessions."""
        return SessionDirectory(self.catalog.stores())

    @contextmanager
    def turn(self, agent_id: str, mode: str, user: str, session_id: str) -> Iterator[TurnOutcome]:
        """Count and time one turn (active turns gauge, latency histogram, outcome counter)."""
        metrics = self.metrics
        outcome = TurnOutcome()
        metrics.active_turns.inc()
        metrics.session_seen(user, session_id)
        started = time.perf_counter()
        try:
            yield outcome
        except BaseException:
            outcome.outcome = "error"
            raise
        finally:
            metrics.active_turns.dec()
            metrics.latency.labels(agent_id=agent_id, mode=mode).observe(time.perf_counter() - started)
            metrics.turns.labels(agent_id=agent_id, mode=mode, outcome=outcome.outcome).inc()

    async def aclose(self) -> None:
        """Close the catalog's responders and then every store the factory opened."""
        try:
            await self.catalog.aclose()
        finally:
            if self.factory is not None:
                await self.factory.aclose()


async def get_services(request: Request) -> ServerServices:
    """FastAPI dependency: this app's services.

    `async` on purpose: FastAPI runs a plain `def` dependency in its thread pool, which cost every
    request a thread hop (about 2% of a worker's CPU under load) for one attribute lookup.
    """
    return request.app.state.services
