"""Session stores, and `open_store`: the ONLY place that turns a location into a store.

A location is one of
- ``None``: a private in-memory SQLite database (lives as long as the store object);
- a path (str or Path): a SQLite file; relative paths resolve under ASDRP_HOME and may not escape it;
- ``postgresql://…[?schema=name]``: PostgreSQL;
- ``redis://…[?prefix=name:]``: Redis.
Everything that chooses where conversations live (the factory, the orchestrators, the CLI, import)
produces a location and calls `open_store`; `location_key` says when two locations are one store.
"""

from __future__ import annotations

from pathlib import Path

from asdrp.memory.errors import MemoryStoreError
from asdrp.memory.paths import resolve_database_path
from asdrp.memory.stores.base import SessionStore, StagedTurn, StoreBase, busy_error
from asdrp.memory.stores.sqlite import SqliteStore

Location = str | Path | None
"""Where a store lives: None (private memory), a SQLite path, or a postgresql:// / redis:// URL."""

_POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+asyncpg://")
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def store_kind(location: Location) -> str:
    """"sqlite", "postgres" or "redis": the backend a location names."""
    if isinstance(location, str) and location.startswith(_POSTGRES_SCHEMES):
        return "postgres"
    if isinstance(location, str) and location.startswith(_REDIS_SCHEMES):
        return "redis"
    if isinstance(location, str) and "://" in location:
        raise MemoryStoreError(
            f"Unknown session store URL {location.split('://', 1)[0]!r}://…: use postgresql://, redis:// or a file path"
        )
    return "sqlite"


def location_key(location: Location) -> str | None:
    """A canonical form of a location: equal keys mean the same store (paths resolved, URLs as given)."""
    if location is None:
        return None
    if store_kind(location) != "sqlite":
        return str(location)
    return str(resolve_database_path(location))


def open_store(location: Location = None) -> SessionStore:
    """A new store at `location` (see the module docstring). Network stores connect on first use."""
    kind = store_kind(location)
    if kind == "postgres":
        from asdrp.memory.stores.postgres import PostgresStore  # imported on demand: SQLAlchemy is heavy

        return PostgresStore(str(location))
    if kind == "redis":
        from asdrp.memory.stores.redis import RedisStore

        return RedisStore(str(location))
    return SqliteStore(None if location is None else resolve_database_path(location))


__all__ = [
    "Location",
    "SessionStore",
    "SqliteStore",
    "StagedTurn",
    "StoreBase",
    "busy_error",
    "location_key",
    "open_store",
    "store_kind",
]
