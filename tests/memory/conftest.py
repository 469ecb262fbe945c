"""Fixtures of the memory tests, and STORE_FACTORIES: the stores the conformance suite runs against.

To run the conformance suite against another backend, register a factory here: an async
callable `(tmp_path) -> SessionStore` that opens a fresh store. Calling it twice with the same
tmp_path must open two stores on the SAME database (the suite uses that to check that nothing
is cached across store instances). Tests use unique user ids, so a shared database is fine.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from asdrp.memory import SessionStore, SqliteStore, open_store
from tests.shared_stores.services import drop_run_namespaces, postgres_factory, redis_factory

StoreFactory = Callable[[Path], Awaitable[SessionStore]]


async def _sqlite_memory(tmp_path: Path) -> SessionStore:
    return open_store(None)


async def _sqlite_file(tmp_path: Path) -> SessionStore:
    return open_store(tmp_path / "sessions.db")


STORE_FACTORIES: dict[str, StoreFactory] = {
    "sqlite-memory": _sqlite_memory,
    "sqlite-file": _sqlite_file,
    "postgres": postgres_factory,  # the run's own schema; skips locally / fails under CI=true if down
    "redis": redis_factory,  # the run's own key prefix; likewise
}
"""Name -> factory. Backends that need a server add themselves here (skipping when it is down)."""

SHARES_DATABASE: set[str] = {"sqlite-file", "postgres", "redis"}
"""Factories whose second call opens the same database (in-memory SQLite is private per store)."""


@pytest.fixture(scope="session", autouse=True)
def _drop_shared_store_namespaces() -> Iterator[None]:
    """Drop the run's PostgreSQL schema and Redis keys once the memory tests are done."""
    yield
    drop_run_namespaces()


@pytest.fixture(autouse=True)
def asdrp_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every memory test writes under its own temporary ASDRP_HOME, never into the repo."""
    monkeypatch.setenv("ASDRP_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture(params=sorted(STORE_FACTORIES))
def store_factory(request: pytest.FixtureRequest) -> tuple[str, StoreFactory]:
    """(name, factory) of each registered backend."""
    return request.param, STORE_FACTORIES[request.param]


@pytest.fixture(params=sorted(SHARES_DATABASE))
def shared_store_factory(request: pytest.FixtureRequest) -> tuple[str, StoreFactory]:
    """(name, factory) of each backend whose second instance opens the same database."""
    return request.param, STORE_FACTORIES[request.param]


@pytest.fixture
async def store(store_factory: tuple[str, StoreFactory], tmp_path: Path) -> AsyncIterator[SessionStore]:
    """A fresh store of each registered backend, closed after the test."""
    opened = await store_factory[1](tmp_path)
    yield opened
    await opened.close()


@pytest.fixture
def user() -> str:
    """A user id no other test uses (keeps shared databases from leaking between tests)."""
    return f"u-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def other_user() -> str:
    return f"v-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def file_store_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "sessions" / "store.db"


@pytest.fixture
async def file_store(file_store_path: Path) -> AsyncIterator[SqliteStore]:
    opened = SqliteStore(file_store_path)
    yield opened
    await opened.close()
