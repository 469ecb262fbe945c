"""PostgreSQL-specific behaviour beyond the conformance suite: migrations, URLs, errors, locks."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import text

from asdrp.memory.errors import MemoryStoreError, StoreUnavailableError
from asdrp.memory.records import ConversationKey, WindowSettings
from asdrp.memory.stores.migrations.postgres import PG_MIGRATIONS, migrate_postgres
from asdrp.memory.stores.postgres import PostgresStore, parse_postgres_url
from tests.shared_stores import services


def test_url_is_converted_to_the_asyncpg_driver_and_schema_is_taken_out_of_the_query() -> None:
    url, schema = parse_postgres_url("postgresql://postgres@127.0.0.1:5432/test?schema=team_a")
    assert url == "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    assert schema == "team_a"
    assert PostgresStore("postgresql://postgres@127.0.0.1/test?schema=team_a").schema == "team_a"


def test_a_non_postgres_url_and_a_bad_schema_name_are_refused_with_clear_errors() -> None:
    with pytest.raises(MemoryStoreError, match="postgresql://"):
        PostgresStore("mysql://u:secret@host/db")
    with pytest.raises(MemoryStoreError, match="schema name 'Bad-Name'"):
        PostgresStore("postgresql://postgres@127.0.0.1/test?schema=Bad-Name")


async def test_an_unreachable_server_is_reported_as_unavailable_without_the_password() -> None:
    store = PostgresStore("postgresql://postgres:hunter2@127.0.0.1:1/test")
    try:
        with pytest.raises(StoreUnavailableError, match="PostgreSQL at .*127.0.0.1:1.* is unavailable") as info:
            await store.info(ConversationKey("alice", "s1"))
        assert "hunter2" not in str(info.value)
    finally:
        await store.close()


async def test_a_database_created_with_the_first_schema_is_migrated_in_place_without_losing_data() -> None:
    async with services.fresh_store("postgres") as store:
        assert isinstance(store, PostgresStore)
        engine = store._engines.get().main
        s = store.schema
        now = time.time()
        old_items = [
            {"role": "user", "content": "first question"},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "42"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "it is 42"}]},
            {"role": "user", "content": "second question"},
        ]
        async with engine.begin() as conn:
            assert await migrate_postgres(conn, s, upto=1) == ["m001_initial"]
            await conn.execute(
                text(f"INSERT INTO {s}.sessions VALUES ('alice', 'old', 'geo', 'first question', :t, :t, 5)"),
                {"t": now},
            )
            for item in old_items:
                await conn.execute(
                    text(f"INSERT INTO {s}.items (user_id, session_id, agent, role, created_at, data) "
                         "VALUES ('alice', 'old', 'geo', :r, :t, :d)"),
                    {"r": item.get("role") or item["type"], "t": now, "d": json.dumps(item)},
                )

        key = ConversationKey("alice", "old")
        assert [s.item for s in await store.read(key)] == old_items  # first use migrates to the latest
        assert await store.window(key, WindowSettings(max_items=4)) == old_items[-1:]  # turn starts backfilled
        assert await store.window(key, WindowSettings(max_items=5)) == old_items
        info = await store.info(key)
        assert info is not None and info.item_count == 5 and info.title == "first question"
        async with engine.connect() as conn:
            versions = (await conn.execute(text(f"SELECT version, name FROM {s}.schema_migrations ORDER BY 1"))).all()
        assert [tuple(v) for v in versions] == [(m.version, m.name) for m in PG_MIGRATIONS.migrations]


async def test_opening_an_up_to_date_schema_runs_no_migration() -> None:
    async with services.fresh_store("postgres") as store:
        await store.info(ConversationKey("alice", "s"))
        engine = store._engines.get().main
        async with engine.begin() as conn:
            assert await migrate_postgres(conn, store.schema) == []


async def test_a_lock_connection_lost_mid_turn_does_not_leave_the_conversation_locked() -> None:
    async with services.fresh_store("postgres") as store:
        key = ConversationKey("alice", "crash")
        with pytest.raises(RuntimeError):
            async with store.lock(key):
                raise RuntimeError("the turn failed")
        async with store.lock(key, wait=False):
            pass
