"""PostgreSQL session store: conversations in one shared database so several server replicas serve them.

Usage::

    store = PostgresStore("postgresql://postgres@127.0.0.1:5432/test?schema=asdrp")
    session = ConversationSession(store, "s1")
    await Runner.run(agent, "Hello", session=session)

SQLAlchemy 2 async over asyncpg, a small connection pool, numbered append-only migrations
(`migrations/postgres.py`), and per-conversation serialisation that holds across processes (an
advisory lock for whole turns, a row lock on the session's registry row for every write).
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import TextClause, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from asdrp.memory.errors import MemoryStoreError, StaleTurnError, StoreUnavailableError
from asdrp.memory.recall import CorpusStats, Posting
from asdrp.memory.records import ConversationKey, SessionInfo, StoredItem
from asdrp.memory.rows import Row, item_json
from asdrp.memory.stores.base import LoopBound, StagedTurn, StoreBase, busy_error, redact_url, take_url_option
from asdrp.memory.stores.migrations.postgres import advisory_key, migrate_postgres
from asdrp.memory.window import WindowRow

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


def parse_postgres_url(url: str) -> tuple[str, str | None]:
    """`postgresql://...[?schema=x]` -> (SQLAlchemy asyncpg URL, schema or None)."""
    rest, schema = take_url_option(url, "schema")
    parts = urlsplit(rest)
    if parts.scheme.split("+", 1)[0] not in ("postgresql", "postgres"):
        raise MemoryStoreError(f"postgres store URL must start with postgresql://, got {redact_url(url)!r}")
    return urlunsplit(parts._replace(scheme="postgresql+asyncpg")), schema


@functools.lru_cache(maxsize=256)
def _sql(statement: str) -> TextClause:
    """A parsed statement, cached: parsing bind parameters costs ~0.1 ms, more than a local round trip."""
    return text(statement)


def _stored_item(row: Any) -> StoredItem:
    """The StoredItem of an (id, data, agent, role, created_at) row."""
    return StoredItem(seq=row[0], item=json.loads(row[1]), agent=row[2], role=row[3], created_at=row[4])


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



@dataclass
class _Engines:
    """The two pools of one event loop: reads/writes, and the connections that hold turn locks."""

    main: AsyncEngine
    locks: AsyncEngine


class PostgresStore(StoreBase):
    """A `SessionStore` on PostgreSQL; safe to share between tasks and between replicas.

    Construction is cheap and synchronous (no connection until first use); the schema is created
    and migrated on first use.
    """

    kind = "postgres"

    def __init__(self, url: str, settings: PostgresSettings | None = None) -> None:
        driver_url, url_schema = parse_postgres_url(url)
        super().__init__(redact_url(url))
        settings = settings or PostgresSettings()
        if url_schema and settings.schema == DEFAULT_SCHEMA:
            settings = replace(settings, schema=url_schema)
        if not _SCHEMA_RE.match(settings.schema):
            raise MemoryStoreError(
                f"postgres schema name {settings.schema!r} is invalid: use lowercase letters, digits and _"
            )
        self.settings = settings
        self.schema = settings.schema
        self._url = driver_url
        self._engines = LoopBound(self._make_engines, self._drop_engines)
        self._ready_loop: asyncio.AbstractEventLoop | None = None
        self._ready_lock: asyncio.Lock | None = None

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

    def _make_engines(self) -> _Engines:
        s = self.settings
        return _Engines(
            self._make_engine(s.pool_size, s.max_overflow), self._make_engine(s.lock_pool_size, s.lock_max_overflow)
        )

    @staticmethod
    def _drop_engines(engines: _Engines) -> None:
        engines.main.sync_engine.dispose(close=False)
        engines.locks.sync_engine.dispose(close=False)

    def _unavailable(self, op: str, exc: BaseException) -> StoreUnavailableError:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc) else type(exc).__name__
        return StoreUnavailableError(f"PostgreSQL at {self.location} is unavailable ({op}): {reason}")

    async def _ready(self) -> _Engines:
        """The running loop's engines, with the schema migrated once per loop."""
        self._check_open()
        engines = self._engines.get()
        loop = self._engines.loop
        if self._ready_loop is loop:
            return engines
        if self._ready_lock is None or self._ready_lock_loop is not loop:
            self._ready_lock, self._ready_lock_loop = asyncio.Lock(), loop
        async with self._ready_lock:
            if self._ready_loop is not loop:
                async with engines.main.begin() as conn:
                    await migrate_postgres(conn, self.schema)
                self._ready_loop = loop
        return engines

    _ready_lock_loop: asyncio.AbstractEventLoop | None = None

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
                engine = (await self._ready()).main
                if write and not single:
                    async with engine.begin() as conn:
                        return await fn(conn)
                async with engine.connect() as conn:
                    conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                    return await fn(conn)
            except (MemoryStoreError, asyncio.CancelledError):
                raise
            except Exception as exc:
                if not _is_unavailable(exc):
                    raise MemoryStoreError(f"PostgreSQL error during {op} at {self.location}: {exc}") from exc
                if attempt + 1 >= attempts:
                    raise self._unavailable(op, exc) from exc
        raise AssertionError("unreachable")

    def _key(self, key: ConversationKey) -> dict[str, Any]:
        return {"u": key.user, "s": key.session_id}

    async def _lock_session(self, conn: AsyncConnection, key: ConversationKey) -> bool:
        """Lock the conversation's registry row for this transaction; False if it has none.

        Every write that removes items takes this row first, as append does: one order of locks,
        so two writers of a conversation never deadlock."""
        locked = await conn.execute(
            _sql(f"SELECT 1 FROM {self.schema}.sessions WHERE user_id = :u AND session_id = :s FOR UPDATE"),
            self._key(key),
        )
        return locked.first() is not None

    # ---- items ----------------------------------------------------------------------------------

    async def _append_rows(
        self,
        key: ConversationKey,
        rows: list[Row],
        *,
        agent_id: str | None,
        title: str,
        now: float,
        created_at: float | None = None,
        settle: str | None = None,
    ) -> None:
        s = self.schema
        # ONE statement, atomic by itself. The upsert takes the session row's lock, and the items'
        # ids (nextval) are drawn only for rows joined with its result, i.e. after that lock is held:
        # concurrent appends from any process queue on the row and get their ids in commit order.
        insert = _sql(
            f"""WITH registry AS (
                  INSERT INTO {s}.sessions AS x (user_id, session_id, agent_id, title, created_at, updated_at,
                                                 item_count, last_position, recall_items, recall_length)
                  VALUES (:u, :s, :a, :t, :c, :now, :n, CAST(:np AS BIGINT), :ri, :rl)
                  ON CONFLICT (user_id, session_id) DO UPDATE SET
                    updated_at = GREATEST(x.updated_at, EXCLUDED.updated_at),
                    item_count = x.item_count + EXCLUDED.item_count,
                    last_position = x.last_position + EXCLUDED.last_position,
                    recall_items = x.recall_items + EXCLUDED.recall_items,
                    recall_length = x.recall_length + EXCLUDED.recall_length,
                    agent_id = COALESCE(x.agent_id, EXCLUDED.agent_id),
                    title = CASE WHEN x.title = '' THEN EXCLUDED.title ELSE x.title END
                  RETURNING x.last_position),
                batch AS MATERIALIZED (
                  SELECT r.ord, nextval('{s}.items_id_seq') AS id,
                         registry.last_position - CAST(:np AS BIGINT) + r.ord AS position,
                         r.agent, r.role, r.turn_start, r.tokens, r.created_at, r.data, r.terms_length
                  FROM registry,
                       unnest(CAST(:agents AS TEXT[]), CAST(:roles AS TEXT[]), CAST(:turns AS BOOLEAN[]),
                              CAST(:tokens AS INTEGER[]), CAST(:created AS DOUBLE PRECISION[]),
                              CAST(:datas AS TEXT[]), CAST(:lengths AS INTEGER[]))
                       WITH ORDINALITY AS r(agent, role, turn_start, tokens, created_at, data, terms_length, ord)),
                stored AS (
                  INSERT INTO {s}.items (id, user_id, session_id, agent, role, turn_start, tokens, created_at, data,
                                         terms_length, position)
                  SELECT id, :u, :s, agent, role, turn_start, tokens, created_at, data, terms_length, position
                  FROM batch ORDER BY ord)
                INSERT INTO {s}.recall_postings (user_id, session_id, term, position, tf, length)
                SELECT :u, :s, p.term, b.position, p.tf, b.terms_length
                FROM batch b
                JOIN unnest(CAST(:p_ords AS BIGINT[]), CAST(:p_terms AS TEXT[]), CAST(:p_tfs AS INTEGER[]))
                     AS p(ord, term, tf) ON p.ord = b.ord"""
        )
        postings = [(position + 1, term, tf) for position, row in enumerate(rows) for term, tf in row.terms.items()]
        params = {
            **self._key(key),
            "a": agent_id,
            "t": title,
            "c": now if created_at is None else created_at,
            "now": now,
            "n": len(rows),
            "np": len(rows),
            "ri": sum(1 for r in rows if r.terms),
            "rl": sum(r.terms_length for r in rows),
            "agents": [r.agent for r in rows],
            "roles": [r.role for r in rows],
            "turns": [r.turn_start for r in rows],
            "tokens": [r.tokens for r in rows],
            "created": [r.created_at for r in rows],
            "datas": [r.data for r in rows],
            "lengths": [r.terms_length for r in rows],
            "p_ords": [p[0] for p in postings],
            "p_terms": [p[1] for p in postings],
            "p_tfs": [p[2] for p in postings],
        }

        async def write(conn: AsyncConnection) -> None:
            if settle is not None:
                gone = await conn.execute(
                    _sql(f"DELETE FROM {s}.staged_turns WHERE user_id = :u AND session_id = :s AND turn_id = :t"),
                    {**self._key(key), "t": settle},
                )
                if not gone.rowcount:
                    raise StaleTurnError(f"The interrupted turn of session {key.session_id!r} was already stored")
            await conn.execute(insert, params)

        await self._run("append", write, write=True, single=settle is None)

    async def _stage(self, key: ConversationKey, turn_id: str, items: list[dict[str, Any]]) -> None:
        s = self.schema

        async def write(conn: AsyncConnection) -> None:
            await conn.execute(
                _sql(
                    f"""INSERT INTO {s}.staged_turns (user_id, session_id, turn_id, created_at, data)
                        VALUES (:u, :s, :t, extract(epoch FROM clock_timestamp()), :d)
                        ON CONFLICT (user_id, session_id, turn_id) DO UPDATE SET data = EXCLUDED.data"""
                ),
                {**self._key(key), "t": turn_id, "d": "[" + ",".join(item_json(i) for i in items) + "]"},
            )

        await self._run("stage", write, write=True, single=True)

    async def _staged(self, key: ConversationKey) -> list[StagedTurn]:
        s = self.schema

        async def read(conn: AsyncConnection) -> list[StagedTurn]:
            result = await conn.execute(
                _sql(
                    f"""SELECT turn_id, data FROM {s}.staged_turns WHERE user_id = :u AND session_id = :s
                        ORDER BY created_at, turn_id"""
                ),
                self._key(key),
            )
            return [StagedTurn(r[0], json.loads(r[1])) for r in result.all()]

        return await self._run("staged", read, write=False)

    async def _discard(self, key: ConversationKey, turn_id: str) -> None:
        s = self.schema

        async def delete(conn: AsyncConnection) -> None:
            await conn.execute(
                _sql(f"DELETE FROM {s}.staged_turns WHERE user_id = :u AND session_id = :s AND turn_id = :t"),
                {**self._key(key), "t": turn_id},
            )

        await self._run("discard", delete, write=True, single=True)

    async def _tail(self, key: ConversationKey, count: int) -> list[WindowRow]:
        s = self.schema

        async def tail(conn: AsyncConnection) -> list[WindowRow]:
            result = await conn.execute(
                _sql(
                    f"""SELECT data, tokens, turn_start FROM {s}.items
                        WHERE user_id = :u AND session_id = :s ORDER BY id DESC LIMIT :n"""
                ),
                {**self._key(key), "n": count},
            )
            return [WindowRow(json.loads(r[0]), r[1], r[2]) for r in reversed(result.all())]

        return await self._run("window", tail, write=False)

    async def _read(self, key: ConversationKey, after_seq: int, limit: int | None) -> list[StoredItem]:
        s = self.schema

        async def read(conn: AsyncConnection) -> list[StoredItem]:
            sql = f"""SELECT id, data, agent, role, created_at FROM {s}.items
                      WHERE user_id = :u AND session_id = :s AND id > :after ORDER BY id"""
            params: dict[str, Any] = {**self._key(key), "after": after_seq}
            if limit is not None:
                sql += " LIMIT :n"
                params["n"] = limit
            return [_stored_item(r) for r in (await conn.execute(_sql(sql), params)).all()]

        return await self._run("read", read, write=False)

    async def _read_before(self, key: ConversationKey, before_seq: int, limit: int) -> list[StoredItem]:
        s = self.schema

        async def read(conn: AsyncConnection) -> list[StoredItem]:
            rows = await conn.execute(
                _sql(
                    f"""SELECT id, data, agent, role, created_at FROM {s}.items
                        WHERE user_id = :u AND session_id = :s AND id < :before ORDER BY id DESC LIMIT :n"""
                ),
                {**self._key(key), "before": before_seq, "n": limit},
            )
            return [_stored_item(r) for r in rows.all()]

        return await self._run("read", read, write=False)

    async def _frequencies(self, key: ConversationKey, terms: list[str]) -> tuple[dict[str, int], CorpusStats]:
        s = self.schema

        async def read(conn: AsyncConnection) -> tuple[dict[str, int], CorpusStats]:
            rows = await conn.execute(
                _sql(
                    f"""SELECT term, count(*) FROM {s}.recall_postings
                        WHERE user_id = :u AND session_id = :s AND term = ANY(CAST(:t AS TEXT[])) GROUP BY term"""
                ),
                {**self._key(key), "t": terms},
            )
            counts = {r[0]: int(r[1]) for r in rows.all()}
            stats = (
                await conn.execute(
                    _sql(
                        f"SELECT recall_items, recall_length FROM {s}.sessions WHERE user_id = :u AND session_id = :s"
                    ),
                    self._key(key),
                )
            ).first()
            return counts, CorpusStats(int(stats[0]), int(stats[1])) if stats else CorpusStats(0, 0)

        return await self._run("recall", read, write=False)

    async def _postings(
        self, key: ConversationKey, terms: list[str], positions: list[int] | None = None
    ) -> list[Posting]:
        s = self.schema

        async def read(conn: AsyncConnection) -> list[Posting]:
            sql = f"""SELECT term, position, tf, length FROM {s}.recall_postings
                      WHERE user_id = :u AND session_id = :s AND term = ANY(CAST(:t AS TEXT[]))"""
            params: dict[str, Any] = {**self._key(key), "t": terms}
            if positions is not None:
                sql += " AND position = ANY(CAST(:p AS BIGINT[]))"
                params["p"] = positions
            return [Posting(r[1], r[0], r[2], r[3]) for r in (await conn.execute(_sql(sql), params)).all()]

        return await self._run("recall", read, write=False)

    async def _items_at(self, key: ConversationKey, positions: list[int]) -> dict[int, StoredItem]:
        s = self.schema

        async def read(conn: AsyncConnection) -> dict[int, StoredItem]:
            rows = await conn.execute(
                _sql(
                    f"""SELECT position, id, data, agent, role, created_at FROM {s}.items
                        WHERE user_id = :u AND session_id = :s AND position = ANY(CAST(:p AS BIGINT[]))"""
                ),
                {**self._key(key), "p": positions},
            )
            return {
                r[0]: StoredItem(seq=r[1], item=json.loads(r[2]), agent=r[3], role=r[4], created_at=r[5]) for r in rows
            }

        return await self._run("recall", read, write=False)

    async def _pop(self, key: ConversationKey, now: float) -> dict[str, Any] | None:
        s = self.schema

        async def pop(conn: AsyncConnection) -> dict[str, Any] | None:
            if not await self._lock_session(conn, key):
                return None
            row = (
                await conn.execute(
                    _sql(
                        f"""DELETE FROM {s}.items WHERE id = (
                              SELECT id FROM {s}.items WHERE user_id = :u AND session_id = :s
                              ORDER BY id DESC LIMIT 1)
                            RETURNING position, data, terms_length"""
                    ),
                    self._key(key),
                )
            ).first()
            if row is None:
                return None
            position, data, length = row
            await conn.execute(
                _sql(f"DELETE FROM {s}.recall_postings WHERE user_id = :u AND session_id = :s AND position = :p"),
                {**self._key(key), "p": position},
            )
            await conn.execute(  # the next append takes the popped item's position again: no gap
                _sql(
                    f"""UPDATE {s}.sessions SET item_count = GREATEST(item_count - 1, 0),
                          updated_at = GREATEST(updated_at, :now),
                          recall_items = GREATEST(recall_items - :ri, 0),
                          recall_length = GREATEST(recall_length - :rl, 0),
                          last_position = :p - 1
                        WHERE user_id = :u AND session_id = :s"""
                ),
                {**self._key(key), "now": now, "ri": int(length > 0), "rl": length, "p": position},
            )
            return json.loads(data)

        return await self._run("pop", pop, write=True)

    async def _remove_items(self, key: ConversationKey, seqs: list[int], now: float) -> int:
        s = self.schema

        async def remove(conn: AsyncConnection) -> int:
            if not await self._lock_session(conn, key):
                return 0
            removed = (
                await conn.execute(
                    _sql(
                        f"""DELETE FROM {s}.items WHERE user_id = :u AND session_id = :s
                              AND id = ANY(CAST(:ids AS BIGINT[]))
                            RETURNING position, terms_length"""
                    ),
                    {**self._key(key), "ids": seqs},
                )
            ).all()
            if not removed:
                return 0
            await conn.execute(
                _sql(
                    f"""DELETE FROM {s}.recall_postings
                        WHERE user_id = :u AND session_id = :s AND position = ANY(CAST(:p AS BIGINT[]))"""
                ),
                {**self._key(key), "p": [position for position, _ in removed]},
            )
            await conn.execute(
                _sql(
                    f"""UPDATE {s}.sessions SET item_count = GREATEST(item_count - :n, 0),
                          updated_at = GREATEST(updated_at, :now),
                          recall_items = GREATEST(recall_items - :ri, 0),
                          recall_length = GREATEST(recall_length - :rl, 0)
                        WHERE user_id = :u AND session_id = :s"""
                ),
                {**self._key(key), "n": len(removed), "now": now, "ri": sum(1 for _, n in removed if n > 0),
                 "rl": sum(n for _, n in removed)},
            )
            return len(removed)

        return await self._run("delete_item", remove, write=True)

    async def _clear(self, key: ConversationKey, now: float) -> None:
        s = self.schema

        async def clear(conn: AsyncConnection) -> None:
            await conn.execute(
                _sql(
                    f"""UPDATE {s}.sessions SET item_count = 0, updated_at = GREATEST(updated_at, :now),
                          recall_items = 0, recall_length = 0 WHERE user_id = :u AND session_id = :s"""
                ),
                {**self._key(key), "now": now},
            )
            for table in ("items", "staged_turns", "recall_postings"):
                await conn.execute(
                    _sql(f"DELETE FROM {s}.{table} WHERE user_id = :u AND session_id = :s"), self._key(key)
                )

        await self._run("clear", clear, write=True)

    # ---- registry -------------------------------------------------------------------------------

    _COLUMNS = "user_id, session_id, agent_id, title, created_at, updated_at, item_count"

    async def _info(self, key: ConversationKey) -> SessionInfo | None:
        s = self.schema

        async def info(conn: AsyncConnection) -> SessionInfo | None:
            row = (
                await conn.execute(
                    _sql(f"SELECT {self._COLUMNS} FROM {s}.sessions WHERE user_id = :u AND session_id = :s"),
                    self._key(key),
                )
            ).first()
            return SessionInfo(*row) if row else None

        return await self._run("info", info, write=False)

    async def _page_sessions(self, user: str, after: tuple[float, str] | None, count: int) -> list[SessionInfo]:
        s = self.schema

        async def page(conn: AsyncConnection) -> list[SessionInfo]:
            sql = f"SELECT {self._COLUMNS} FROM {s}.sessions WHERE user_id = :u"
            params: dict[str, Any] = {"u": user, "n": count}
            if after is not None:
                sql += " AND (updated_at, session_id) < (:cu, :cs)"
                params.update(cu=after[0], cs=after[1])
            sql += " ORDER BY updated_at DESC, session_id DESC LIMIT :n"
            return [SessionInfo(*r) for r in (await conn.execute(_sql(sql), params)).all()]

        return await self._run("list_sessions", page, write=False)

    async def _list_users(self) -> list[str]:
        async def users(conn: AsyncConnection) -> list[str]:
            result = await conn.execute(_sql(f"SELECT DISTINCT user_id FROM {self.schema}.sessions ORDER BY user_id"))
            return [r[0] for r in result.all()]

        return await self._run("list_users", users, write=False)

    async def _delete(self, key: ConversationKey) -> bool:
        s = self.schema

        async def delete(conn: AsyncConnection) -> bool:
            gone = 0
            for table in ("sessions", "items", "staged_turns", "recall_postings"):
                result = await conn.execute(
                    _sql(f"DELETE FROM {s}.{table} WHERE user_id = :u AND session_id = :s"), self._key(key)
                )
                gone += result.rowcount
            return bool(gone)

        return await self._run("delete", delete, write=True)

    async def _delete_user(self, user: str) -> int:
        s = self.schema

        async def delete_user(conn: AsyncConnection) -> int:
            gone = await conn.execute(_sql(f"DELETE FROM {s}.sessions WHERE user_id = :u"), {"u": user})
            await conn.execute(_sql(f"DELETE FROM {s}.items WHERE user_id = :u"), {"u": user})
            await conn.execute(_sql(f"DELETE FROM {s}.staged_turns WHERE user_id = :u"), {"u": user})
            await conn.execute(_sql(f"DELETE FROM {s}.recall_postings WHERE user_id = :u"), {"u": user})
            return gone.rowcount

        return await self._run("delete_user", delete_user, write=True)

    # ---- retention ------------------------------------------------------------------------------

    async def _expire(self, cut: float) -> tuple[int, int]:
        s = self.schema

        async def expire(conn: AsyncConnection) -> tuple[int, int]:
            gone = await conn.execute(
                _sql(f"DELETE FROM {s}.sessions WHERE updated_at < :cut RETURNING user_id, session_id"), {"cut": cut}
            )
            keys = gone.all()
            await conn.execute(_sql(f"DELETE FROM {s}.staged_turns WHERE created_at < :cut"), {"cut": cut})
            if not keys:
                return 0, 0
            pairs = {"us": [k[0] for k in keys], "ss": [k[1] for k in keys]}
            for table in ("staged_turns", "recall_postings"):
                await conn.execute(
                    _sql(
                        f"""DELETE FROM {s}.{table} t USING unnest(CAST(:us AS TEXT[]), CAST(:ss AS TEXT[])) AS g(u, s)
                            WHERE t.user_id = g.u AND t.session_id = g.s"""
                    ),
                    pairs,
                )
            items = await conn.execute(
                _sql(
                    f"""DELETE FROM {s}.items i USING unnest(CAST(:us AS TEXT[]), CAST(:ss AS TEXT[])) AS g(u, s)
                        WHERE i.user_id = g.u AND i.session_id = g.s"""
                ),
                pairs,
            )
            return len(keys), items.rowcount

        return await self._run("prune", expire, write=True)

    async def _over_limit(self, max_items: int) -> list[ConversationKey]:
        async def over(conn: AsyncConnection) -> list[ConversationKey]:
            rows = await conn.execute(
                _sql(f"SELECT user_id, session_id FROM {self.schema}.sessions WHERE item_count > :m"), {"m": max_items}
            )
            return [ConversationKey(r[0], r[1]) for r in rows.all()]

        return await self._run("prune", over, write=False)

    async def _tail_flags(self, key: ConversationKey, count: int) -> list[tuple[int, bool]]:
        async def tail(conn: AsyncConnection) -> list[tuple[int, bool]]:
            rows = await conn.execute(
                _sql(
                    f"""SELECT id, turn_start FROM {self.schema}.items WHERE user_id = :u AND session_id = :s
                        ORDER BY id DESC LIMIT :m"""
                ),
                {**self._key(key), "m": count},
            )
            return [(r[0], bool(r[1])) for r in rows.all()]

        return await self._run("prune", tail, write=False)

    async def _last_turn_start(self, key: ConversationKey) -> int | None:
        async def last(conn: AsyncConnection) -> int | None:
            result = await conn.execute(
                _sql(
                    f"""SELECT max(id) FROM {self.schema}.items
                        WHERE user_id = :u AND session_id = :s AND turn_start"""
                ),
                self._key(key),
            )
            return result.scalar()

        return await self._run("prune", last, write=False)

    async def _remove_before(self, key: ConversationKey, seq: int) -> int:
        s = self.schema

        async def remove(conn: AsyncConnection) -> int:
            if not await self._lock_session(conn, key):
                return 0
            removed = (
                await conn.execute(
                    _sql(
                        f"""WITH gone AS (DELETE FROM {s}.items WHERE user_id = :u AND session_id = :s AND id < :k
                                          RETURNING terms_length)
                            SELECT count(*), count(*) FILTER (WHERE terms_length > 0), coalesce(sum(terms_length), 0)
                            FROM gone"""
                    ),
                    {**self._key(key), "k": seq},
                )
            ).one()
            await conn.execute(
                _sql(
                    f"""DELETE FROM {s}.recall_postings WHERE user_id = :u AND session_id = :s AND position < (
                          SELECT coalesce(min(position), 0) FROM {s}.items WHERE user_id = :u AND session_id = :s)"""
                ),
                self._key(key),
            )
            await conn.execute(
                _sql(
                    f"""UPDATE {s}.sessions SET item_count = GREATEST(item_count - :r, 0),
                          recall_items = GREATEST(recall_items - :ri, 0),
                          recall_length = GREATEST(recall_length - :rl, 0)
                        WHERE user_id = :u AND session_id = :s"""
                ),
                {**self._key(key), "r": removed[0], "ri": removed[1], "rl": removed[2]},
            )
            return int(removed[0])

        return await self._run("prune", remove, write=True)

    # ---- turns and lifetime ---------------------------------------------------------------------

    async def _acquire_turn(self, key: ConversationKey, wait: bool) -> tuple[AsyncConnection, int]:
        """An advisory lock on a dedicated connection: it dies with the connection, so a crashed
        replica never leaves a conversation locked."""
        engines = await self._ready()
        lock_key = advisory_key(f"{self.schema}\0{key.user}\0{key.session_id}")
        try:
            conn = await engines.locks.connect()
        except Exception as exc:
            if _is_unavailable(exc):
                raise self._unavailable("lock", exc) from exc
            raise
        try:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            if wait:
                await conn.execute(_sql("SELECT pg_advisory_lock(:k)"), {"k": lock_key})
            elif not (await conn.execute(_sql("SELECT pg_try_advisory_lock(:k)"), {"k": lock_key})).scalar():
                with suppress(Exception):
                    await conn.close()
                raise busy_error(key)
        except BaseException as exc:
            if isinstance(exc, MemoryStoreError) and not isinstance(exc, StoreUnavailableError):
                raise
            # unknown lock state (cancelled mid-acquire, connection lost): drop the connection so the
            # server releases whatever it holds instead of pooling it
            with suppress(Exception):
                await conn.invalidate()
            with suppress(Exception):
                await conn.close()
            if isinstance(exc, Exception) and _is_unavailable(exc):
                raise self._unavailable("lock", exc) from exc
            raise
        return conn, lock_key

    async def _release_turn(self, key: ConversationKey, handle: tuple[AsyncConnection, int]) -> None:
        conn, lock_key = handle
        try:
            await conn.execute(_sql("SELECT pg_advisory_unlock(:k)"), {"k": lock_key})
        except BaseException:  # the lock dies with the connection below
            with suppress(Exception):
                await conn.invalidate()
        with suppress(Exception):
            await conn.close()

    async def _close(self) -> None:
        engines = self._engines.take()
        self._ready_loop = None
        if engines is not None:
            await engines.main.dispose()
            await engines.locks.dispose()

    async def drop_schema(self) -> None:
        """Remove every table of this store's schema (tests and decommissioning only)."""
        engines = self._engines.get()
        try:
            async with engines.main.begin() as conn:
                await conn.execute(text(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE"))
        except Exception as exc:
            if _is_unavailable(exc):
                raise self._unavailable("drop_schema", exc) from exc
            raise
        self._ready_loop = None
