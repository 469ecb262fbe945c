"""Chat through HTTP: generated session ids, continuation in context, streaming, agents listing."""

from __future__ import annotations

import httpx
import pytest

from tests.server.conftest import parse_sse

SPECIALIST_AND_ORCHESTRATORS = ["chitchat", "moe", "smartrouter"]


async def chat(client: httpx.AsyncClient, agent: str, text: str, session_id: str | None = None, **kw) -> httpx.Response:
    return await client.post(f"/agents/{agent}/chat", json={"input": text, "session_id": session_id}, **kw)


async def stream(client: httpx.AsyncClient, agent: str, text: str, session_id: str | None = None, **kw) -> list[dict]:
    response = await client.post(f"/agents/{agent}/chat/stream", json={"input": text, "session_id": session_id}, **kw)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return parse_sse(response.text)


@pytest.mark.parametrize("agent", SPECIALIST_AND_ORCHESTRATORS)
async def test_omitted_session_id_is_generated_returned_and_continues_the_conversation(
    client: httpx.AsyncClient, agent: str
) -> None:
    first = await chat(client, agent, "My name is Zorblax")
    assert first.status_code == 200, first.text
    metadata = first.json()["metadata"]
    session_id = metadata["session_id"]
    assert session_id and metadata["agent_id"] == agent and metadata["model"] == "offline"
    assert metadata["session_enabled"] is True
    second = await chat(client, agent, "What is my name?", session_id)
    assert second.status_code == 200, second.text
    assert second.json()["metadata"]["session_id"] == session_id
    assert "Zorblax" in second.json()["response"]
    fresh = await chat(client, agent, "What is my name?")
    assert fresh.json()["metadata"]["session_id"] != session_id
    assert "Zorblax" not in fresh.json()["response"]


@pytest.mark.parametrize("agent", SPECIALIST_AND_ORCHESTRATORS)
async def test_stream_carries_the_same_generated_session_id_first_and_last(
    client: httpx.AsyncClient, agent: str
) -> None:
    events = await stream(client, agent, "My favorite color is teal")
    assert events[0]["type"] == "metadata"
    session_id = events[0]["metadata"]["session_id"]
    assert session_id
    assert events[-1]["type"] == "done" and events[-1]["metadata"]["session_id"] == session_id
    assert all(event["type"] == "token" for event in events[1:-1]) and len(events) > 2
    assert "".join(event["content"] for event in events[1:-1]).strip() == events[-1]["content"].strip()
    follow = await stream(client, agent, "What is my favorite color?", session_id)
    assert follow[0]["metadata"]["session_id"] == session_id == follow[-1]["metadata"]["session_id"]
    assert "teal" in follow[-1]["content"]


async def test_specialist_streams_several_token_deltas(client: httpx.AsyncClient) -> None:
    events = await stream(client, "chitchat", "Hello there, how are you today?")
    tokens = [event for event in events if event["type"] == "token"]
    assert len(tokens) >= 3


async def test_orchestrator_answer_carries_a_trace_of_its_experts(client: httpx.AsyncClient) -> None:
    response = await chat(client, "moe", "Where is Kyoto?")
    assert response.status_code == 200
    assert response.json()["trace"], "MoE reports which experts answered"
    events = await stream(client, "smartrouter", "Where is Kyoto?")
    assert events[-1]["metadata"]["trace"]


async def test_stateless_agent_answers_without_session_memory(client: httpx.AsyncClient) -> None:
    first = await chat(client, "api_agent", "My name is Zorblax")
    assert first.status_code == 200
    metadata = first.json()["metadata"]
    assert metadata["session_enabled"] is False and metadata["session_id"]
    second = await chat(client, "api_agent", "What is my name?", metadata["session_id"])
    assert "Zorblax" not in second.json()["response"]


async def test_agents_lists_specialists_and_both_orchestrators(client: httpx.AsyncClient) -> None:
    response = await client.get("/agents")
    assert response.status_code == 200
    agents = {agent["id"]: agent for agent in response.json()}
    for name in ("geo", "clock", "finance", "calculator", "chitchat", "support", "api_agent"):
        assert agents[name]["kind"] == "agent"
    assert agents["moe"]["kind"] == agents["smartrouter"]["kind"] == "orchestrator"
    assert agents["geo"]["display_name"] == "GeoAgent"
    geo = (await client.get("/agents/GEO")).json()
    assert geo["id"] == "geo" and geo["tools"] and "session_memory" in geo
    assert (await client.get("/agents/api_agent")).json()["session_memory"]["enabled"] is False


async def test_health_docs_and_web_page_are_served(client: httpx.AsyncClient) -> None:
    health = (await client.get("/health")).json()
    assert health["status"] == "ok" and health["mode"] == "local"
    assert (await client.get("/docs")).status_code == 200
    schema = (await client.get("/openapi.json")).json()
    assert "/agents/{agent_id}/chat/stream" in schema["paths"]
    page = await client.get("/")
    assert page.status_code == 200 and "<label" in page.text and "/static/app.js" in page.text
    assert (await client.get("/static/app.js")).status_code == 200


async def test_metrics_count_turns_latency_errors_and_active_sessions(client: httpx.AsyncClient) -> None:
    await chat(client, "chitchat", "Hello")
    await client.post("/agents/nope/chat", json={"input": "x"})
    text = (await client.get("/metrics")).text
    assert 'asdrp_turns_total{agent_id="chitchat",mode="chat",outcome="ok"} 1.0' in text
    assert "asdrp_turn_latency_seconds_bucket" in text
    assert 'asdrp_errors_total{error_code="unknown_agent"} 1.0' in text
    assert "asdrp_active_sessions 1.0" in text
    assert "asdrp_active_turns 0.0" in text
