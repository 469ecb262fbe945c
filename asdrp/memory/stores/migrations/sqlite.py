"""SQLite schema migrations (numbered, append-only) and their runner."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable

from asdrp.memory.stores.migrations import MigrationRegistry

SqliteMigration = Callable[[sqlite3.Connection], None]
SQLITE_MIGRATIONS: MigrationRegistry[SqliteMigration] = MigrationRegistry("sqlite")


@SQLITE_MIGRATIONS
def m001_initial(db: sqlite3.Connection) -> None:
    """The first schema: a registry row per conversation and its items as JSON."""
    db.execute(
        """CREATE TABLE sessions (
            user TEXT NOT NULL,
            session_id TEXT NOT NULL,
            agent_id TEXT,
            title TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            item_count INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (user, session_id)
        )"""
    )
    db.execute(
        """CREATE TABLE items (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            user TEXT NOT NULL,
            session_id TEXT NOT NULL,
            agent TEXT,
            role TEXT NOT NULL,
            created_at REAL NOT NULL,
            data TEXT NOT NULL
        )"""
    )


@SQLITE_MIGRATIONS
def m002_window_columns(db: sqlite3.Connection) -> None:
    """Precompute each item's token estimate and turn start, and index the conversation tail.

    Without these, building the model's window meant parsing every item on every turn and the
    tail query scanned the table; existing rows are backfilled from their JSON.
    """
    from asdrp.memory.rows import estimate_tokens, is_turn_start  # the rules as of this migration

    db.execute("ALTER TABLE items ADD COLUMN turn_start INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE items ADD COLUMN tokens INTEGER NOT NULL DEFAULT 1")
    rows = db.execute("SELECT id, data FROM items").fetchall()
    updates = []
    for row_id, data in rows:
        item = json.loads(data)
        updates.append((int(is_turn_start(item)), estimate_tokens(item), row_id))
    db.executemany("UPDATE items SET turn_start = ?, tokens = ? WHERE id = ?", updates)
    db.execute("CREATE INDEX items_conversation ON items (user, session_id, id)")


@SQLITE_MIGRATIONS
def m003_sessions_recent_index(db: sqlite3.Connection) -> None:
    """Index a user's sessions by recency so listing and keyset paging never sort the whole table."""
    db.execute("CREATE INDEX sessions_recent ON sessions (user, updated_at, session_id)")


@SQLITE_MIGRATIONS
def m004_user_id_and_staged_turns(db: sqlite3.Connection) -> None:
    """Name the owner column `user_id` as every other backend does, and keep interrupted turns.

    A staged turn is the items of a run interrupted for a tool approval, as one JSON array; it is
    invisible to readers until the resumed run (in any process) settles it into `items`.
    """
    db.execute("ALTER TABLE sessions RENAME COLUMN user TO user_id")
    db.execute("ALTER TABLE items RENAME COLUMN user TO user_id")
    db.execute(
        """CREATE TABLE staged_turns (
            user_id TEXT NOT NULL,
            session_id TEXT NOT NULL,
            turn_id TEXT NOT NULL,
            created_at REAL NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (user_id, session_id, turn_id)
        )"""
    )


@SQLITE_MIGRATIONS
def m005_recall_index(db: sqlite3.Connection) -> None:
    """A per-conversation inverted index for recall, and what its ranking needs.

    Items get a `position` within their conversation (1, 2, 3, ... in the order they were said;
    `id` is global, so a conversation's ids have gaps where others wrote), because recall's ranking
    reads adjacency: an answer is the item right after its question. The postings' primary key
    starts with the conversation, so a query reads only that conversation's entries of its terms,
    however many conversations the file holds. Existing items are indexed with the rules of
    asdrp.memory.recall as of this migration.
    """
    from asdrp.memory.recall import item_terms
    from asdrp.memory.rows import is_opaque

    db.execute(
        """CREATE TABLE recall_postings (
            user_id TEXT NOT NULL,
            session_id TEXT NOT NULL,
            term TEXT NOT NULL,
            position INTEGER NOT NULL,
            tf INTEGER NOT NULL,
            length INTEGER NOT NULL,
            PRIMARY KEY (user_id, session_id, term, position)
        ) WITHOUT ROWID"""
    )
    db.execute("ALTER TABLE items ADD COLUMN position INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE items ADD COLUMN terms_length INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE sessions ADD COLUMN last_position INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE sessions ADD COLUMN recall_items INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE sessions ADD COLUMN recall_length INTEGER NOT NULL DEFAULT 0")
    db.execute(
        """UPDATE items SET position = numbered.position FROM (
             SELECT id, row_number() OVER (PARTITION BY user_id, session_id ORDER BY id) AS position FROM items
           ) AS numbered WHERE items.id = numbered.id"""
    )
    db.execute("CREATE INDEX items_position ON items (user_id, session_id, position)")
    lengths = []
    rows = db.execute("SELECT id, user_id, session_id, position, data FROM items").fetchall()
    for item_id, user, session_id, position, data in rows:
        item = json.loads(data)
        terms = {} if is_opaque(item) else item_terms(item)
        length = sum(terms.values())
        db.executemany(
            "INSERT INTO recall_postings (user_id, session_id, term, position, tf, length) VALUES (?, ?, ?, ?, ?, ?)",
            [(user, session_id, term, position, tf, length) for term, tf in terms.items()],
        )
        lengths.append((length, item_id))
    db.executemany("UPDATE items SET terms_length = ? WHERE id = ?", lengths)
    db.execute(
        """UPDATE sessions SET
             last_position = (SELECT coalesce(max(position), 0) FROM items i WHERE i.user_id = sessions.user_id
                              AND i.session_id = sessions.session_id),
             recall_items = (SELECT count(*) FROM items i WHERE i.user_id = sessions.user_id
                             AND i.session_id = sessions.session_id AND i.terms_length > 0),
             recall_length = (SELECT coalesce(sum(terms_length), 0) FROM items i WHERE i.user_id = sessions.user_id
                              AND i.session_id = sessions.session_id)"""
    )


def applied_versions(db: sqlite3.Connection) -> set[int]:
    """Versions recorded in schema_migrations (empty for a brand-new database)."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
    )
    return {row[0] for row in db.execute("SELECT version FROM schema_migrations")}


def migrate_sqlite(
    db: sqlite3.Connection, registry: MigrationRegistry[SqliteMigration] = SQLITE_MIGRATIONS, upto: int | None = None
) -> list[str]:
    """Apply pending migrations (up to version `upto`) in one IMMEDIATE transaction: all or none.

    The pending set is re-read inside the write lock, so two processes opening a new file at the
    same time apply each migration exactly once. `db` must be in autocommit mode
    (isolation_level=None). Returns the names of the migrations applied.
    """
    applied_names: list[str] = []
    if not registry.pending(applied_versions(db)):
        return applied_names
    db.execute("BEGIN IMMEDIATE")
    try:
        for migration in registry.pending(applied_versions(db)):
            if upto is not None and migration.version > upto:
                break
            migration.apply(db)
            db.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, time.time()),
            )
            applied_names.append(migration.name)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return applied_names


def schema_version(db: sqlite3.Connection) -> int:
    """The highest applied migration version (0 for an empty database)."""
    return max(applied_versions(db), default=0)
