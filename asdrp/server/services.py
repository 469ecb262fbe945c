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

from asdrp.memory.errors import MemoryStoreError
from asdrp.memory.records import ConversationKey
from asdrp.memory.stores import SessionStore
from asdrp.orchestration.base import Responder
from asdrp.orchestration.directory import SessionDirectory, SideMemory
from asdrp.server.auth import ApiKeyAuthenticator
from asdrp.server.idempotency import IdempotencyRecords
from asdrp.server.metrics import ServerMetrics
from asdrp.server.settings import ServerSettings


class Catalog(Protocol):
    """The part of `asdrp.orchestration.catalog.ResponderCatalog` the server uses."""

    def descriptors(self) -> list[dict[str, Any]]: ...

    def get(self, agent_id: str) -> Responder: ...

    def stores(self) -> list[SessionStore]: ...

    def side_memories(self) -> list[SideMemory]: ...

    def retained_stores(self) -> list[SessionStore]: ...

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
    idempotency: IdempotencyRecords | None = None
    """The records of turns' Idempotency-Keys (set by `create_app`)."""
    extra_side: list[SideMemory] = field(default_factory=list)
    """Further records deleted with a conversation or a user (the `/v1` API's: metadata, responses)."""

    def directory(self) -> SessionDirectory:
        """The user's conversations over every store with user-visible sessions (and what goes with them)."""
        side: list[SideMemory] = [*self.catalog.side_memories()]
        if self.idempotency is not None:
            side.append(self.idempotency)
        side += self.extra_side
        return SessionDirectory(self.catalog.stores(), side)

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

    async def check_stores(self) -> None:
        """Open and read every store this app will use; MemoryStoreError naming the first that fails.

        Stores open lazily on first use, so without this a server whose `agents.db` is a directory
        (or unreadable, or whose database is down) would start and answer every request with a 500.
        """
        try:
            stores = self.catalog.retained_stores()
        except MemoryStoreError as exc:  # a path that cannot be a database (the message names it)
            raise MemoryStoreError(f"session store: {exc}") from None
        if self.idempotency is not None and all(self.idempotency.store is not store for store in stores):
            stores.append(self.idempotency.store)
        probe = ConversationKey("_startup", "probe")
        for store in stores:
            try:
                await store.info(probe)
            except MemoryStoreError as exc:
                where = store.location or f"{store.kind} (in memory)"
                raise MemoryStoreError(f"session store {where}: {exc}") from None

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
