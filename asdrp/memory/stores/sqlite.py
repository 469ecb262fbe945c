"""SessionStore on SQLite (stdlib sqlite3): a private in-memory database or a file several processes share.

Usage::

    store = SqliteStore(Path("data/sessions/agents.db"))
    session = ConversationSession(store, "s1")
    await Runner.run(agent, "Hello", session=session)

One connection per store, used under a thread lock. Files use WAL, synchronous=NORMAL and a 30 s
busy timeout, and every write is one BEGIN IMMEDIATE transaction, so several processes (CLI,
server workers) can share a file. Nothing is cached in memory: another process's writes are
always seen. Whole turns are serialised across processes by an open-file-description lock on one
byte of `<file>.turns` per conversation: the kernel drops it when its holder dies, so a killed
process can never leave a conversation locked.

Blocking work never runs on the event loop, but a thread hop (~0.1 ms) costs more than a bounded
operation itself, so each operation is first tried inline *without any waiting*: the connection
lock is taken non-blockingly and SQLite's busy timeout is 0 on that path. If the connection is in
use or the operation is unbounded, it runs in the store's own worker thread. An attempt that meets
another process's write lock has rolled back; it is retried after a pause for up to 30 s, without
holding the connection meanwhile. WAL checkpoints (which fsync) are done in the worker thread.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import hashlib
import json
import os
import sqlite3
import struct
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from asdrp.memory.errors import StaleTurnError, StoreUnavailableError
from asdrp.memory.recall import CorpusStats, Posting, item_terms
from asdrp.memory.records import ConversationKey, SessionInfo, StoredItem
from asdrp.memory.rows import Row, is_opaque, item_json
from asdrp.memory.stores.base import StagedTurn, StoreBase, busy_error
from asdrp.memory.stores.migrations.sqlite import migrate_sqlite
from asdrp.memory.window import WindowRow

T = TypeVar("T")
BUSY_TIMEOUT_MS = 30_000
INLINE_MAX_ITEMS = 256
"""Batches and pages up to this size may run inline; bigger ones always go to a worker thread."""
CHECKPOINT_EVERY_WRITES = 128
"""Every this many writes, one is done in the worker thread followed by a PASSIVE WAL checkpoint."""
_BUSY_CODES = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
_SESSION_COLUMNS = "user_id, session_id, agent_id, title, created_at, updated_at, item_count"
_KEY = "user_id = ? AND session_id = ?"
_LOCK_POLL_S = (0.002, 0.05)
"""First and longest pause between attempts to take a conversation's cross-process turn lock (or a
database another process is writing)."""


class _Busy(Exception):
    """An attempt would have had to wait for another connection's lock; `_run` retries it after a pause."""


def _drop_postings(db: sqlite3.Connection, key: ConversationKey, removed: list[tuple[int, str]]) -> None:
    """Delete the recall postings of removed items, given as (position, JSON): one primary-key hit per term."""
    db.executemany(
        f"DELETE FROM recall_postings WHERE {_KEY} AND term = ? AND position = ?",
        [
            (key.user, key.session_id, term, position)
            for position, item in ((position, json.loads(data)) for position, data in removed)
            for term in ({} if is_opaque(item) else item_terms(item))
        ],
    )


def _stored_items(rows: list[tuple[int, str, str | None, str, float]]) -> list[StoredItem]:
    """StoredItems of (id, data, agent, role, created_at) rows, in their order."""
    items = _decode_array([row[1] for row in rows])
    return [
        StoredItem(seq=seq, item=item, agent=agent, role=role, created_at=created)
        for item, (seq, _, agent, role, created) in zip(items, rows)
    ]


def _decode_array(texts: Sequence[str]) -> list[Any]:
    """Decode many JSON documents at once: one parse of a JSON array is ~3x faster than one per item."""
    return json.loads("[" + ",".join(texts) + "]") if texts else []


class _TurnLockFile:
    """Per-conversation byte-range locks on one file, owned by an open file description (Linux OFD).

    OFD locks belong to the descriptor, not the process, so two stores of one process exclude each
    other as two processes do, and the kernel releases them when the descriptor closes or its
    process dies. A conversation's byte is a 62-bit hash of its key: collisions are negligible.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def _descriptor(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    @staticmethod
    def offset(key: ConversationKey) -> int:
        digest = hashlib.blake2b(f"{key.user}\0{key.session_id}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") >> 2

    def _set(self, lock_type: int, offset: int) -> bool:
        record = struct.pack("hhqqi4x", lock_type, os.SEEK_SET, offset, 1, 0)
        try:
            fcntl.fcntl(self._descriptor(), fcntl.F_OFD_SETLK, record)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                return False
            raise
        return True

    def try_lock(self, offset: int) -> bool:
        return self._set(fcntl.F_WRLCK, offset)

    def unlock(self, offset: int) -> None:
        self._set(fcntl.F_UNLCK, offset)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class SqliteStore(StoreBase):
    """Conversations in one SQLite database; `path=None` is a private in-memory database."""

    kind = "sqlite"

    def __init__(self, path: Path | None = None) -> None:
        super().__init__(None if path is None else str(path))
        self.path = path
        self._where = str(path) if path is not None else ":memory:"
        self._guard = threading.Lock()
        # One thread of its own: operations on one file are serialised by `_guard` anyway, and a file
        # that is locked or slow then ties up only its own thread, never the loop's shared executor
        # that every other store (and the SDK) relies on.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="asdrp-sqlite")
        self._writes = 0
        self._lock_file = None if path is None else _TurnLockFile(path.with_name(path.name + ".turns"))
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
            self._db.execute("PRAGMA busy_timeout=0")  # no call waits inside SQLite: `_run` retries instead
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailableError(f"Cannot open SQLite session database {self._where!r}: {exc}") from exc

    # --- plumbing --------------------------------------------------------------------------

    async def _run(self, operation: Callable[[sqlite3.Connection], T], *, inline: bool = True) -> T:
        """Run `operation` inline if that cannot wait on anything, else in the store's own thread.

        Neither path waits inside SQLite: an attempt that meets another process's write lock rolls
        back and is retried from the event loop after a pause (up to BUSY_TIMEOUT_MS). A waiting
        write therefore never holds the connection, so reads of the same file (WAL readers do not
        wait for writers) and every other store keep being served while a file is locked.
        """
        deadline: float | None = None
        pause = _LOCK_POLL_S[0]
        while True:
            try:
                if inline and self._guard.acquire(blocking=False):
                    try:
                        return self._call(operation)
                    finally:
                        self._guard.release()
                return await self._in_thread(operation)
            except _Busy as busy:
                now = time.monotonic()
                deadline = deadline if deadline is not None else now + BUSY_TIMEOUT_MS / 1000
                if now >= deadline:
                    raise StoreUnavailableError(f"SQLite session database {self._where!r} failed: {busy.__cause__}") \
                        from busy.__cause__
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LOCK_POLL_S[1])

    async def _in_thread(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        def attempt() -> T:
            with self._guard:
                return self._call(operation)

        try:
            pending = asyncio.get_running_loop().run_in_executor(self._executor, attempt)
        except RuntimeError:  # the executor was shut down: the store closed while this call was on its way
            raise StoreUnavailableError(f"The SQLite session store {self._where!r} is closed") from None
        return await pending

    def _open_db(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreUnavailableError(f"The SQLite session store {self._where!r} is closed")
        return self._db

    def _call(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        db = self._open_db()
        try:
            return operation(db)
        except sqlite3.OperationalError as exc:
            busy = getattr(exc, "sqlite_errorcode", None) in _BUSY_CODES or "locked" in str(exc)
            if busy:
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
        values = [
            (key.user, key.session_id, r.agent, r.role, int(r.turn_start), r.tokens, r.created_at, r.data,
             r.terms_length)
            for r in rows
        ]
        indexed = sum(1 for r in rows if r.terms)
        indexed_length = sum(r.terms_length for r in rows)
        first_write = now if created_at is None else created_at

        def write(db: sqlite3.Connection) -> None:
            with self._write(db):
                if settle is not None and not db.execute(
                    f"DELETE FROM staged_turns WHERE {_KEY} AND turn_id = ?", (key.user, key.session_id, settle)
                ).rowcount:
                    raise StaleTurnError(f"The interrupted turn of session {key.session_id!r} was already stored")
                found = db.execute(
                    "UPDATE sessions SET updated_at = MAX(updated_at, ?), item_count = item_count + ?, "
                    "title = CASE WHEN title = '' THEN ? ELSE title END, agent_id = COALESCE(agent_id, ?), "
                    "last_position = last_position + ?, recall_items = recall_items + ?, "
                    f"recall_length = recall_length + ? WHERE {_KEY} RETURNING last_position",
                    (now, len(values), title, agent_id, len(values), indexed, indexed_length, key.user,
                     key.session_id),
                ).fetchone()
                if found is None:  # first write of this conversation: create its registry row
                    db.execute(
                        f"INSERT INTO sessions ({_SESSION_COLUMNS}, last_position, recall_items, recall_length) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (key.user, key.session_id, agent_id, title, first_write, now, len(values), len(values),
                         indexed, indexed_length),
                    )
                first = (found[0] if found is not None else len(values)) - len(values) + 1
                db.executemany(
                    "INSERT INTO items (user_id, session_id, agent, role, turn_start, tokens, created_at, data, "
                    "terms_length, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(*value, first + offset) for offset, value in enumerate(values)],
                )
                if indexed:
                    db.executemany(
                        "INSERT INTO recall_postings (user_id, session_id, term, position, tf, length) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        [
                            (key.user, key.session_id, term, first + offset, tf, row.terms_length)
                            for offset, row in enumerate(rows)
                            for term, tf in row.terms.items()
                        ],
                    )

        await self._run_write(write, inline=len(values) <= INLINE_MAX_ITEMS)

    async def _stage(self, key: ConversationKey, turn_id: str, items: list[dict[str, Any]]) -> None:
        data = "[" + ",".join(item_json(item) for item in items) + "]"

        def write(db: sqlite3.Connection) -> None:
            with self._write(db):
                db.execute(
                    "INSERT INTO staged_turns (user_id, session_id, turn_id, created_at, data) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (user_id, session_id, turn_id) DO UPDATE SET data = excluded.data",
                    (key.user, key.session_id, turn_id, time.time(), data),
                )

        await self._run_write(write)

    async def _staged(self, key: ConversationKey) -> list[StagedTurn]:
        def read(db: sqlite3.Connection) -> list[tuple[str, str]]:
            return db.execute(
                f"SELECT turn_id, data FROM staged_turns WHERE {_KEY} ORDER BY created_at, turn_id",
                (key.user, key.session_id),
            ).fetchall()

        return [StagedTurn(turn_id, json.loads(data)) for turn_id, data in await self._run(read)]

    async def _discard(self, key: ConversationKey, turn_id: str) -> None:
        def delete(db: sqlite3.Connection) -> None:
            with self._write(db):
                db.execute(
                    f"DELETE FROM staged_turns WHERE {_KEY} AND turn_id = ?", (key.user, key.session_id, turn_id)
                )

        await self._run_write(delete)

    async def _tail(self, key: ConversationKey, count: int) -> list[WindowRow]:
        def tail(db: sqlite3.Connection) -> list[tuple[str, int, int]]:
            return db.execute(
                f"SELECT data, tokens, turn_start FROM items WHERE {_KEY} ORDER BY id DESC LIMIT ?",
                (key.user, key.session_id, count),
            ).fetchall()

        rows = await self._run(tail, inline=count <= INLINE_MAX_ITEMS)
        rows.reverse()
        items = _decode_array([row[0] for row in rows])
        return [WindowRow(item, row[1], bool(row[2])) for item, row in zip(items, rows)]

    async def _read(self, key: ConversationKey, after_seq: int, limit: int | None) -> list[StoredItem]:
        def page(db: sqlite3.Connection) -> list[tuple[int, str, str | None, str, float]]:
            return db.execute(
                f"SELECT id, data, agent, role, created_at FROM items WHERE {_KEY} AND id > ? ORDER BY id LIMIT ?",
                (key.user, key.session_id, after_seq, -1 if limit is None else limit),
            ).fetchall()

        rows = await self._run(page, inline=limit is not None and limit <= INLINE_MAX_ITEMS)
        return _stored_items(rows)

    async def _frequencies(self, key: ConversationKey, terms: list[str]) -> tuple[dict[str, int], CorpusStats]:
        def read(db: sqlite3.Connection) -> tuple[list[tuple[str, int]], tuple[int, int] | None]:
            counts = db.execute(
                f"SELECT term, count(*) FROM recall_postings WHERE {_KEY} AND term IN ({','.join('?' * len(terms))}) "
                "GROUP BY term",
                (key.user, key.session_id, *terms),
            ).fetchall()
            stats = db.execute(
                f"SELECT recall_items, recall_length FROM sessions WHERE {_KEY}", (key.user, key.session_id)
            ).fetchone()
            return counts, stats

        counts, stats = await self._run(read)
        return dict(counts), CorpusStats(*(stats or (0, 0)))

    async def _postings(
        self, key: ConversationKey, terms: list[str], positions: list[int] | None = None
    ) -> list[Posting]:
        def read(db: sqlite3.Connection) -> list[tuple[str, int, int, int]]:
            sql = (
                f"SELECT term, position, tf, length FROM recall_postings "
                f"WHERE {_KEY} AND term IN ({','.join('?' * len(terms))})"
            )
            params: list[Any] = [key.user, key.session_id, *terms]
            if positions is not None:
                sql += f" AND position IN ({','.join('?' * len(positions))})"
                params += positions
            return db.execute(sql, params).fetchall()

        return [Posting(position, term, tf, n) for term, position, tf, n in await self._run(read)]

    async def _items_at(self, key: ConversationKey, positions: list[int]) -> dict[int, StoredItem]:
        def read(db: sqlite3.Connection) -> list[tuple[int, int, str, str | None, str, float]]:
            marks = ",".join("?" * len(positions))
            return db.execute(
                f"SELECT position, id, data, agent, role, created_at FROM items WHERE {_KEY} AND position IN ({marks})",
                (key.user, key.session_id, *positions),
            ).fetchall()

        rows = await self._run(read)
        items = _decode_array([row[2] for row in rows])
        return {
            position: StoredItem(seq=seq, item=item, agent=agent, role=role, created_at=created)
            for item, (position, seq, _, agent, role, created) in zip(items, rows)
        }

    async def _pop(self, key: ConversationKey, now: float) -> dict[str, Any] | None:
        def pop_newest(db: sqlite3.Connection) -> str | None:
            with self._write(db):
                row = db.execute(
                    f"SELECT id, position, data, terms_length FROM items WHERE {_KEY} ORDER BY id DESC LIMIT 1",
                    (key.user, key.session_id),
                ).fetchone()
                if row is None:
                    return None
                seq, position, data, length = row
                db.execute("DELETE FROM items WHERE id = ?", (seq,))
                _drop_postings(db, key, [(position, data)])
                db.execute(  # the next append takes the popped item's position again: no gap
                    "UPDATE sessions SET item_count = MAX(item_count - 1, 0), updated_at = MAX(updated_at, ?), "
                    "recall_items = MAX(recall_items - ?, 0), recall_length = MAX(recall_length - ?, 0), "
                    f"last_position = ? - 1 WHERE {_KEY}",
                    (now, int(length > 0), length, position, key.user, key.session_id),
                )
                return data

        data = await self._run_write(pop_newest)
        return None if data is None else json.loads(data)

    async def _read_before(self, key: ConversationKey, before_seq: int, limit: int) -> list[StoredItem]:
        def page(db: sqlite3.Connection) -> list[tuple[int, str, str | None, str, float]]:
            return db.execute(
                f"SELECT id, data, agent, role, created_at FROM items WHERE {_KEY} AND id < ? ORDER BY id DESC LIMIT ?",
                (key.user, key.session_id, before_seq, limit),
            ).fetchall()

        rows = await self._run(page, inline=limit <= INLINE_MAX_ITEMS)
        return _stored_items(rows)

    async def _remove_items(self, key: ConversationKey, seqs: list[int], now: float) -> int:
        def remove(db: sqlite3.Connection) -> int:
            with self._write(db):
                removed = db.execute(
                    f"DELETE FROM items WHERE {_KEY} AND id IN ({','.join('?' * len(seqs))}) "
                    "RETURNING position, data, terms_length",
                    (key.user, key.session_id, *seqs),
                ).fetchall()
                if not removed:
                    return 0
                _drop_postings(db, key, [(position, data) for position, data, _ in removed])
                db.execute(
                    "UPDATE sessions SET item_count = MAX(item_count - ?, 0), updated_at = MAX(updated_at, ?), "
                    "recall_items = MAX(recall_items - ?, 0), recall_length = MAX(recall_length - ?, 0) "
                    f"WHERE {_KEY}",
                    (len(removed), now, sum(1 for *_, n in removed if n > 0), sum(n for *_, n in removed), key.user,
                     key.session_id),
                )
                return len(removed)

        return await self._run_write(remove)

    async def _clear(self, key: ConversationKey, now: float) -> None:
        def clear_items(db: sqlite3.Connection) -> None:
            with self._write(db):
                db.execute(f"DELETE FROM items WHERE {_KEY}", (key.user, key.session_id))
                db.execute(f"DELETE FROM staged_turns WHERE {_KEY}", (key.user, key.session_id))
                db.execute(f"DELETE FROM recall_postings WHERE {_KEY}", (key.user, key.session_id))
                db.execute(
                    "UPDATE sessions SET item_count = 0, updated_at = MAX(updated_at, ?), recall_items = 0, "
                    f"recall_length = 0 WHERE {_KEY}",
                    (now, key.user, key.session_id),
                )

        await self._run_write(clear_items, inline=False)

    # --- registry --------------------------------------------------------------------------

    async def _info(self, key: ConversationKey) -> SessionInfo | None:
        def row(db: sqlite3.Connection) -> tuple[Any, ...] | None:
            return db.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE {_KEY}", (key.user, key.session_id)
            ).fetchone()

        found = await self._run(row)
        return None if found is None else SessionInfo(*found)

    async def _page_sessions(self, user: str, after: tuple[float, str] | None, count: int) -> list[SessionInfo]:
        def page(db: sqlite3.Connection) -> list[tuple[Any, ...]]:
            if after is None:
                return db.execute(
                    f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE user_id = ? "
                    "ORDER BY updated_at DESC, session_id DESC LIMIT ?",
                    (user, count),
                ).fetchall()
            return db.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE user_id = ? AND (updated_at, session_id) < (?, ?) "
                "ORDER BY updated_at DESC, session_id DESC LIMIT ?",
                (user, after[0], after[1], count),
            ).fetchall()

        return [SessionInfo(*row) for row in await self._run(page, inline=count <= INLINE_MAX_ITEMS)]

    async def _list_users(self) -> list[str]:
        def users(db: sqlite3.Connection) -> list[str]:
            return [row[0] for row in db.execute("SELECT DISTINCT user_id FROM sessions ORDER BY user_id")]

        return await self._run(users, inline=False)

    async def _delete(self, key: ConversationKey) -> bool:
        def delete_conversation(db: sqlite3.Connection) -> bool:
            with self._write(db):
                gone = sum(
                    db.execute(f"DELETE FROM {table} WHERE {_KEY}", (key.user, key.session_id)).rowcount
                    for table in ("items", "staged_turns", "recall_postings", "sessions")
                )
            return bool(gone)

        return await self._run_write(delete_conversation, inline=False)

    async def _delete_user(self, user: str) -> int:
        def delete_all(db: sqlite3.Connection) -> int:
            with self._write(db):
                db.execute("DELETE FROM items WHERE user_id = ?", (user,))
                db.execute("DELETE FROM staged_turns WHERE user_id = ?", (user,))
                db.execute("DELETE FROM recall_postings WHERE user_id = ?", (user,))
                return db.execute("DELETE FROM sessions WHERE user_id = ?", (user,)).rowcount

        return await self._run_write(delete_all, inline=False)

    # --- retention -------------------------------------------------------------------------

    async def _expire(self, cut: float) -> tuple[int, int]:
        def expire(db: sqlite3.Connection) -> tuple[int, int]:
            sessions = items = 0
            with self._write(db):
                old = db.execute("SELECT user_id, session_id FROM sessions WHERE updated_at < ?", (cut,)).fetchall()
                for user, session_id in old:
                    items += db.execute(f"DELETE FROM items WHERE {_KEY}", (user, session_id)).rowcount
                    db.execute(f"DELETE FROM staged_turns WHERE {_KEY}", (user, session_id))
                    db.execute(f"DELETE FROM recall_postings WHERE {_KEY}", (user, session_id))
                    sessions += db.execute(f"DELETE FROM sessions WHERE {_KEY}", (user, session_id)).rowcount
                # interrupted turns nobody resumed within the age limit go too
                db.execute("DELETE FROM staged_turns WHERE created_at < ?", (cut,))
            return sessions, items

        return await self._run_write(expire, inline=False)

    async def _over_limit(self, max_items: int) -> list[ConversationKey]:
        def over(db: sqlite3.Connection) -> list[tuple[str, str]]:
            return db.execute("SELECT user_id, session_id FROM sessions WHERE item_count > ?", (max_items,)).fetchall()

        return [ConversationKey(user, sid) for user, sid in await self._run(over, inline=False)]

    async def _tail_flags(self, key: ConversationKey, count: int) -> list[tuple[int, bool]]:
        def tail(db: sqlite3.Connection) -> list[tuple[int, int]]:
            return db.execute(
                f"SELECT id, turn_start FROM items WHERE {_KEY} ORDER BY id DESC LIMIT ?",
                (key.user, key.session_id, count),
            ).fetchall()

        return [(seq, bool(start)) for seq, start in await self._run(tail, inline=False)]

    async def _last_turn_start(self, key: ConversationKey) -> int | None:
        def last(db: sqlite3.Connection) -> int | None:
            return db.execute(
                f"SELECT max(id) FROM items WHERE {_KEY} AND turn_start", (key.user, key.session_id)
            ).fetchone()[0]

        return await self._run(last, inline=False)

    async def _remove_before(self, key: ConversationKey, seq: int) -> int:
        def remove(db: sqlite3.Connection) -> int:
            with self._write(db):
                indexed, length = db.execute(
                    f"SELECT count(*) FILTER (WHERE terms_length > 0), coalesce(sum(terms_length), 0) FROM items "
                    f"WHERE {_KEY} AND id < ?",
                    (key.user, key.session_id, seq),
                ).fetchone()
                removed = db.execute(
                    f"DELETE FROM items WHERE {_KEY} AND id < ?", (key.user, key.session_id, seq)
                ).rowcount
                db.execute(
                    f"DELETE FROM recall_postings WHERE {_KEY} AND position < "
                    f"(SELECT coalesce(min(position), 0) FROM items WHERE {_KEY})",
                    (key.user, key.session_id, key.user, key.session_id),
                )
                if removed:
                    db.execute(
                        "UPDATE sessions SET item_count = MAX(item_count - ?, 0), "
                        "recall_items = MAX(recall_items - ?, 0), "
                        f"recall_length = MAX(recall_length - ?, 0) WHERE {_KEY}",
                        (removed, indexed, length, key.user, key.session_id),
                    )
            return removed

        return await self._run_write(remove, inline=False)

    # --- turns and lifetime ----------------------------------------------------------------

    async def _acquire_turn(self, key: ConversationKey, wait: bool) -> int | None:
        """The conversation's byte in `<file>.turns` (an in-memory database needs no cross-process lock)."""
        if self._lock_file is None:
            return None
        offset = _TurnLockFile.offset(key)
        pause = _LOCK_POLL_S[0]
        while True:
            try:
                if self._lock_file.try_lock(offset):
                    return offset
            except OSError as exc:
                raise StoreUnavailableError(f"Cannot lock {str(self._lock_file.path)!r}: {exc}") from exc
            if not wait:
                raise busy_error(key)
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LOCK_POLL_S[1])

    async def _release_turn(self, key: ConversationKey, handle: int | None) -> None:
        if handle is not None and self._lock_file is not None:
            try:
                self._lock_file.unlock(handle)
            except OSError:
                pass  # the descriptor is gone (store closed): the kernel already released the lock

    async def _close(self) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._close_now)
        except RuntimeError:  # already closed (its executor is gone): closing again is harmless
            self._close_now()

    def _close_now(self) -> None:
        self._executor.shutdown(wait=False)
        with self._guard:
            if self._db is not None:
                self._db.close()
                self._db = None
            if self._lock_file is not None:
                self._lock_file.close()
