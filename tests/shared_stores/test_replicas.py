"""Two `asdrp serve` replicas sharing one PostgreSQL / Redis: conversations move freely between them.

Turn 1 on replica A and turn 2 on replica B are answered in context; 32 clients spreading their
turns over both replicas get every turn stored exactly once, in order within each conversation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import ServerProcess
from tests.shared_stores import services

CLIENTS = 32
TURNS_PER_CLIENT = 4
AGENT = "chitchat"


@pytest.fixture(params=["postgres", "redis"])
def replicas(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two server processes on one shared store (a schema / key prefix of this test's own)."""
    kind = request.param
    services.require(kind)
    if kind == "postgres":
        namespace = services.unique_schema()
        url = f"{services.PG_URL}?schema={namespace}"
    else:
        namespace = services.unique_prefix()
        url = f"{services.REDIS_URL}?prefix={namespace}"
    started: list[ServerProcess] = []
    try:
        for name in ("a", "b"):
            home = tmp_path / name
            home.mkdir()
            started.append(ServerProcess(home, env={"ASDRP_SESSION_URL": url}).start())
        yield started[0], started[1]
    finally:
        for server in started:
            server.terminate()
        asyncio.run(services.drop_namespace(kind, namespace))


async def _chat(client: httpx.AsyncClient, server: ServerProcess, text: str, session_id: str) -> dict:
    response = await client.post(f"{server.url}/agents/{AGENT}/chat", json={"input": text, "session_id": session_id})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["metadata"]["session_id"] == session_id
    return body


async def test_a_conversation_continues_in_context_on_the_other_replica(replicas) -> None:  # type: ignore[no-untyped-def]
    a, b = replicas
    async with httpx.AsyncClient(timeout=60) as client:
        await _chat(client, a, "My name is Zephyrine.", "replica-1")
        answer = await _chat(client, b, "What is my name?", "replica-1")
        assert "Zephyrine" in answer["response"]
        listed = (await client.get(f"{a.url}/sessions")).json()["sessions"]
        assert any(s["session_id"] == "replica-1" for s in listed)


async def test_thirty_two_clients_over_two_replicas_store_every_turn_once_and_in_order(replicas) -> None:  # type: ignore[no-untyped-def]
    servers = replicas
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:

        async def converse(c: int) -> None:
            for n in range(TURNS_PER_CLIENT):
                await _chat(client, servers[(c + n) % 2], f"Remember that turn {c}-{n} happened.", f"load-{c}")

        await asyncio.gather(*(converse(c) for c in range(CLIENTS)))

        for c in range(CLIENTS):
            response = await client.get(f"{servers[c % 2].url}/sessions/load-{c}")
            assert response.status_code == 200, response.text
            said = [i["content"] for i in response.json()["items"] if i["role"] == "user"]
            assert said == [f"Remember that turn {c}-{n} happened." for n in range(TURNS_PER_CLIENT)]


async def test_an_orchestrated_follow_up_on_the_other_replica_uses_the_first_turn(replicas) -> None:  # type: ignore[no-untyped-def]
    a, b = replicas
    async with httpx.AsyncClient(timeout=60) as client:
        first = await client.post(f"{a.url}/agents/moe/chat", json={"input": "Where is Kyoto?"})
        assert first.status_code == 200, first.text
        session_id = first.json()["metadata"]["session_id"]
        follow_up = await client.post(
            f"{b.url}/agents/moe/chat", json={"input": "What time is it there?", "session_id": session_id}
        )
        assert follow_up.status_code == 200, follow_up.text
        assert "Kyoto" in follow_up.json()["response"] and "Asia/Tokyo" in follow_up.json()["response"]
        loan = await client.post(
            f"{a.url}/agents/smartrouter/chat",
            json={"input": "What is a 200000 loan at 5% over 30 years per month?", "session_id": "sr-replicas"},
        )
        assert loan.status_code == 200, loan.text
        shorter = await client.post(
            f"{b.url}/agents/smartrouter/chat", json={"input": "And over 15 years?", "session_id": "sr-replicas"}
        )
        assert "1,581.59" in shorter.json()["response"]


async def test_concurrent_turns_on_one_orchestrated_conversation_are_all_stored_whole_across_replicas(replicas) -> None:  # type: ignore[no-untyped-def]
    servers = replicas
    async with httpx.AsyncClient(timeout=120) as client:

        async def turn(n: int) -> None:
            response = await client.post(
                f"{servers[n % 2].url}/agents/moe/chat",
                json={"input": f"Remember that note {n} matters.", "session_id": "shared-moe"},
            )
            assert response.status_code == 200, response.text

        await asyncio.gather(*(turn(n) for n in range(8)))
        history = (await client.get(f"{servers[0].url}/sessions/shared-moe")).json()["items"]
    roles = [item["role"] for item in history]
    assert roles == ["user", "assistant"] * 8  # every turn whole: never two user messages in a row
    said = sorted(item["content"] for item in history if item["role"] == "user")
    assert said == sorted(f"Remember that note {n} matters." for n in range(8))
