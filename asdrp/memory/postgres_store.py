"""PostgreSQL session store: conversations in one shared database so several server replicas serve them.

SQLAlchemy 2 async over asyncpg, a small connection pool, numbered append-only migrations, and
per-conversation serialization that holds across processes (an advisory lock for whole turns, a row
lock on the session's registry row for every write).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import re
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import exc as sa_exc
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from asdrp.memory.errors import MemoryStoreError, SessionBusyError, StoreUnavailableError
from asdrp.memory.records import ConversationKey, SessionInfo, StoredItem, WindowSettings
from asdrp.memory.retention import PruneResult, keep_from_for_max_items
from asdrp.memory.ids import validate_user
from asdrp.memory.items import item_role, serialize_items, title_from
from asdrp.memory.migrations import MigrationRegistry
from asdrp.memory.paging import decode_cursor, encode_cursor
from asdrp.memory.window import WindowRow, is_turn_start, select_window

_T = TypeVar("_T")

DEFAULT_SCHEMA = "asdrp"
_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class PostgresSettings:
    """How the PostgreSQL store connects; defaults suit one replica on a small machine."""

    schema: str = DEFAULT_SCHEMA
    """Schema that holds the tables (created if missing); tests use a unique one per run."""
    pool_size: int = 5
    """Connections kept open for reads and writes."""
    max_overflow: int = 5
    """Extra connections allowed under bursts, closed when returned."""
    lock_pool_size: int = 5
    """Connections kept for turn locks (an advisory lock lives on its connection for the whole turn)."""
    lock_max_overflow: int = 20
    """Extra lock connections: one per conversation that is mid-turn at the same time."""
    pool_timeout: float = 10.0
    """Seconds to wait for a free pooled connection before reporting the store unavailable."""
    connect_timeout: float = 5.0
    """Seconds to wait for a new connection (a stopped server fails at once; an unreachable host waits)."""
    command_timeout: float = 30.0
    """Seconds one statement may take."""


# --------------------------------------------------------------------------------------------------
# Migrations: numbered, append-only; `schema_migrations(version, name, applied_at)` records what ran.
# Never edit one that has shipped; add the next.
# --------------------------------------------------------------------------------------------------

PgMigration = Callable[[AsyncConnection, str], Awaitable[None]]
PG_MIGRATIONS: MigrationRegistry[PgMigration] = MigrationRegistry("postgres")


async def _exec(conn: AsyncConnection, sql: str) -> None:
    await conn.execute(text(sql))


@PG_MIGRATIONS
async def m001_initial(conn: AsyncConnection, s: str) -> None:
    """The first schema: a registry row per conversation and its items as JSON text."""
    await _exec(
        conn,
        f"""CREATE TABLE {s}.sessions (
            user_id TEXT NOT NULL, session_id TEXT NOT NULL, agent_id TEXT, title TEXT NOT NULL DEFAULT '',
            created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL,
            item_count INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (user_id, session_id))""",
    )
    await _exec(conn, f"CREATE INDEX sessions_by_user_updated ON {s}.sessions (user_id, updated_at DESC, session_id DESC)")
    await _exec(
        conn,
        f"""CREATE TABLE {s}.items (
            id BIGSERIAL PRIMARY KEY, user_id TEXT NOT NULL, session_id TEXT NOT NULL, agent TEXT,
            role TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, data TEXT NOT NULL)""",
    )
    await _exec(conn, f"CREATE INDEX items_by_conversation ON {s}.items (user_id, session_id, id)")


@PG_MIGRATIONS
async def m002_turn_start_and_tokens(conn: AsyncConnection, s: str) -> None:
    """Precompute each item's turn start and token estimate so the window is a plain tail read.

    Existing rows are backfilled in SQL with the same rules as asdrp.memory.window.
    """
    await _exec(conn, f"ALTER TABLE {s}.items ADD COLUMN turn_start BOOLEAN NOT NULL DEFAULT FALSE")
    await _exec(conn, f"ALTER TABLE {s}.items ADD COLUMN tokens INTEGER NOT NULL DEFAULT 1")
    await _exec(
        conn,
        f"""UPDATE {s}.items SET
              turn_start = (data::jsonb ->> 'role' = 'user' AND COALESCE(data::jsonb ->> 'type', 'message') = 'message'),
              tokens = GREATEST(1, length(data) / 4)""",
    )
    await _exec(conn, f"CREATE INDEX items_turn_starts ON {s}.items (user_id, session_id, id) WHERE turn_start")


async def migrate_postgres(conn: AsyncConnection, schema: str, *, upto: int | None = None) -> list[str]:
    """Bring `schema` up to date (or to version `upto`); returns the names of the migrations that ran.

    Serialized across processes by a transaction-level advisory lock so two replicas starting at once
    never run a migration twice.
    """
    await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _hash64(f"asdrp-migrate\0{schema}")})
    await _exec(conn, f"CREATE SCHEMA IF NOT EXISTS {schema}")
    await _exec(
        conn,
        f"""CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
            version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)""",
    )
    done = {row[0] for row in await conn.execute(text(f"SELECT version FROM {schema}.schema_migrations"))}
    ran: list[str] = []
    for migration in PG_MIGRATIONS.pending(done):
        if upto is not None and migration.version > upto:
            break
        await migration.apply(conn, schema)
        await conn.execute(
            text(f"INSERT INTO {schema}.schema_migrations (version, name, applied_at) VALUES (:v, :n, :t)"),
            {"v": migration.version, "n": migration.name, "t": time.time()},
        )
        ran.append(migration.name)
    return ran


# --------------------------------------------------------------------------------------------------


def _hash64(value: str) -> int:
    """A signed 64-bit key for pg advisory locks."""
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "big", signed=True)


def parse_postgres_url(url: str) -> tuple[str, str | None]:
    """`postgresql://...[?schema=x]` -> (SQLAlchemy asyncpg URL, schema or None).

    `schema` is ours, not the driver's, so it is taken out of the query string.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in ("postgresql", "postgres"):
        raise MemoryStoreError(f"postgres store URL must start with postgresql://, got {_redact(url)!r}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), None)
    rest = [(k, v) for k, v in query if k != "schema"]
    return urlunsplit(("postgresql+asyncpg", parts.netloc, parts.path, urlencode(rest), parts.fragment)), schema


def _redact(url: str) -> str:
    """The URL without its password, for error messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


@functools.lru_cache(maxsize=256)
def _sql(statement: str) -> TextClause:
    """A parsed statement, cached: parsing bind parameters costs ~0.1 ms, more than a local round trip."""
    return text(statement)


_UNAVAILABLE_SQLSTATE = ("08", "57P", "53")


def _is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, (OSError, asyncio.TimeoutError, sa_exc.TimeoutError)):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated or isinstance(exc, sa_exc.InterfaceError):
            return True
        orig = exc.orig
        state = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "__cause__", None), "sqlstate", None)
        if state and str(state).startswith(_UNAVAILABLE_SQLSTATE):
            return True
        cause = getattr(orig, "__cause__", None)
        return isinstance(cause, (OSError, asyncio.TimeoutError)) or "connection" in type(cause).__name__.lower()
    return "ConnectionDoesNotExist" in type(exc).__name__ or "CannotConnectNow" in type(exc).__name__


class PostgresStore:
    """A `SessionStore` on PostgreSQL; safe to share between tasks and between replicas.

    Construction is cheap and synchronous (no connection until first use); the schema is created and
    migrated on first use.
    """

    kind = "postgres"

    def __init__(self, url: str, settings: PostgresSettings | None = None) -> None:
        driver_url, url_schema = parse_postgres_url(url)
        settings = settings or PostgresSettings()
        if url_schema and settings.schema == DEFAULT_SCHEMA:
            settings = PostgresSettings(**{**settings.__dict__, "schema": url_schema})
        if not _SCHEMA_RE.match(settings.schema):
            raise MemoryStoreError(
                f"postgres schema name {settings.schema!r} is invalid: use lowercase letters, digits and _"
            )
        self.settings = settings
        self.schema = settings.schema
        self._url = driver_url
        self._where = _redact(urlunsplit(urlsplit(url)._replace(query="")))
        self._engine: AsyncEngine | None = None
        self._lock_engine: AsyncEngine | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = False
        self._closed = False
        self._ready_lock: asyncio.Lock | None = None
        self._local_locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = weakref.WeakValueDictionary()

    # ---- plumbing -------------------------------------------------------------------------------

    def _make_engine(self, pool_size: int, max_overflow: int) -> AsyncEngine:
        s = self.settings
        return create_async_engine(
            self._url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_pre_ping=True,
            pool_timeout=s.pool_timeout,
            pool_recycle=1800,
            connect_args={"timeout": s.connect_timeout, "command_timeout": s.command_timeout},
        )

    def _engines(self) -> tuple[AsyncEngine, AsyncEngine]:
        """The engines for the running event loop (asyncpg connections belong to the loop that made them)."""
        if self._closed:
            raise StoreUnavailableError(f"The PostgreSQL session store at {self._where} is closed")
        loop = asyncio.get_running_loop()
        if self._engine is None or self._loop is not loop:
            if self._engine is not None:
                # A new loop (e.g. a second asyncio.run in a script): the old pool's connections are unusable.
                self._engine.sync_engine.dispose(close=False)
                assert self._lock_engine is not None
                self._lock_engine.sync_engine.dispose(close=False)
            s = self.settings
            self._engine = self._make_engine(s.pool_size, s.max_overflow)
            self._lock_engine = self._make_engine(s.lock_pool_size, s.lock_max_overflow)
            self._loop = loop
            self._ready_lock = asyncio.Lock()
            self._local_locks = weakref.WeakValueDictionary()
        assert self._lock_engine is not None
        return self._engine, self._lock_engine

    def _unavailable(self, op: str, exc: BaseException) -> StoreUnavailableError:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc) else type(exc).__name__
        return StoreUnavailableError(f"PostgreSQL at {self._where} is unavailable ({op}): {reason}")

    async def _ensure_ready(self) -> AsyncEngine:
        engine, _ = self._engines()
        if self._ready:
            return engine
        assert self._ready_lock is not None
        async with self._ready_lock:
            if not self._ready:
                async with engine.begin() as conn:
                    await migrate_postgres(conn, self.schema)
                self._ready = True
        return engine

    async def _run(
        self, op: str, fn: Callable[[AsyncConnection], Awaitable[_T]], *, write: bool, single: bool = False
    ) -> _T:
        """Run `fn` on a pooled connection: in one transaction for writes, autocommit for reads.

        `single=True` marks a write that is ONE statement (atomic by itself): it runs in autocommit,
        saving the BEGIN/COMMIT round trips. A read that hits a connection dropped by a database
        restart is retried once on a fresh connection; a write is not (its commit may have happened):
        the caller gets StoreUnavailableError.
        """
        attempts = 1 if write else 2
        for attempt in range(attempts):
            try:
                engine = await self._ensure_ready()
                if write and not single:
                    async with engine.begin() as conn:
                        return await fn(conn)
                async with engine.connect() as conn:
                    conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                    return await fn(conn)
            except (MemoryStoreError, asyncio.CancelledError):
                raise
            except Exception as exc:  # noqa: BLE001 - classified below
                if not _is_unavailable(exc):
                    raise MemoryStoreError(f"PostgreSQL error during {op} at {self._where}: {exc}") from exc
                if attempt + 1 >= attempts:
                    raise self._unavailable(op, exc) from exc
        raise AssertionError("unreachable")

    # ---- SessionStore ---------------------------------------------------------------------------

    async def append(
        self, key: ConversationKey, items: Sequence[dict], *, agent: str | None, agent_id: str | None = None
    ) -> None:
        items = list(items)
        texts = serialize_items(key, items)
        if not items:
            return
        now = time.time()
        rows = [_row(item, data, agent, now) for item, data in zip(items, texts)]
        await self._write_rows(key, rows, agent_id=agent_id, title=title_from(items), now=now, created_at=now)

    async def _write_rows(
        self,
        key: ConversationKey,
        rows: list[dict[str, Any]],
        *,
        agent_id: str | None,
        title: str,
        now: float,
        created_at: float,
    ) -> None:
        s = self.schema

        async def write(conn: AsyncConnection) -> None:
            # ONE statement, so one round trip and atomic by itself. The upsert takes the session row's
            # lock, and the items' ids (nextval) are drawn only for rows joined with its result, i.e.
            # after that lock is held: concurrent appends from any process queue on the row and get
            # their ids in commit order, so turns never interleave.
            await conn.execute(
                _sql(
                    f"""WITH registry AS (
                          INSERT INTO {s}.sessions AS x (user_id, session_id, agent_id, title, created_at, updated_at, item_count)
                          VALUES (:u, :s, :a, :t, :c, :now, :n)
                          ON CONFLICT (user_id, session_id) DO UPDATE SET
                            updated_at = GREATEST(x.updated_at, EXCLUDED.updated_at),
                            item_count = x.item_count + EXCLUDED.item_count,
                            agent_id = COALESCE(x.agent_id, EXCLUDED.agent_id),
                            title = CASE WHEN x.title = '' THEN EXCLUDED.title ELSE x.title END
                          RETURNING 1 AS locked)
                        INSERT INTO {s}.items (user_id, session_id, agent, role, turn_start, tokens, created_at, data)
                        SELECT :u, :s, r.agent, r.role, r.turn_start, r.tokens, r.created_at, r.data
                        FROM registry,
                             unnest(CAST(:agents AS TEXT[]), CAST(:roles AS TEXT[]), CAST(:turns AS BOOLEAN[]),
                                    CAST(:tokens AS INTEGER[]), CAST(:created AS DOUBLE PRECISION[]),
                                    CAST(:datas AS TEXT[]))
                             WITH ORDINALITY AS r(agent, role, turn_start, tokens, created_at, data, ord)
                        ORDER BY r.ord"""
                ),
                {
                    "u": key.user,
                    "s": key.session_id,
                    "a": agent_id,
                    "t": title,
                    "c": created_at,
                    "now": now,
                    "n": len(rows),
                    "agents": [r["agent"] for r in rows],
                    "roles": [r["role"] for r in rows],
                    "turns": [r["turn_start"] for r in rows],
                    "tokens": [r["tokens"] for r in rows],
                    "created": [r["created_at"] for r in rows],
                    "datas": [r["data"] for r in rows],
                },
            )

        await self._run("append", write, write=True, single=True)

    async def window(self, key: ConversationKey, settings: WindowSettings) -> list[dict]:
        if settings.max_items <= 0:
            return []
        s = self.schema

        async def tail(conn: AsyncConnection) -> list[WindowRow]:
            result = await conn.execute(
                _sql(
                    f"""SELECT data, tokens, turn_start FROM {s}.items
                        WHERE user_id = :u AND session_id = :s ORDER BY id DESC LIMIT :n"""
                ),
                {"u": key.user, "s": key.session_id, "n": settings.max_items},
            )
            return [WindowRow(json.loads(r[0]), r[1], r[2]) for r in reversed(result.all())]

        return select_window(await self._run("window", tail, write=False), settings)

    async def read(self, key: ConversationKey, *, after_seq: int = 0, limit: int | None = None) -> list[StoredItem]:
        s = self.schema

        async def read(conn: AsyncConnection) -> list[StoredItem]:
            sql = f"""SELECT id, data, agent, role, created_at FROM {s}.items
                      WHERE user_id = :u AND session_id = :s AND id > :after ORDER BY id"""
            params: dict[str, Any] = {"u": key.user, "s": key.session_id, "after": after_seq}
            if limit is not None:
                sql += " LIMIT :n"
                params["n"] = max(0, limit)
            return [_stored(r) for r in (await conn.execute(_sql(sql), params)).all()]

        return await self._run("read", read, write=False)

    async def pop(self, key: ConversationKey) -> dict | None:
        s = self.schema

        async def pop(conn: AsyncConnection) -> dict | None:
            locked = await conn.execute(
                _sql(f"SELECT 1 FROM {s}.sessions WHERE user_id = :u AND session_id = :s FOR UPDATE"),
                {"u": key.user, "s": key.session_id},
            )
            if locked.first() is None:
                return None
            row = (
                await conn.execute(
                    _sql(
                        f"""DELETE FROM {s}.items WHERE id = (
                              SELECT id FROM {s}.items WHERE user_id = :u AND session_id = :s ORDER BY id DESC LIMIT 1)
                            RETURNING data"""
                    ),
                    {"u": key.user, "s": key.session_id},
                )
            ).first()
            if row is None:
                return None
            await conn.execute(
                _sql(
                    f"""UPDATE {s}.sessions SET item_count = GREATEST(item_count - 1, 0), updated_at = GREATEST(updated_at, :now)
                        WHERE user_id = :u AND session_id = :s"""
                ),
                {"u": key.user, "s": key.session_id, "now": time.time()},
            )
            return json.loads(row[0])

        return await self._run("pop", pop, write=True)

    async def clear(self, key: ConversationKey) -> None:
        s = self.schema

        async def clear(conn: AsyncConnection) -> None:
            updated = await conn.execute(
                _sql(
                    f"""UPDATE {s}.sessions SET item_count = 0, updated_at = GREATEST(updated_at, :now)
                        WHERE user_id = :u AND session_id = :s"""
                ),
                {"u": key.user, "s": key.session_id, "now": time.time()},
            )
            if updated.rowcount:
                await conn.execute(
                    _sql(f"DELETE FROM {s}.items WHERE user_id = :u AND session_id = :s"),
                    {"u": key.user, "s": key.session_id},
                )

        await self._run("clear", clear, write=True)

    async def info(self, key: ConversationKey) -> SessionInfo | None:
        s = self.schema

        async def info(conn: AsyncConnection) -> SessionInfo | None:
            row = (
                await conn.execute(
                    _sql(
                        f"""SELECT user_id, session_id, agent_id, title, created_at, updated_at, item_count
                            FROM {s}.sessions WHERE user_id = :u AND session_id = :s"""
                    ),
                    {"u": key.user, "s": key.session_id},
                )
            ).first()
            return _info(row) if row else None

        return await self._run("info", info, write=False)

    async def list_sessions(
        self, user: str, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[SessionInfo], str | None]:
        s = self.schema
        after = decode_cursor(cursor) if cursor else None

        async def page(conn: AsyncConnection) -> list[SessionInfo]:
            sql = f"""SELECT user_id, session_id, agent_id, title, created_at, updated_at, item_count
                      FROM {s}.sessions WHERE user_id = :u"""
            params: dict[str, Any] = {"u": user, "n": limit + 1}
            if after is not None:
                sql += " AND (updated_at, session_id) < (:cu, :cs)"
                params.update(cu=after[0], cs=after[1])
            sql += " ORDER BY updated_at DESC, session_id DESC LIMIT :n"
            return [_info(r) for r in (await conn.execute(_sql(sql), params)).all()]

        rows = await self._run("list_sessions", page, write=False)
        if len(rows) > limit:
            rows = rows[:limit]
            return rows, encode_cursor(rows[-1].updated_at, rows[-1].session_id)
        return rows, None

    async def delete(self, key: ConversationKey) -> bool:
        s = self.schema

        async def delete(conn: AsyncConnection) -> bool:
            gone = await conn.execute(
                _sql(f"DELETE FROM {s}.sessions WHERE user_id = :u AND session_id = :s"),
                {"u": key.user, "s": key.session_id},
            )
            items = await conn.execute(
                _sql(f"DELETE FROM {s}.items WHERE user_id = :u AND session_id = :s"),
                {"u": key.user, "s": key.session_id},
            )
            return bool(gone.rowcount or items.rowcount)

        return await self._run("delete", delete, write=True)

    async def delete_user(self, user: str) -> int:
        validate_user(user)
        s = self.schema

        async def delete_user(conn: AsyncConnection) -> int:
            gone = await conn.execute(_sql(f"DELETE FROM {s}.sessions WHERE user_id = :u"), {"u": user})
            await conn.execute(_sql(f"DELETE FROM {s}.items WHERE user_id = :u"), {"u": user})
            return gone.rowcount

        return await self._run("delete_user", delete_user, write=True)

    @asynccontextmanager
    async def lock(self, key: ConversationKey, *, wait: bool = True) -> AsyncIterator[None]:
        """Hold the conversation for a whole turn, across every process sharing the database.

        In-process waiters queue on an asyncio lock first so one conversation never ties up more than
        one lock connection per process; the advisory lock lives on a dedicated connection and dies
        with it, so a crashed replica never leaves a conversation locked.
        """
        await self._ensure_ready()
        _, lock_engine = self._engines()
        local = self._local_locks.get((key.user, key.session_id))
        if local is None:
            local = asyncio.Lock()
            self._local_locks[(key.user, key.session_id)] = local
        if not wait and local.locked():
            raise SessionBusyError(f"conversation {key.session_id!r} of user {key.user!r} is busy with another turn")
        async with local:
            lock_key = _hash64(f"{self.schema}\0{key.user}\0{key.session_id}")
            try:
                conn = await lock_engine.connect()
            except Exception as exc:  # noqa: BLE001
                if _is_unavailable(exc):
                    raise self._unavailable("lock", exc) from exc
                raise
            clean = False
            try:
                try:
                    conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                    if wait:
                        await conn.execute(_sql("SELECT pg_advisory_lock(:k)"), {"k": lock_key})
                    else:
                        got = await conn.execute(_sql("SELECT pg_try_advisory_lock(:k)"), {"k": lock_key})
                        if not got.scalar():
                            clean = True
                            raise SessionBusyError(
                                f"conversation {key.session_id!r} of user {key.user!r} is busy with another turn"
                            )
                except (MemoryStoreError, asyncio.CancelledError):
                    raise
                except Exception as exc:  # noqa: BLE001
                    if _is_unavailable(exc):
                        raise self._unavailable("lock", exc) from exc
                    raise
                try:
                    yield
                finally:
                    try:
                        await conn.execute(_sql("SELECT pg_advisory_unlock(:k)"), {"k": lock_key})
                        clean = True
                    except Exception:  # noqa: BLE001 - the lock dies with the connection below
                        pass
            finally:
                if not clean:
                    # Unknown lock state (cancelled mid-acquire, connection lost): close the connection
                    # so the server drops any advisory lock it holds instead of pooling it.
                    with suppress(Exception):
                        await conn.invalidate()
                with suppress(Exception):
                    await conn.close()

    async def close(self) -> None:
        engines = [e for e in (self._engine, self._lock_engine) if e is not None]
        self._engine = self._lock_engine = None
        self._ready = False
        self._closed = True
        for engine in engines:
            await engine.dispose()

    # ---- retention and transfer (beyond the core protocol) ----------------------------------------

    async def list_users(self) -> list[str]:
        """Every user with at least one conversation (for export and sweeps)."""

        async def users(conn: AsyncConnection) -> list[str]:
            result = await conn.execute(_sql(f"SELECT DISTINCT user_id FROM {self.schema}.sessions ORDER BY user_id"))
            return [r[0] for r in result.all()]

        return await self._run("list_users", users, write=False)

    async def prune(
        self, *, max_age_seconds: float | None = None, max_items: int | None = None, now: float | None = None
    ) -> PruneResult:
        """Delete conversations idle longer than `max_age_seconds`; trim the rest to `max_items` whole turns."""
        s = self.schema
        now = time.time() if now is None else now
        result = PruneResult()
        if max_age_seconds is not None:

            async def expire(conn: AsyncConnection) -> tuple[int, int]:
                gone = await conn.execute(
                    _sql(
                        f"""WITH gone AS (DELETE FROM {s}.sessions WHERE updated_at < :cut RETURNING user_id, session_id)
                            SELECT user_id, session_id FROM gone"""
                    ),
                    {"cut": now - max_age_seconds},
                )
                keys = gone.all()
                if not keys:
                    return 0, 0
                items = await conn.execute(
                    _sql(
                        f"""DELETE FROM {s}.items i USING unnest(CAST(:us AS TEXT[]), CAST(:ss AS TEXT[])) AS g(u, s)
                            WHERE i.user_id = g.u AND i.session_id = g.s"""
                    ),
                    {"us": [k[0] for k in keys], "ss": [k[1] for k in keys]},
                )
                return len(keys), items.rowcount

            expired, removed = await self._run("prune", expire, write=True)
            result.sessions_deleted += expired
            result.items_removed += removed
        if max_items is not None:

            async def over(conn: AsyncConnection) -> list[tuple[str, str]]:
                rows = await conn.execute(
                    _sql(f"SELECT user_id, session_id FROM {s}.sessions WHERE item_count > :m"), {"m": max_items}
                )
                return [(r[0], r[1]) for r in rows.all()]

            for user, session_id in await self._run("prune", over, write=False):
                removed = await self._trim(ConversationKey(user, session_id), max_items)
                if removed:
                    result.items_removed += removed
                    result.sessions_trimmed += 1
        return result

    async def _trim(self, key: ConversationKey, max_items: int) -> int:
        s = self.schema

        async def trim(conn: AsyncConnection) -> int:
            locked = await conn.execute(
                _sql(f"SELECT 1 FROM {s}.sessions WHERE user_id = :u AND session_id = :s FOR UPDATE"),
                {"u": key.user, "s": key.session_id},
            )
            if locked.first() is None:
                return 0
            tail = await conn.execute(
                _sql(
                    f"""SELECT id, turn_start FROM {s}.items WHERE user_id = :u AND session_id = :s
                        ORDER BY id DESC LIMIT :m"""
                ),
                {"u": key.user, "s": key.session_id, "m": max_items},
            )
            newest_first = [(r[0], bool(r[1])) for r in tail.all()]
            keep_from = keep_from_for_max_items(newest_first)
            if keep_from is None:
                last = await conn.execute(
                    _sql(
                        f"""SELECT max(id) FROM {s}.items WHERE user_id = :u AND session_id = :s AND turn_start"""
                    ),
                    {"u": key.user, "s": key.session_id},
                )
                keep_from = last.scalar() or (newest_first[-1][0] if newest_first else None)
            if keep_from is None:
                return 0
            removed = await conn.execute(
                _sql(f"DELETE FROM {s}.items WHERE user_id = :u AND session_id = :s AND id < :k"),
                {"u": key.user, "s": key.session_id, "k": keep_from},
            )
            await conn.execute(
                _sql(
                    f"""UPDATE {s}.sessions SET item_count = (SELECT count(*) FROM {s}.items
                          WHERE user_id = :u AND session_id = :s) WHERE user_id = :u AND session_id = :s"""
                ),
                {"u": key.user, "s": key.session_id},
            )
            return removed.rowcount

        return await self._run("prune", trim, write=True)

    async def import_session(self, info: SessionInfo, items: Sequence[StoredItem]) -> None:
        """Write imported items with their original agent/role/timestamps (used by asdrp.memory.transfer)."""
        key = ConversationKey(info.user, info.session_id)
        texts = serialize_items(key, [i.item for i in items])
        rows = [_row(i.item, data, i.agent, i.created_at, role=i.role) for i, data in zip(items, texts)]
        if not rows:
            return
        await self._write_rows(
            key, rows, agent_id=info.agent_id, title=info.title, now=info.updated_at, created_at=info.created_at
        )

    async def drop_schema(self) -> None:
        """Remove every table of this store's schema (tests and decommissioning only)."""
        engine, _ = self._engines()
        try:
            async with engine.begin() as conn:
                await _exec(conn, f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
        except Exception as exc:  # noqa: BLE001
            if _is_unavailable(exc):
                raise self._unavailable("drop_schema", exc) from exc
            raise
        self._ready = False


def _row(item: dict, data: str, agent: str | None, created_at: float, *, role: str | None = None) -> dict[str, Any]:
    return {
        "agent": agent,
        "role": role or item_role(item),
        "turn_start": is_turn_start(item),
        "tokens": max(1, len(data) // 4),  # estimate_tokens' rule, without serializing twice
        "created_at": created_at,
        "data": data,
    }


def _stored(row: Any) -> StoredItem:
    return StoredItem(seq=row[0], item=json.loads(row[1]), agent=row[2], role=row[3], created_at=row[4])


def _info(row: Any) -> SessionInfo:
    return SessionInfo(
        user=row[0], session_id=row[1], agent_id=row[2], title=row[3], created_at=row[4], updated_at=row[5],
        item_count=row[6],
    )
