"""SessionStore on SQLite (stdlib sqlite3): a private in-memory database or a file.

One connection per store. Each operation runs in a worker thread (`asyncio.to_thread`) so disk
I/O and lock waits never block the event loop, under a thread lock that serialises use of the
connection. Files use WAL, synchronous=NORMAL and a 30 s busy timeout, and every write is one
BEGIN IMMEDIATE transaction, so several processes (CLI and server) can share a file without
"database is locked" errors. Nothing is cached in memory: another process's writes are always seen.
The window query reads only the conversation's tail through the (user, session_id, id) index.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

from asdrp.memory.errors import StoreUnavailableError
from asdrp.memory.ids import validate_user
from asdrp.memory.items import item_role, serialize_items, title_from
from asdrp.memory.locks import KeyedLocks
from asdrp.memory.migrations import migrate_sqlite
from asdrp.memory.paging import decode_cursor, encode_cursor
from asdrp.memory.records import ConversationKey, SessionInfo, StoredItem, WindowSettings
from asdrp.memory.window import WindowRow, estimate_tokens, is_turn_start, select_window

T = TypeVar("T")
BUSY_TIMEOUT_MS = 30_000
_SESSION_COLUMNS = "user, session_id, agent_id, title, created_at, updated_at, item_count"


class SqliteStore:
    """Conversations in one SQLite database; `path=None` is a private in-memory database."""

    kind = "sqlite"

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._where = str(path) if path is not None else ":memory:"
        self._guard = threading.Lock()
        self._turns = KeyedLocks()
        try:
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            self._db: sqlite3.Connection | None = sqlite3.connect(
                self._where, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000
            )
            if path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            migrate_sqlite(self._db)
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailableError(f"Cannot open SQLite session database {self._where!r}: {exc}") from exc

    def __repr__(self) -> str:
        return f"SqliteStore({self._where!r})"

    # --- plumbing --------------------------------------------------------------------------

    async def _run(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.to_thread(self._run_sync, operation)

    def _run_sync(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        with self._guard:
            if self._db is None:
                raise StoreUnavailableError(f"The SQLite session store {self._where!r} is closed")
            try:
                return operation(self._db)
            except sqlite3.Error as exc:
                raise StoreUnavailableError(f"SQLite session database {self._where!r} failed: {exc}") from exc

    @staticmethod
    @contextmanager
    def _write(db: sqlite3.Connection) -> Iterator[None]:
        """One IMMEDIATE transaction: take the write lock up front so it can never deadlock mid-way."""
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # --- items -----------------------------------------------------------------------------

    async def append(
        self,
        key: ConversationKey,
        items: Sequence[dict[str, Any]],
        *,
        agent: str | None,
        agent_id: str | None = None,
    ) -> None:
        items = list(items)
        if not items:
            return
        texts = serialize_items(key, items)  # may raise InvalidItemError: nothing written yet
        title = title_from(items)
        facts = [(item_role(item), int(is_turn_start(item)), estimate_tokens(item)) for item in items]

        def write(db: sqlite3.Connection) -> None:
            now = time.time()
            rows = [
                (key.user, key.session_id, agent, role, turn_start, tokens, now, text)
                for (role, turn_start, tokens), text in zip(facts, texts)
            ]
            with self._write(db):
                db.execute(
                    "INSERT INTO sessions (user, session_id, agent_id, title, created_at, updated_at, item_count) "
                    "VALUES (?, ?, ?, '', ?, ?, 0) ON CONFLICT (user, session_id) DO NOTHING",
                    (key.user, key.session_id, agent_id, now, now),
                )
                db.executemany(
                    "INSERT INTO items (user, session_id, agent, role, turn_start, tokens, created_at, data) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
                db.execute(
                    "UPDATE sessions SET updated_at = ?, item_count = item_count + ?, "
                    "title = CASE WHEN title = '' THEN ? ELSE title END, agent_id = COALESCE(agent_id, ?) "
                    "WHERE user = ? AND session_id = ?",
                    (now, len(rows), title, agent_id, key.user, key.session_id),
                )

        await self._run(write)

    async def window(self, key: ConversationKey, settings: WindowSettings) -> list[dict[str, Any]]:
        def tail(db: sqlite3.Connection) -> list[tuple[str, int, int]]:
            return db.execute(
                "SELECT data, tokens, turn_start FROM items WHERE user = ? AND session_id = ? "
                "ORDER BY id DESC LIMIT ?",
                (key.user, key.session_id, settings.max_items),
            ).fetchall()

        rows = await self._run(tail)
        rows.reverse()
        return select_window([WindowRow(json.loads(data), tokens, bool(start)) for data, tokens, start in rows], settings)

    async def read(self, key: ConversationKey, *, after_seq: int = 0, limit: int | None = None) -> list[StoredItem]:
        def page(db: sqlite3.Connection) -> list[tuple[int, str, str | None, str, float]]:
            return db.execute(
                "SELECT id, data, agent, role, created_at FROM items "
                "WHERE user = ? AND session_id = ? AND id > ? ORDER BY id LIMIT ?",
                (key.user, key.session_id, after_seq, -1 if limit is None else limit),
            ).fetchall()

        return [
            StoredItem(seq=seq, item=json.loads(data), agent=agent, role=role, created_at=created)
            for seq, data, agent, role, created in await self._run(page)
        ]

    async def pop(self, key: ConversationKey) -> dict[str, Any] | None:
        def pop_newest(db: sqlite3.Connection) -> str | None:
            with self._write(db):
                row = db.execute(
                    "SELECT id, data FROM items WHERE user = ? AND session_id = ? ORDER BY id DESC LIMIT 1",
                    (key.user, key.session_id),
                ).fetchone()
                if row is None:
                    return None
                db.execute("DELETE FROM items WHERE id = ?", (row[0],))
                db.execute(
                    "UPDATE sessions SET item_count = MAX(item_count - 1, 0), updated_at = ? "
                    "WHERE user = ? AND session_id = ?",
                    (time.time(), key.user, key.session_id),
                )
                return row[1]

        data = await self._run(pop_newest)
        return None if data is None else json.loads(data)

    async def clear(self, key: ConversationKey) -> None:
        def clear_items(db: sqlite3.Connection) -> None:
            with self._write(db):
                db.execute("DELETE FROM items WHERE user = ? AND session_id = ?", (key.user, key.session_id))
                db.execute(
                    "UPDATE sessions SET item_count = 0, updated_at = ? WHERE user = ? AND session_id = ?",
                    (time.time(), key.user, key.session_id),
                )

        await self._run(clear_items)

    # --- registry --------------------------------------------------------------------------

    async def info(self, key: ConversationKey) -> SessionInfo | None:
        def row(db: sqlite3.Connection) -> tuple[Any, ...] | None:
            return db.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE user = ? AND session_id = ?",
                (key.user, key.session_id),
            ).fetchone()

        found = await self._run(row)
        return None if found is None else SessionInfo(*found)

    async def list_sessions(
        self, user: str, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[SessionInfo], str | None]:
        validate_user(user)
        if limit < 1:
            raise ValueError(f"list_sessions limit must be at least 1, got {limit}")
        after = decode_cursor(cursor) if cursor else None

        def page(db: sqlite3.Connection) -> list[tuple[Any, ...]]:
            if after is None:
                return db.execute(
                    f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE user = ? "
                    "ORDER BY updated_at DESC, session_id DESC LIMIT ?",
                    (user, limit + 1),
                ).fetchall()
            return db.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE user = ? AND (updated_at, session_id) < (?, ?) "
                "ORDER BY updated_at DESC, session_id DESC LIMIT ?",
                (user, after[0], after[1], limit + 1),
            ).fetchall()

        rows = [SessionInfo(*row) for row in await self._run(page)]
        if len(rows) <= limit:
            return rows, None
        rows = rows[:limit]
        return rows, encode_cursor(rows[-1].updated_at, rows[-1].session_id)

    async def delete(self, key: ConversationKey) -> bool:
        def delete_conversation(db: sqlite3.Connection) -> bool:
            with self._write(db):
                items = db.execute(
                    "DELETE FROM items WHERE user = ? AND session_id = ?", (key.user, key.session_id)
                ).rowcount
                rows = db.execute(
                    "DELETE FROM sessions WHERE user = ? AND session_id = ?", (key.user, key.session_id)
                ).rowcount
            return bool(items or rows)

        return await self._run(delete_conversation)

    async def delete_user(self, user: str) -> int:
        validate_user(user)

        def delete_all(db: sqlite3.Connection) -> int:
            with self._write(db):
                db.execute("DELETE FROM items WHERE user = ?", (user,))
                return db.execute("DELETE FROM sessions WHERE user = ?", (user,)).rowcount

        return await self._run(delete_all)

    # --- turns and lifetime ----------------------------------------------------------------

    def lock(self, key: ConversationKey, *, wait: bool = True) -> AbstractAsyncContextManager[None]:
        """Serialise turns on `key` within this process (across processes, use a shared store)."""
        return self._turns.hold(key, wait=wait)

    async def close(self) -> None:
        await asyncio.to_thread(self.close_now)

    def close_now(self) -> None:
        """Close synchronously (for sync callers such as a factory's cache reset); idempotent."""
        with self._guard:
            if self._db is not None:
                self._db.close()
                self._db = None
