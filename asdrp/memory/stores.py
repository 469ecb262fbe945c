"""open_store: the one place that turns a store kind and location into a SessionStore."""

from __future__ import annotations

from pathlib import Path

from asdrp.memory.errors import MemoryStoreError
from asdrp.memory.paths import resolve_database_path
from asdrp.memory.sqlite_store import SqliteStore
from asdrp.memory.store import SessionStore

STORE_KINDS = ("sqlite", "postgres", "redis")
_EXAMPLE_URLS = {"postgres": "postgresql://postgres@127.0.0.1:5432/test", "redis": "redis://127.0.0.1:6379/0"}


def open_store(kind: str, *, database_path: str | Path | None = None, url: str | None = None) -> SessionStore:
    """A store of `kind`: "sqlite" (database_path None = private in-memory), "postgres", "redis".

    Relative SQLite paths resolve under ASDRP_HOME and may not escape it (see resolve_database_path).
    Shared stores take a URL: `postgresql://...[?schema=name]`, `redis://...[?prefix=name:]`; they
    connect lazily, on first use.
    """
    if kind == "sqlite":
        return SqliteStore(None if database_path is None else resolve_database_path(database_path))
    if kind in ("postgres", "redis"):
        if not url:
            raise MemoryStoreError(f"Session store {kind!r} needs a url (e.g. {_EXAMPLE_URLS[kind]})")
        if kind == "postgres":
            from asdrp.memory.postgres_store import PostgresStore  # imported on demand: SQLAlchemy is heavy

            return PostgresStore(url)
        from asdrp.memory.redis_store import RedisStore

        return RedisStore(url)
    raise MemoryStoreError(f"Unknown session store kind {kind!r}; expected one of {', '.join(STORE_KINDS)}")
