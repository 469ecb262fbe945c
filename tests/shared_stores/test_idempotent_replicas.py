"""Idempotency-Key records live in the shared store: a retry sent to another replica replays the first
answer, and a storm of retries spread over two replicas stores the turn once (PostgreSQL and Redis)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from asdrp.server.idempotency import IDEMPOTENCY_HEADER, REPLAYED_HEADER
from tests.server.conftest import app_client, home, settings_for  # noqa: F401 (home: fixture)
from tests.shared_stores import services


@pytest.fixture(params=["postgres", "redis"])
async def session_url(request: pytest.FixtureRequest, home: Path) -> AsyncIterator[str]:
    services.require(request.param)
    if request.param == "postgres":
        schema = services.unique_schema()
        yield f"{services.PG_URL}?schema={schema}"
        await services.drop_namespace("postgres", schema)
    else:
        prefix = services.unique_prefix()
        yield f"{services.REDIS_URL}?prefix={prefix}"
        await services.drop_namespace("redis", prefix)


async def test_a_retry_on_another_replica_replays_and_a_spread_storm_stores_once(session_url: str) -> None:
    settings = settings_for(session_url=session_url, retention_sweep_s=0)
    async with app_client(settings) as first, app_client(settings) as second:
        headers = {IDEMPOTENCY_HEADER: "replica-1"}
        answered = await first.post("/agents/moe/chat", json={"input": "Where is Kyoto?"}, headers=headers)
        assert answered.status_code == 200, answered.text
        session_id = answered.json()["metadata"]["session_id"]
        replayed = await second.post("/agents/moe/chat", json={"input": "Where is Kyoto?"}, headers=headers)
        assert replayed.status_code == 200 and replayed.headers[REPLAYED_HEADER] == "true"
        assert replayed.json() == answered.json()

        storm = {IDEMPOTENCY_HEADER: "replica-storm"}
        body = {"input": "What time is it there?", "session_id": session_id}
        responses = await asyncio.gather(*(
            (first if n % 2 else second).post("/agents/moe/chat", json=body, headers=storm) for n in range(8)
        ))
        assert {r.status_code for r in responses} == {200}
        assert len({r.json()["response"] for r in responses}) == 1
        items = (await first.get(f"/sessions/{session_id}")).json()["items"]
        users = [item["content"] for item in items if item["role"] == "user"]
        assert users == ["Where is Kyoto?", "What time is it there?"]
