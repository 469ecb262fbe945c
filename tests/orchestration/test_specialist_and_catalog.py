"""Direct specialists as Responders, and the catalog that lists and hands out every responder."""

from __future__ import annotations

import pytest

from asdrp.agents.agent_factory import AgentFactory
from asdrp.agents.protocol import AgentException
from asdrp.memory import ConversationKey, SessionBusyError
from asdrp.orchestration.base import Responder
from asdrp.orchestration.catalog import ResponderCatalog
from asdrp.orchestration.specialist import SpecialistResponder


async def test_direct_specialist_remembers_its_own_conversation(factory: AgentFactory) -> None:
    geo = SpecialistResponder(factory, "geo")
    first = await geo.route_query("Where is Kyoto?", user="alice")
    assert first.session_enabled and first.session_id and "Kyoto" in first.answer and first.model == "offline"
    again = await geo.route_query("How far is it from Osaka?", first.session_id, user="alice")
    assert "Kyoto" in again.answer


async def test_stateless_specialist_returns_a_session_id_but_keeps_nothing(factory: AgentFactory) -> None:
    api = SpecialistResponder(factory, "api_agent")
    result = await api.route_query("What is 2 + 3?", "given")
    assert result.session_id == "given" and result.session_enabled is False and "5" in result.answer


async def test_streaming_yields_tokens_then_done_and_stores_the_turn(factory: AgentFactory) -> None:
    clock = SpecialistResponder(factory, "clock")
    events = [e async for e in clock.stream_query("What time is it in Lima?", "stream-1")]
    assert [e.type for e in events][-1] == "done" and any(e.type == "token" for e in events)
    done = events[-1]
    assert "".join(e.content for e in events if e.type == "token") == done.content
    assert done.result is not None and done.result.session_id == "stream-1"
    history = await factory.session_store("clock").read(ConversationKey("local", "stream-1"))
    assert history[0].item["content"] == "What time is it in Lima?" and history[-1].role == "assistant"


async def test_cancelled_stream_leaves_no_half_written_turn(factory: AgentFactory) -> None:
    clock = SpecialistResponder(factory, "clock")
    stream = clock.stream_query("What time is it in Lima?", "stream-cancel")
    await anext(stream)
    await stream.aclose()
    assert await factory.session_store("clock").read(ConversationKey("local", "stream-cancel")) == []


async def test_specialist_can_refuse_a_busy_conversation(factory: AgentFactory) -> None:
    geo = SpecialistResponder(factory, "geo", wait_when_busy=False)
    async with factory.session_store("geo").lock(ConversationKey("local", "busy"), wait=True):
        with pytest.raises(SessionBusyError):
            await geo.route_query("Where is Kyoto?", "busy")
        events = [e async for e in geo.stream_query("Where is Kyoto?", "busy")]
        assert [e.type for e in events] == ["error"] and "busy" in events[0].content


async def test_orchestrator_stream_ends_with_done_carrying_the_session(factory: AgentFactory) -> None:
    catalog = ResponderCatalog(factory)
    events = [e async for e in catalog.get("moe").stream_query("Where is Kyoto?", "s-stream")]
    assert events[-1].type == "done" and events[-1].result.session_id == "s-stream"
    assert "".join(e.content for e in events if e.type == "token") == events[-1].content


async def test_catalog_lists_agents_and_orchestrators(factory: AgentFactory, home) -> None:
    catalog = ResponderCatalog(factory)
    descriptors = {d["id"]: d for d in catalog.descriptors()}
    assert set(descriptors) == set(factory.agent_names()) | {"moe", "smartrouter"}
    assert descriptors["geo"]["kind"] == "agent" and "geocode" in descriptors["geo"]["tools"]
    assert descriptors["api_agent"]["session_memory"]["enabled"] is False
    moe = descriptors["moe"]
    assert moe["kind"] == "orchestrator" and moe["session_memory"]["type"] == "sqlite"
    assert moe["session_memory"]["database_path"] == str(home / "data" / "sessions" / "moe.db")
    await catalog.aclose()


async def test_catalog_get_is_case_insensitive_and_names_valid_ids(factory: AgentFactory) -> None:
    catalog = ResponderCatalog(factory)
    assert isinstance(catalog.get("GEO"), Responder) and catalog.get("MoE").agent_id == "moe"
    assert catalog.get("SmartRouter").agent_id == "smartrouter"
    with pytest.raises(AgentException, match="valid ids: .*geo.*moe.*smartrouter"):
        catalog.get("astrologer")


async def test_catalog_stores_hold_user_sessions_but_not_tool_memory(factory: AgentFactory) -> None:
    catalog = ResponderCatalog(factory)
    stores = catalog.stores()
    moe = catalog.orchestrator("moe")
    assert moe.memory.transcript in stores and moe.memory.tools not in stores
    assert factory.session_store("geo") in stores and len(stores) == len({id(s) for s in stores})
