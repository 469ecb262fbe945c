"""Fixtures of the shared-store tests: a fresh PostgreSQL schema / Redis prefix per test, dropped after."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from asdrp.memory import SqliteStore
from asdrp.memory.stores.postgres import PostgresStore
from asdrp.memory.stores.redis import RedisStore
from tests.shared_stores import services
from tests.shared_stores.services import fresh_store


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "restarts_services: stops and starts a private PostgreSQL / Redis of its own")


@pytest.fixture(autouse=True)
def asdrp_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ASDRP_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
async def pg_store() -> AsyncIterator[PostgresStore]:
    async with fresh_store("postgres") as store:
        yield store  # type: ignore[misc]


@pytest.fixture
async def redis_store() -> AsyncIterator[RedisStore]:
    async with fresh_store("redis") as store:
        yield store  # type: ignore[misc]


@pytest.fixture(params=["postgres", "redis"])
async def shared_store(request: pytest.FixtureRequest) -> AsyncIterator[PostgresStore | RedisStore]:
    """Each shared store in turn, in its own namespace."""
    async with fresh_store(request.param) as store:
        yield store


@pytest.fixture(params=["sqlite", "postgres", "redis"])
async def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[object]:
    """A file SQLite store and each shared store in turn (for rules every store must apply alike)."""
    if request.param == "sqlite":
        store = SqliteStore(tmp_path / "sessions.db")
        yield store
        await store.close()
        return
    async with fresh_store(request.param) as shared:
        yield shared


@pytest.fixture(scope="session", autouse=True)
def _drop_run_namespaces() -> Iterator[None]:
    yield
    services.drop_run_namespaces()
