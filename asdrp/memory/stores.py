"""open_store: the one place that turns a store kind and location into a SessionStore."""

from __future__ import annotations

from pathlib import Path

from asdrp.memory.errors import MemoryStoreError
from asdrp.memory.paths import resolve_database_path
from asdrp.memory.sqlite_store import SqliteStore
from asdrp.memory.store import SessionStore

STORE_KINDS = ("sqlite", "postgres", "redis")


def open_store(kind: str, *, database_path: str | Path | None = None, url: str | None = None) -> SessionStore:
    """A store of `kind`: "sqlite" (database_path None = private in-memory), "postgres", "redis".

    Relative SQLite paths resolve under ASDRP_HOME and may not escape it (see resolve_database_path).
    """
    if kind == "sqlite":
        return SqliteStore(None if database_path is None else resolve_database_path(database_path))
    if kind in ("postgres", "redis"):
        raise MemoryStoreError(f"Session store {kind!r} is not available yet (url {url!r}); use 'sqlite'")
    raise MemoryStoreError(f"Unknown session store kind {kind!r}; expected one of {', '.join(STORE_KINDS)}")
