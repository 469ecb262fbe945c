"""Turns on one conversation are serialized (or refused with 409); different conversations run in parallel."""

from __future__ import annotations

import asyncio
from pathlib import Path

from asdrp.server.settings import ServerSettings
from tests.server.conftest import FakeCatalog, app_client, eventually


def body(text: str, session_id: str) -> dict:
    return {"input": text, "session_id": session_id}


async def test_two_turns_on_one_conversation_are_serialized_by_default(home: Path) -> None:
    catalog = FakeCatalog(wait_when_busy=True)
    async with app_client(ServerSettings(), catalog=catalog) as client:
        first = asyncio.create_task(client.post("/agents/gated/chat", json=body("one", "s1")))
        await eventually(lambda: catalog.responder.started == ["one"], "first turn started")
        second = asyncio.create_task(client.post("/agents/gated/chat", json=body("two", "s1")))
        for _ in range(20):
            await asyncio.sleep(0)
        assert catalog.responder.started == ["one"], "the second turn must wait for the first"
        catalog.responder.gate.set()
        responses = await asyncio.gather(first, second)
        assert [r.status_code for r in responses] == [200, 200]
        assert catalog.responder.finished == ["one", "two"]
        detail = (await client.get("/sessions/s1")).json()
        assert [item["content"] for item in detail["items"]] == ["one", "echo: one", "two", "echo: two"]


async def test_a_busy_conversation_is_refused_with_409_when_configured(home: Path) -> None:
    catalog = FakeCatalog(wait_when_busy=False)
    async with app_client(ServerSettings(busy="refuse"), catalog=catalog) as client:
        first = asyncio.create_task(client.post("/agents/gated/chat", json=body("one", "s1")))
        await eventually(lambda: catalog.responder.started == ["one"], "first turn started")
        refused = await client.post("/agents/gated/chat", json=body("two", "s1"))
        assert refused.status_code == 409
        assert refused.json()["error_code"] == "session_busy"
        streamed = await client.post("/agents/gated/chat/stream", json=body("three", "s1"))
        assert streamed.status_code == 409 and streamed.json()["error_code"] == "session_busy"
        catalog.responder.gate.set()
        assert (await first).status_code == 200
        detail = (await client.get("/sessions/s1")).json()
        assert [item["content"] for item in detail["items"]] == ["one", "echo: one"]


async def test_different_conversations_are_answered_in_parallel(home: Path) -> None:
    catalog = FakeCatalog(wait_when_busy=False)
    async with app_client(ServerSettings(busy="refuse"), catalog=catalog) as client:
        tasks = [asyncio.create_task(client.post("/agents/gated/chat", json=body(f"m{i}", f"s{i}"))) for i in range(5)]
        await eventually(lambda: len(catalog.responder.started) == 5, "all five turns in flight at once")
        catalog.responder.gate.set()
        assert [r.status_code for r in await asyncio.gather(*tasks)] == [200] * 5


async def test_an_unexpected_fault_is_a_500_without_traceback(home: Path) -> None:
    catalog = FakeCatalog()
    catalog.responder.fail_with = RuntimeError("secret internal detail at /srv/app.py line 42")
    async with app_client(ServerSettings(), catalog=catalog) as client:
        response = await client.post("/agents/gated/chat", json=body("one", "s1"))
        assert response.status_code == 500
        payload = response.json()
        assert payload["error_code"] == "internal_error"
        assert "secret" not in response.text and "Traceback" not in response.text
        assert set(payload) == {"detail", "error_code"}
        streamed = await client.post("/agents/gated/chat/stream", json=body("two", "s2"))
        assert streamed.status_code == 500 and "Traceback" not in streamed.text
        metrics = (await client.get("/metrics")).text
        assert 'asdrp_errors_total{error_code="internal_error"} 2.0' in metrics
        assert (await client.get("/sessions")).json()["sessions"] == []


async def test_real_specialist_refuses_a_locked_conversation_on_chat_and_stream(home: Path) -> None:
    from asdrp.memory import ConversationKey
    from tests.server.conftest import settings_for

    async with app_client(settings_for(busy="refuse")) as client:
        assert (await client.post("/agents/chitchat/chat", json=body("My name is Zorblax", "held"))).status_code == 200
        store = client.app.state.services.factory.session_store("chitchat")  # type: ignore[attr-defined]
        async with store.lock(ConversationKey("local", "held"), wait=False):
            for path in ("/agents/chitchat/chat", "/agents/chitchat/chat/stream"):
                response = await client.post(path, json=body("What is my name?", "held"))
                assert response.status_code == 409, response.text
                assert response.json()["error_code"] == "session_busy"
        detail = (await client.get("/sessions/held")).json()
        assert [item["role"] for item in detail["items"]] == ["user", "assistant"]
        again = await client.post("/agents/chitchat/chat", json=body("What is my name?", "held"))
        assert "Zorblax" in again.json()["response"]
