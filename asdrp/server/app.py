"""The app factory: `create_app(settings)` builds one independent FastAPI application.

The agents configuration is loaded here, eagerly, so a broken YAML stops start-up with its one
line of explanation; the stores are closed by the lifespan when the server shuts down (uvicorn
lets in-flight turns finish first, up to `shutdown_deadline_s`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from asdrp.memory.errors import MemoryStoreError
from asdrp.memory.ids import DEFAULT_USER
from asdrp.memory.retention import RetentionSweeper
from asdrp.orchestration.retention import retention_plans
from asdrp.server.auth import ApiKeyAuthenticator, document_auth
from asdrp.server.errors import install_error_handlers
from asdrp.server.guard import RequestGuardMiddleware
from asdrp.server.idempotency import IdempotencyRecords, idempotency_store
from asdrp.server.routes import agents, chat, health, sessions, web
from asdrp.server.routes.web import STATIC_DIR
from asdrp.server.services import Catalog, ServerServices
from asdrp.server.settings import ServerSettings
from asdrp.server.v1 import install_v1

log = logging.getLogger("asdrp.server")

DESCRIPTION = """Chat with asdrp's agents and orchestrators; conversations keep persistent session memory.

Authenticate with the `X-API-Key` header when the server has `ASDRP_API_KEYS`; in local mode no key
is needed. Omit `session_id` to start a conversation: the reply's `metadata.session_id` continues it.
Every error is `{"detail": "...", "error_code": "..."}`.
"""


def _orchestrator_config(explicit: Path | None, agents_config: Path, name: str) -> Path | None:
    """An explicit orchestrator YAML, else the one beside the agents YAML if it exists."""
    if explicit is not None:
        return explicit
    beside = agents_config.parent / name
    return beside if beside.exists() else None


def build_catalog(settings: ServerSettings) -> tuple[Catalog, object]:
    """The factory (loads and validates the agents YAML: ConfigError if broken) and the catalog."""
    from asdrp.agents.agent_factory import AgentFactory

    factory = AgentFactory(config_path=settings.config, session_url=settings.session_url)
    from asdrp.orchestration.catalog import ResponderCatalog

    agents_config = Path(factory.loader.config_path)
    catalog = ResponderCatalog(
        factory,
        wait_when_busy=settings.busy == "wait",
        moe_config_path=_orchestrator_config(settings.moe_config, agents_config, "moe.yaml"),
        smartrouter_config_path=_orchestrator_config(settings.smartrouter_config, agents_config, "smartrouter.yaml"),
    )
    return catalog, factory


def create_app(settings: ServerSettings | None = None, *, catalog: Catalog | None = None) -> FastAPI:
    """A new app. `catalog` replaces the configured agents (tests inject slow or failing responders)."""
    settings = settings if settings is not None else ServerSettings()
    factory = None
    if catalog is None:
        catalog, factory = build_catalog(settings)
    services = ServerServices(
        settings=settings,
        catalog=catalog,
        authenticator=ApiKeyAuthenticator(settings.api_keys),
        factory=factory,
    )
    records = services.idempotency = IdempotencyRecords(
        idempotency_store(factory) if factory is not None else catalog.stores()[0],
        services.directory,
        settings.idempotency_ttl_s,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # `asdrp serve` says so on the console once for all its workers; each worker only logs it.
        if settings.local_mode:
            log.info(
                "asdrp: local mode (no ASDRP_API_KEYS): every request is user %r; bound to %s",
                DEFAULT_USER,
                settings.host,
            )
        else:
            log.info("asdrp: API keys required for %d user(s)", len(set(settings.api_keys.values())))
        try:
            await services.check_stores()
        except MemoryStoreError as exc:  # refuse to start (uvicorn exits) rather than answer 500s
            log.error("asdrp: cannot start: %s", exc)
            await services.aclose()
            raise
        sweeper = None
        if factory is not None and settings.retention_sweep_s > 0:
            sweeper = RetentionSweeper(
                lambda: records.with_expiry(retention_plans(factory, catalog.retained_stores())),
                settings.retention_sweep_s,
                logger=log,
            )
            sweeper.start()
        try:
            yield
        finally:
            if sweeper is not None:
                await sweeper.stop()
            await services.aclose()

    app = FastAPI(
        title="asdrp",
        version=health.VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc are served by routes/web.py with local assets (FastAPI's use a CDN)
        redoc_url=None,
    )
    app.state.services = services
    document_auth(app, settings.local_mode)
    install_error_handlers(app)
    app.add_middleware(RequestGuardMiddleware, settings=settings, authenticator=services.authenticator)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Content-Type", "X-API-Key", "Authorization", "Idempotency-Key"],
            expose_headers=["X-Asdrp-Session-Id", "X-Asdrp-Forked-From"],
        )
    for module in (health, agents, chat, sessions, web):
        app.include_router(module.router)
    install_v1(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
