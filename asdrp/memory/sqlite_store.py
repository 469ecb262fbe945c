"""SessionStore on SQLite (stdlib sqlite3): a private in-memory database or a file.

One connection per store, used under a thread lock. Files use WAL, synchronous=NORMAL and a 30 s
busy timeout, and every write is one BEGIN IMMEDIATE transaction, so several processes (CLI and
server) can share a file without "database is locked" errors. Nothing is cached in memory:
another process's writes are always seen. The window query reads only the conversation's tail
through the (user, session_id, id) index.

Blocking work never runs on the event loop, but a thread hop (~0.1 ms here) costs more than a
bounded operation itself, so each operation is first tried inline *without any waiting*: the
connection lock is taken non-blockingly and SQLite's busy timeout is 0 on that path. If the
connection is in use, another process holds the write lock, or the operation is unbounded (a whole
history, a user's deletion, a large batch), it runs in a worker thread (`asyncio.to_thread`) with
the 30 s busy timeout instead. A failed inline attempt has rolled back, so the retry is safe.
WAL checkpoints (which fsync) are likewise done in the worker thread, never inside an inline commit.
A threading lock rather than an asyncio.Lock guards the connection so one store can serve several
event loops in turn (the CLI runs asyncio.run more than once).
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
from asdrp.memory.retention import PruneResult, keep_from_for_max_items
from asdrp.memory.window import WindowRow, is_turn_start, select_window

T = TypeVar("T")
BUSY_TIMEOUT_MS = 30_000
INLINE_MAX_ITEMS = 256
"""Batches and pages up to this size may run inline; bigger ones always go to a worker thread."""
CHECKPOINT_EVERY_WRITES = 128
"""Every this many writes, one is done in the worker thread followed by a PASSIVE WAL checkpoint."""
_BUSY_CODES = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED


class _Busy(Exception):
    """An inline attempt would have had to wait; retry in the worker thread."""


def _decode_array(texts: Sequence[str]) -> list[Any]:
    """Decode many JSON documents at once: one parse of a JSON array is ~3x faster than one per item."""
    return json.loads("[" + ",".join(texts) + "]") if texts else []
_SESSION_COLUMNS = "user, session_id, agent_id, title, created_at, updated_at, item_count"


class SqliteStore:
    """Conversations in one SQLite database; `path=None` is a private in-memory database."""

    kind = "sqlite"

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._where = str(path) if path is not None else ":memory:"
        self._guard = threading.Lock()
        self._turns = KeyedLocks()
        self._writes = 0
        try:
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            self._db: sqlite3.Connection | None = sqlite3.connect(
                self._where, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000
            )
            if path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.execute("PRAGMA mmap_size=268435456")  # reads via mmap: fewer syscalls per turn
                self._db.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints happen off-loop, see _run_write
            self._db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            migrate_sqlite(self._db)
            self._db.execute("PRAGMA busy_timeout=0")  # the inline path never waits; _run_waiting raises it
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailableError(f"Cannot open SQLite session database {self._where!r}: {exc}") from exc

    def __repr__(self) -> str:
        return f"SqliteStore({self._where!r})"

    # --- plumbing --------------------------------------------------------------------------

    async def _run(self, operation: Callable[[sqlite3.Connection], T], *, inline: bool = True) -> T:
        """Run `operation` inline if that cannot wait on anything, else in a worker thread."""
        if inline and self._guard.acquire(blocking=False):
            try:
                return self._call(operation)
            except _Busy:
                pass
            finally:
                self._guard.release()
        return await asyncio.to_thread(self._run_waiting, operation)

    def _run_waiting(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        with self._guard:
            db = self._open_db()
            db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            try:
                return self._call(operation, waiting=True)
            finally:
                if self._db is not None:
                    self._db.execute("PRAGMA busy_timeout=0")

    def _open_db(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreUnavailableError(f"The SQLite session store {self._where!r} is closed")
        return self._db

    def _call(self, operation: Callable[[sqlite3.Connection], T], *, waiting: bool = False) -> T:
        db = self._open_db()
        try:
            return operation(db)
        except sqlite3.OperationalError as exc:
            busy = getattr(exc, "sqlite_errorcode", None) in _BUSY_CODES or "locked" in str(exc)
            if busy and not waiting:
                raise _Busy from exc
            raise StoreUnavailableError(f"SQLite session database {self._where!r} failed: {exc}") from exc
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"SQLite session database {self._where!r} failed: {exc}") from exc

    async def _run_write(self, operation: Callable[[sqlite3.Connection], T], *, inline: bool = True) -> T:
        """Like `_run`, but every CHECKPOINT_EVERY_WRITES-th write, and every write too big to run
        inline, also checkpoints the WAL off-loop (a big WAL slows every later read)."""
        self._writes += 1
        if self.path is None or (inline and self._writes % CHECKPOINT_EVERY_WRITES):
            return await self._run(operation, inline=inline)

        def write_and_checkpoint(db: sqlite3.Connection) -> T:
            result = operation(db)
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            return result

        return await self._run(write_and_checkpoint, inline=False)

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
        # the token estimate is len(compact JSON) // 4, and `texts` already is that JSON
        facts = [(item_role(item), int(is_turn_start(item)), max(1, len(text) // 4)) for item, text in zip(items, texts)]

        def write(db: sqlite3.Connection) -> None:
            now = time.time()
            rows = [
                (key.user, key.session_id, agent, role, turn_start, tokens, now, text)
                for (role, turn_start, tokens), text in zip(facts, texts)
            ]
            with self._write(db):
                updated = db.execute(
                    "UPDATE sessions SET updated_at = ?, item_count = item_count + ?, "
                    "title = CASE WHEN title = '' THEN ? ELSE title END, agent_id = COALESCE(agent_id, ?) "
                    "WHERE user = ? AND session_id = ?",
                    (now, len(rows), title, agent_id, key.user, key.session_id),
                ).rowcount
                if not updated:  # first write of this conversation: create its registry row
                    db.execute(
                        "INSERT INTO sessions (user, session_id, agent_id, title, created_at, updated_at, item_count) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (key.user, key.session_id, agent_id, title, now, now, len(rows)),
                    )
                db.executemany(
                    "INSERT INTO items (user, session_id, agent, role, turn_start, tokens, created_at, data) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )

        await self._run_write(write, inline=len(items) <= INLINE_MAX_ITEMS)

    async def window(self, key: ConversationKey, settings: WindowSettings) -> list[dict[str, Any]]:
        def tail(db: sqlite3.Connection) -> list[tuple[str, int, int]]:
            return db.execute(
                "SELECT data, tokens, turn_start FROM items WHERE user = ? AND session_id = ? "
                "ORDER BY id DESC LIMIT ?",
                (key.user, key.session_id, settings.max_items),
            ).fetchall()

        rows = await self._run(tail, inline=settings.max_items <= INLINE_MAX_ITEMS)
        rows.reverse()
        items = _decode_array([row[0] for row in rows])
        return select_window([WindowRow(item, row[1], bool(row[2])) for item, row in zip(items, rows)], settings)

    async def read(self, key: ConversationKey, *, after_seq: int = 0, limit: int | None = None) -> list[StoredItem]:
        def page(db: sqlite3.Connection) -> list[tuple[int, str, str | None, str, float]]:
            return db.execute(
                "SELECT id, data, agent, role, created_at FROM items "
                "WHERE user = ? AND session_id = ? AND id > ? ORDER BY id LIMIT ?",
                (key.user, key.session_id, after_seq, -1 if limit is None else limit),
            ).fetchall()

        rows = await self._run(page, inline=limit is not None and limit <= INLINE_MAX_ITEMS)
        items = _decode_array([row[1] for row in rows])
        return [
            StoredItem(seq=seq, item=item, agent=agent, role=role, created_at=created)
            for item, (seq, _, agent, role, created) in zip(items, rows)
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

        data = await self._run_write(pop_newest)
        return None if data is None else json.loads(data)

    async def clear(self, key: ConversationKey) -> None:
        def clear_items(db: sqlite3.Connection) -> None:
            with self._write(db):
                db.execute("DELETE FROM items WHERE user = ? AND session_id = ?", (key.user, key.session_id))
                db.execute(
                    "UPDATE sessions SET item_count = 0, updated_at = ? WHERE user = ? AND session_id = ?",
                    (time.time(), key.user, key.session_id),
                )

        await self._run_write(clear_items, inline=False)

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

        rows = [SessionInfo(*row) for row in await self._run(page, inline=limit <= INLINE_MAX_ITEMS)]
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

        return await self._run_write(delete_conversation, inline=False)

    async def delete_user(self, user: str) -> int:
        validate_user(user)

        def delete_all(db: sqlite3.Connection) -> int:
            with self._write(db):
                db.execute("DELETE FROM items WHERE user = ?", (user,))
                return db.execute("DELETE FROM sessions WHERE user = ?", (user,)).rowcount

        return await self._run_write(delete_all, inline=False)

    # --- retention and transfer ------------------------------------------------------------

    async def list_users(self) -> list[str]:
        """Every user with at least one conversation (for export and retention sweeps)."""

        def users(db: sqlite3.Connection) -> list[str]:
            return [row[0] for row in db.execute("SELECT DISTINCT user FROM sessions ORDER BY user")]

        return await self._run(users, inline=False)

    async def prune(
        self, *, max_age_seconds: float | None = None, max_items: int | None = None, now: float | None = None
    ) -> PruneResult:
        """Apply retention (see asdrp.memory.retention): expire idle conversations, trim long ones by whole turns."""
        cut = None if max_age_seconds is None else (time.time() if now is None else now) - max_age_seconds

        def apply(db: sqlite3.Connection) -> PruneResult:
            result = PruneResult()
            with self._write(db):
                if cut is not None:
                    old = db.execute("SELECT user, session_id FROM sessions WHERE updated_at < ?", (cut,)).fetchall()
                    for user, session_id in old:
                        result.items_removed += db.execute(
                            "DELETE FROM items WHERE user = ? AND session_id = ?", (user, session_id)
                        ).rowcount
                        db.execute("DELETE FROM sessions WHERE user = ? AND session_id = ?", (user, session_id))
                    result.sessions_deleted = len(old)
                if max_items is not None:
                    over = db.execute(
                        "SELECT user, session_id FROM sessions WHERE item_count > ?", (max_items,)
                    ).fetchall()
                    for user, session_id in over:
                        tail = db.execute(
                            "SELECT id, turn_start FROM items WHERE user = ? AND session_id = ? "
                            "ORDER BY id DESC LIMIT ?",
                            (user, session_id, max_items),
                        ).fetchall()
                        keep = keep_from_for_max_items([(row_id, bool(start)) for row_id, start in tail])
                        if keep is None:  # the newest turn alone is longer than max_items: keep it whole
                            keep = db.execute(
                                "SELECT max(id) FROM items WHERE user = ? AND session_id = ? AND turn_start",
                                (user, session_id),
                            ).fetchone()[0] or (tail[-1][0] if tail else None)
                        if keep is None:
                            continue
                        removed = db.execute(
                            "DELETE FROM items WHERE user = ? AND session_id = ? AND id < ?", (user, session_id, keep)
                        ).rowcount
                        if removed:
                            db.execute(
                                "UPDATE sessions SET item_count = MAX(item_count - ?, 0) WHERE user = ? AND session_id = ?",
                                (removed, user, session_id),
                            )
                            result.sessions_trimmed += 1
                            result.items_removed += removed
            return result

        return await self._run_write(apply, inline=False)

    async def import_session(self, info: SessionInfo, items: Sequence[StoredItem]) -> None:
        """Write imported items keeping their agent, role and timestamps (used by asdrp.memory.transfer)."""
        key = ConversationKey(info.user, info.session_id)
        texts = serialize_items(key, [stored.item for stored in items])
        rows = [
            (key.user, key.session_id, stored.agent, stored.role, int(is_turn_start(stored.item)),
             max(1, len(text) // 4), stored.created_at, text)
            for stored, text in zip(items, texts)
        ]

        def write(db: sqlite3.Connection) -> None:
            with self._write(db):
                db.execute(
                    "INSERT INTO sessions (user, session_id, agent_id, title, created_at, updated_at, item_count) "
                    "VALUES (?, ?, ?, '', ?, ?, 0) ON CONFLICT (user, session_id) DO NOTHING",
                    (key.user, key.session_id, info.agent_id, info.created_at, info.updated_at),
                )
                db.executemany(
                    "INSERT INTO items (user, session_id, agent, role, turn_start, tokens, created_at, data) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
                db.execute(
                    "UPDATE sessions SET updated_at = MAX(updated_at, ?), item_count = item_count + ?, "
                    "title = CASE WHEN title = '' THEN ? ELSE title END, agent_id = COALESCE(agent_id, ?) "
                    "WHERE user = ? AND session_id = ?",
                    (info.updated_at, len(rows), info.title, info.agent_id, key.user, key.session_id),
                )

        if rows:
            await self._run_write(write, inline=False)

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
