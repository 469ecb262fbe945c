"""Real streaming through the orchestrators: the answering specialist's tokens reach the caller as made.

The specialist here runs on a gated model that sends its first word and then waits: if an
orchestrator only chunked the finished answer, no token could arrive while the gate is shut.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from agents import Agent

from asdrp.agents.agent_factory import AgentFactory
from asdrp.memory import ConversationKey
from asdrp.models import OfflineModel
from asdrp.orchestration.conversation import ConversationOrchestrator
from tests.orchestration.conftest import build

HANG_GUARD_S = 30
"""Only stops a broken test from hanging; no test here measures time."""


class GatedModel(OfflineModel):
    """The offline model whose text deltas after the first wait for `gate`."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        sent = 0
        async for event in super().stream_response(*args, **kwargs):
            if getattr(event, "type", "") == "response.output_text.delta":
                if sent:
                    await self.gate.wait()
                sent += 1
            yield event


def gate_specialists(orchestrator: ConversationOrchestrator, factory: AgentFactory) -> GatedModel:
    """Every specialist the orchestrator consults runs on one gated model."""
    model = GatedModel()

    async def gated_agent(name: str) -> Agent:
        real = await factory.get_agent(name)
        return real.clone(model=model)

    orchestrator._agent = gated_agent  # type: ignore[method-assign]
    return model


async def transcript(orchestrator: ConversationOrchestrator, session_id: str) -> list[dict[str, Any]]:
    return await orchestrator.memory.transcript.tail(ConversationKey("local", session_id), 10)


@pytest.mark.parametrize("kind", ["moe", "smartrouter"])
async def test_the_specialists_first_token_arrives_before_its_answer_is_finished(
    factory: AgentFactory, kind: str
) -> None:
    orchestrator = await build(kind, factory)
    model = gate_specialists(orchestrator, factory)
    stream = orchestrator.stream_query("What time is it in Tokyo?", session_id=f"stream-{kind}")
    first = await asyncio.wait_for(anext(stream), HANG_GUARD_S)
    assert first.type == "token" and first.content
    assert not model.gate.is_set()  # the specialist is still answering
    assert await transcript(orchestrator, f"stream-{kind}") == []  # nothing recorded before the turn ends
    model.gate.set()
    rest = [event async for event in stream]
    done = rest[-1]
    assert done.type == "done" and done.result is not None
    tokens = [first.content, *(event.content for event in rest[:-1] if event.type == "token")]
    assert "".join(tokens).strip() == done.result.answer
    assert len(await transcript(orchestrator, f"stream-{kind}")) == 2  # recorded once, after it ended


@pytest.mark.parametrize("kind", ["moe", "smartrouter"])
async def test_a_client_leaving_mid_answer_records_nothing_and_frees_the_conversation(
    factory: AgentFactory, kind: str
) -> None:
    orchestrator = await build(kind, factory)
    gate_specialists(orchestrator, factory)
    stream = orchestrator.stream_query("What time is it in Tokyo?", session_id=f"leave-{kind}")
    assert (await asyncio.wait_for(anext(stream), HANG_GUARD_S)).type == "token"
    await stream.aclose()
    assert await transcript(orchestrator, f"leave-{kind}") == []
    orchestrator._agent = factory.get_agent  # type: ignore[method-assign]
    again = await asyncio.wait_for(
        orchestrator.route_query("What time is it in Tokyo?", session_id=f"leave-{kind}"), HANG_GUARD_S
    )
    assert again.answer and len(await transcript(orchestrator, f"leave-{kind}")) == 2


async def test_several_experts_are_mixed_first_then_sent_in_chunks(factory: AgentFactory) -> None:
    orchestrator = await build("moe", factory)
    events = [event async for event in orchestrator.stream_query("Where is Kyoto and what time is it there?")]
    done = events[-1]
    assert done.type == "done" and done.result is not None
    assert "".join(e.content for e in events if e.type == "token") == done.result.answer
