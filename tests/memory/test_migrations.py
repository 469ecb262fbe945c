"""Numbered migrations: a database made with the first schema is upgraded in place and read back."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from asdrp.memory import ConversationKey, MemoryStoreError, SqliteStore, WindowSettings
from asdrp.memory.stores.migrations import MigrationRegistry
from asdrp.memory.stores.migrations.sqlite import SQLITE_MIGRATIONS, migrate_sqlite, schema_version
from tests.memory.items import assistant_msg, call, output, texts, user_msg


def make_m001_database(path: Path) -> None:
    """A database as the first release wrote it: m001 schema only, items without window columns."""
    db = sqlite3.connect(path, isolation_level=None)
    assert migrate_sqlite(db, upto=1) == ["m001_initial"]
    items = [
        user_msg("old question"), call("c1"), output("c1"), assistant_msg("old answer"),
        user_msg("q2"), assistant_msg("a2"),
    ]
    db.execute(
        "INSERT INTO sessions VALUES ('local', 'legacy', 'geo', 'old question', 1.0, 2.0, ?)", (len(items),)
    )
    db.executemany(
        "INSERT INTO items (user, session_id, agent, role, created_at, data) "
        "VALUES ('local', 'legacy', 'geo', ?, 1.5, ?)",
        [(item.get("role") or item["type"], json.dumps(item)) for item in items],
    )
    db.close()


async def test_a_database_created_with_the_first_schema_is_migrated_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    make_m001_database(path)
    store = SqliteStore(path)
    try:
        key = ConversationKey("local", "legacy")
        assert len(await store.read(key)) == 6
        info = await store.info(key)
        assert info is not None and info.item_count == 6 and info.title == "old question"
        # the backfilled turn_start column drives the window's turn cut
        assert texts(await store.window(key, WindowSettings(max_items=3))) == ["q2", "a2"]
        await store.append(key, [user_msg("new question")], agent="geo")
        assert texts([s.item for s in await store.read(key)])[-1] == "new question"
    finally:
        await store.close()
    db = sqlite3.connect(path)
    assert schema_version(db) == SQLITE_MIGRATIONS.latest >= 2
    names = [row[0] for row in db.execute("SELECT name FROM schema_migrations ORDER BY version")]
    assert names == [m.name for m in SQLITE_MIGRATIONS.migrations]
    indexes = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"items_conversation", "sessions_recent"} <= indexes
    db.close()


def test_migrating_an_up_to_date_database_does_nothing(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "new.db", isolation_level=None)
    assert migrate_sqlite(db) == [m.name for m in SQLITE_MIGRATIONS.migrations]
    assert migrate_sqlite(db) == []
    db.close()


def test_a_failing_migration_leaves_the_schema_version_unchanged(tmp_path: Path) -> None:
    registry: MigrationRegistry = MigrationRegistry("test")

    @registry
    def m001_table(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE t (x INTEGER)")

    @registry
    def m002_broken(db: sqlite3.Connection) -> None:
        db.execute("ALTER TABLE t ADD COLUMN y INTEGER")
        raise RuntimeError("boom")

    db = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    with pytest.raises(RuntimeError):
        migrate_sqlite(db, registry)
    assert schema_version(db) == 0
    assert db.execute("SELECT name FROM sqlite_master WHERE name = 't'").fetchone() is None
    db.close()


def test_migrations_must_be_registered_in_numbered_order() -> None:
    registry: MigrationRegistry = MigrationRegistry("test")
    with pytest.raises(MemoryStoreError, match="expected 1"):

        @registry
        def m002_too_early(db: object) -> None: ...

    with pytest.raises(MemoryStoreError, match="mNNN"):

        @registry
        def initial(db: object) -> None: ...
