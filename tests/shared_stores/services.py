"""Real PostgreSQL and Redis for the shared-store tests: availability, per-run namespaces, cleanup.

Each test run gets its own PostgreSQL schema and Redis key prefix (dropped at the end), and each
test its own user ids, so runs and tests never see each other's data. When a service is down the
tests skip locally but FAIL when CI=true: CI must never go green by skipping the shared stores.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from asdrp.memory.stores.postgres import PostgresSettings, PostgresStore
from asdrp.memory.stores.redis import RedisSettings, RedisStore

PG_URL = os.environ.get("ASDRP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("ASDRP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN_ID = uuid.uuid4().hex[:10]
RUN_SCHEMA = f"asdrp_test_{RUN_ID}"
RUN_PREFIX = f"asdrp-test-{RUN_ID}:"


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def require(kind: str) -> None:
    """Skip (locally) or fail (CI=true) when the service for `kind` is not reachable."""
    url, port = (PG_URL, 5432) if kind == "postgres" else (REDIS_URL, 6379)
    if _reachable(url, port):
        return
    message = f"{kind} is not reachable at {url}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: shared-store tests must run)", pytrace=False)
    pytest.skip(f"{message} (outside CI only; CI=true fails instead)")


def postgres_store(schema: str = RUN_SCHEMA, **settings: object) -> PostgresStore:
    require("postgres")
    return PostgresStore(PG_URL, PostgresSettings(schema=schema, **settings))  # type: ignore[arg-type]


def redis_store(prefix: str = RUN_PREFIX, **settings: object) -> RedisStore:
    require("redis")
    return RedisStore(REDIS_URL, RedisSettings(prefix=prefix, **settings))  # type: ignore[arg-type]


def unique_schema() -> str:
    return f"asdrp_test_{uuid.uuid4().hex[:12]}"


def unique_prefix() -> str:
    return f"asdrp-test-{uuid.uuid4().hex[:12]}:"


async def postgres_factory(tmp_path: Path) -> PostgresStore:
    """Conformance-suite factory: the run's schema (two calls share the database, as required)."""
    return postgres_store()


async def redis_factory(tmp_path: Path) -> RedisStore:
    """Conformance-suite factory: the run's key prefix."""
    return redis_store()


async def drop_namespace(kind: str, name: str) -> None:
    """Drop a schema / delete a key prefix; a service that is down has nothing of ours to drop."""
    if kind == "postgres":
        if not _reachable(PG_URL, 5432):
            return
        store = PostgresStore(PG_URL, PostgresSettings(schema=name))
        try:
            await store.drop_schema()
        finally:
            await store.close()
    else:
        if not _reachable(REDIS_URL, 6379):
            return
        store = RedisStore(REDIS_URL, RedisSettings(prefix=name))
        try:
            await store.drop_prefix()
        finally:
            await store.close()


def drop_run_namespaces() -> None:
    """End of the test session: remove the run's schema and keys."""
    asyncio.run(drop_namespace("postgres", RUN_SCHEMA))
    asyncio.run(drop_namespace("redis", RUN_PREFIX))


@asynccontextmanager
async def fresh_store(kind: str) -> AsyncIterator[PostgresStore | RedisStore]:
    """A store of `kind` in a namespace (schema / key prefix) of its own, dropped afterwards."""
    store: PostgresStore | RedisStore
    if kind == "postgres":
        store = postgres_store(unique_schema())
        name = store.schema
    else:
        store = redis_store(unique_prefix())
        name = store.prefix
    try:
        yield store
    finally:
        await store.close()
        await drop_namespace(kind, name)
