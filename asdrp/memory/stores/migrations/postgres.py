"""PostgreSQL schema migrations (numbered, append-only) and their runner.

`schema_migrations(version, name, applied_at)` in the store's schema records what ran.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from asdrp.memory.stores.migrations import MigrationRegistry

PgMigration = Callable[[AsyncConnection, str], Awaitable[None]]
PG_MIGRATIONS: MigrationRegistry[PgMigration] = MigrationRegistry("postgres")


def advisory_key(value: str) -> int:
    """A signed 64-bit key for PostgreSQL advisory locks."""
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "big", signed=True)


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
    await _exec(
        conn, f"CREATE INDEX sessions_by_user_updated ON {s}.sessions (user_id, updated_at DESC, session_id DESC)"
    )
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

    Existing rows are backfilled in SQL with the same rules as asdrp.memory.rows.
    """
    await _exec(conn, f"ALTER TABLE {s}.items ADD COLUMN turn_start BOOLEAN NOT NULL DEFAULT FALSE")
    await _exec(conn, f"ALTER TABLE {s}.items ADD COLUMN tokens INTEGER NOT NULL DEFAULT 1")
    await _exec(
        conn,
        f"""UPDATE {s}.items SET
              turn_start = (data::jsonb ->> 'role' = 'user'
                            AND COALESCE(data::jsonb ->> 'type', 'message') = 'message'),
              tokens = GREATEST(1, length(data) / 4)""",
    )
    await _exec(conn, f"CREATE INDEX items_turn_starts ON {s}.items (user_id, session_id, id) WHERE turn_start")


@PG_MIGRATIONS
async def m003_staged_turns(conn: AsyncConnection, s: str) -> None:
    """Interrupted turns (a tool call awaiting approval), invisible until a resumed run settles them."""
    await _exec(
        conn,
        f"""CREATE TABLE {s}.staged_turns (
            user_id TEXT NOT NULL, session_id TEXT NOT NULL, turn_id TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL, data TEXT NOT NULL,
            PRIMARY KEY (user_id, session_id, turn_id))""",
    )


@PG_MIGRATIONS
async def m004_recall_index(conn: AsyncConnection, s: str) -> None:
    """A per-conversation inverted index for recall and what its ranking needs.

    Items get a `position` within their conversation (ids are global, with gaps where other
    conversations wrote) because the ranking reads adjacency. The postings' btree is keyed by
    conversation first, so a query reads only that conversation's postings of its terms. Existing
    items are indexed with the rules of asdrp.memory.recall as of this migration.
    """
    import json

    from asdrp.memory.recall import item_terms
    from asdrp.memory.rows import is_opaque

    await _exec(
        conn,
        f"""CREATE TABLE {s}.recall_postings (
            user_id TEXT NOT NULL, session_id TEXT NOT NULL, term TEXT NOT NULL, position BIGINT NOT NULL,
            tf INTEGER NOT NULL, length INTEGER NOT NULL, PRIMARY KEY (user_id, session_id, term, position))""",
    )
    await _exec(conn, f"ALTER TABLE {s}.items ADD COLUMN position BIGINT NOT NULL DEFAULT 0")
    await _exec(conn, f"ALTER TABLE {s}.items ADD COLUMN terms_length INTEGER NOT NULL DEFAULT 0")
    await _exec(conn, f"ALTER TABLE {s}.sessions ADD COLUMN last_position BIGINT NOT NULL DEFAULT 0")
    await _exec(conn, f"ALTER TABLE {s}.sessions ADD COLUMN recall_items INTEGER NOT NULL DEFAULT 0")
    await _exec(conn, f"ALTER TABLE {s}.sessions ADD COLUMN recall_length BIGINT NOT NULL DEFAULT 0")
    await _exec(
        conn,
        f"""UPDATE {s}.items i SET position = n.position FROM (
              SELECT id, row_number() OVER (PARTITION BY user_id, session_id ORDER BY id) AS position
              FROM {s}.items) n WHERE i.id = n.id""",
    )
    await _exec(conn, f"CREATE INDEX items_position ON {s}.items (user_id, session_id, position)")
    rows = (await conn.execute(text(f"SELECT id, user_id, session_id, position, data FROM {s}.items"))).all()
    for item_id, user, session_id, position, data in rows:
        item = json.loads(data)
        terms = {} if is_opaque(item) else item_terms(item)
        if not terms:
            continue
        length = sum(terms.values())
        await conn.execute(
            text(f"INSERT INTO {s}.recall_postings VALUES (:u, :s, :t, :p, :f, :n)"),
            [{"u": user, "s": session_id, "t": t, "p": position, "f": f, "n": length} for t, f in terms.items()],
        )
        await conn.execute(text(f"UPDATE {s}.items SET terms_length = :n WHERE id = :i"), {"n": length, "i": item_id})
    await _exec(
        conn,
        f"""UPDATE {s}.sessions x SET
              last_position = (SELECT coalesce(max(position), 0) FROM {s}.items i WHERE i.user_id = x.user_id
                               AND i.session_id = x.session_id),
              recall_items = (SELECT count(*) FROM {s}.items i WHERE i.user_id = x.user_id
                              AND i.session_id = x.session_id AND i.terms_length > 0),
              recall_length = (SELECT coalesce(sum(terms_length), 0) FROM {s}.items i WHERE i.user_id = x.user_id
                               AND i.session_id = x.session_id)""",
    )


async def migrate_postgres(conn: AsyncConnection, schema: str, *, upto: int | None = None) -> list[str]:
    """Bring `schema` up to date (or to version `upto`); returns the names of the migrations that ran.

    Serialised across processes by a transaction-level advisory lock so two replicas starting at once
    never run a migration twice.
    """
    await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": advisory_key(f"asdrp-migrate\0{schema}")})
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
