"""Deleting a conversation, a user, or pruning leaves nothing of it behind in any store: the transcripts
and the orchestrators' side memory (routing records, specialists' tool memory), on SQLite files,
PostgreSQL and Redis. Every table / key family is listed and counted, not just the ones we know."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.ext.asyncio import create_async_engine

from asdrp.memory.retention import prune
from asdrp.orchestration.memory import side_user
from asdrp.orchestration.retention import retention_plans
from asdrp.server.idempotency import records_namespace
from tests.server.conftest import AGENTS_YAML, REPO, app_client, home, settings_for  # noqa: F401 (home: fixture)
from tests.shared_stores import services

KEYS = {"alice": "alice-key-1", "bob": "bob-key-2", "carol": "carol-key-3"}
TURNS = (
    ("moe", "Where is Kyoto?"),
    ("moe", "What time is it there?"),
    ("smartrouter", "What is the monthly payment on a 200000 loan at 5% over 30 years?"),
    ("chitchat", "My name is Zorblax"),
)


class Namespace:
    """Where a test's data lives, and how to count every record of one user in it."""

    def __init__(self, kind: str, home: Path) -> None:
        self.kind = kind
        self.home = home
        self.schema = services.unique_schema()
        self.prefix = services.unique_prefix()

    @property
    def session_url(self) -> str | None:
        if self.kind == "postgres":
            services.require("postgres")
            return f"{services.PG_URL}?schema={self.schema}"
        if self.kind == "redis":
            services.require("redis")
            return f"{services.REDIS_URL}?prefix={self.prefix}"
        return None

    async def records(self, user: str, session_id: str | None = None) -> dict[str, int]:
        """Rows/keys per table or key family that belong to `user` (and its side namespace), all stores."""
        owners = (user, side_user(user), records_namespace(user))
        if self.kind == "sqlite":
            return self._sqlite(owners, session_id)
        if self.kind == "postgres":
            return await self._postgres(owners, session_id)
        return await self._redis(owners, session_id)

    def _sqlite(self, owners: tuple[str, ...], session_id: str | None) -> dict[str, int]:
        found: dict[str, int] = {}
        files = sorted((self.home / "data" / "sessions").glob("*.db"))
        assert len(files) >= 3, files  # agents, orchestrator transcripts, their side memory
        for path in files:
            with sqlite3.connect(path) as db:
                for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
                    columns = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                    if "user_id" not in columns:
                        assert table in ("schema_migrations", "sqlite_sequence"), (path.name, table)
                        continue
                    found[f"{path.name}:{table}"] = _count(
                        lambda sql, args, db=db: db.execute(sql, args).fetchone()[0], table, owners, session_id
                    )
        return found

    async def _postgres(self, owners: tuple[str, ...], session_id: str | None) -> dict[str, int]:
        url = services.PG_URL.replace("postgresql://", "postgresql+asyncpg://", 1)
        engine = create_async_engine(url)
        found: dict[str, int] = {}
        try:
            async with engine.connect() as conn:
                tables = await conn.execute(sqlalchemy.text(
                    "SELECT table_name, bool_or(column_name = 'user_id') FROM information_schema.columns "
                    "WHERE table_schema = :s GROUP BY table_name"), {"s": self.schema})
                for table, has_user in tables.all():
                    if not has_user:
                        assert table == "schema_migrations", table
                        continue
                    where, args = _where(owners, session_id, style="named")
                    result = await conn.execute(
                        sqlalchemy.text(f'SELECT count(*) FROM "{self.schema}"."{table}" WHERE {where}'), args
                    )
                    found[table] = int(result.scalar_one())
        finally:
            await engine.dispose()
        assert {"sessions", "items"} <= set(found), found
        return found

    async def _redis(self, owners: tuple[str, ...], session_id: str | None) -> dict[str, int]:
        import redis.asyncio as redis

        client = redis.from_url(services.REDIS_URL)
        found: dict[str, int] = {}
        try:
            async for raw in client.scan_iter(match=f"{self.prefix}*", count=1000):
                key = raw.decode()[len(self.prefix):]
                if not key.startswith("{"):
                    assert key == "schema_version", key
                    continue
                owner, _, rest = key[1:].partition("}")
                family = rest.rsplit(":", 1)[-1] if rest.startswith("/") else rest.lstrip(":")
                if rest.startswith("/") and ":t:" in rest:
                    family = "t:<term>"
                if owner not in owners:
                    continue
                if session_id is not None and not rest.split(":", 1)[0].endswith(session_id):
                    continue
                found[family] = found.get(family, 0) + 1
        finally:
            await client.aclose()
        return found

    async def drop(self) -> None:
        if self.kind == "postgres":
            await services.drop_namespace("postgres", self.schema)
        elif self.kind == "redis":
            await services.drop_namespace("redis", self.prefix)


def _where(owners: tuple[str, ...], session_id: str | None, style: str) -> tuple[str, object]:
    """Rows of these owners; with a session id, the conversation's own rows and its side records
    (whose session ids end in `.<session_id>`: `_route.<id>`, `<specialist>.<id>`)."""
    if style == "named":
        args: dict[str, str] = {f"o{n}": owner for n, owner in enumerate(owners)}
        where = f"user_id IN ({', '.join(':' + name for name in args)})"
        if session_id is not None:
            where += " AND (session_id = :sid OR session_id LIKE :side)"
            args.update(sid=session_id, side=f"%.{session_id}")
        return where, args
    where = f"user_id IN ({', '.join('?' for _ in owners)})"
    values: list[str] = list(owners)
    if session_id is not None:
        where += " AND (session_id = ? OR session_id LIKE ?)"
        values += [session_id, f"%.{session_id}"]
    return where, values


def _count(run: object, table: str, owners: tuple[str, ...], session_id: str | None) -> int:
    where, values = _where(owners, session_id, style="qmark")
    return int(run(f"SELECT count(*) FROM {table} WHERE {where}", values))  # type: ignore[operator]


def nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {family: count for family, count in counts.items() if count}


@pytest.fixture(params=["sqlite", "postgres", "redis"])
async def namespace(request: pytest.FixtureRequest, home: Path) -> AsyncIterator[Namespace]:
    space = Namespace(request.param, home)
    try:
        yield space
    finally:
        await space.drop()


async def test_deleting_a_conversation_a_user_or_pruning_leaves_no_trace_in_any_store(namespace: Namespace) -> None:
    api_keys = ",".join(f"{key}:{user}" for user, key in KEYS.items())
    settings = settings_for(api_keys=api_keys, session_url=namespace.session_url, retention_sweep_s=0)
    async with app_client(settings) as client:
        for user in KEYS:
            for session_id in ("s1", "s2"):
                for agent, text in TURNS:
                    response = await client.post(
                        f"/agents/{agent}/chat", json={"input": text, "session_id": session_id},
                        headers={"X-API-Key": KEYS[user], "Idempotency-Key": f"{session_id}-{agent}-{text}"},
                    )
                    assert response.status_code == 200, response.text

        before = nonzero(await namespace.records("alice", "s1"))
        assert len(before) >= 3, before  # transcript, items, and side records really were written

        # one conversation
        deleted = await client.delete("/sessions/s1", headers={"X-API-Key": KEYS["alice"]})
        assert deleted.status_code == 204
        assert nonzero(await namespace.records("alice", "s1")) == {}
        assert nonzero(await namespace.records("alice", "s2")), "the other conversation was kept"

        # a user, over HTTP
        assert (await client.delete("/sessions", headers={"X-API-Key": KEYS["alice"]})).status_code == 200
        assert nonzero(await namespace.records("alice")) == {}
        assert nonzero(await namespace.records("bob")) and nonzero(await namespace.records("carol"))

        # pruning: every store retention covers, the side-memory stores included
        server = client.app.state.services  # type: ignore[attr-defined]
        plans = server.idempotency.with_expiry(retention_plans(server.factory, server.catalog.retained_stores()))
        for store, _ in plans:  # what the server's sweep covers, with a limit every record is past
            await prune(store, max_age_seconds=60, now=time.time() + 2 * 86_400)
        assert nonzero(await namespace.records("carol")) == {}
        assert nonzero(await namespace.records("bob")) == {}

    # a user, from the CLI (`asdrp sessions delete --user`): write bob again, then delete him
    async with app_client(settings) as client:
        for agent, text in TURNS:
            response = await client.post(f"/agents/{agent}/chat", json={"input": text, "session_id": "b9"},
                                         headers={"X-API-Key": KEYS["bob"], "Idempotency-Key": f"b9-{text}"})
            assert response.status_code == 200
    assert nonzero(await namespace.records("bob"))
    env = {**os.environ, "ASDRP_HOME": str(namespace.home), "ASDRP_CONFIG": str(AGENTS_YAML), "PYTHONPATH": str(REPO)}
    args = [sys.executable, "-m", "asdrp.cli", "sessions", "delete", "--user", "bob"]
    if namespace.session_url:
        args += ["--session-url", namespace.session_url]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert nonzero(await namespace.records("bob")) == {}
