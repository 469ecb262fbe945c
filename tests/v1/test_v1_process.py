"""`/v1` across a restart, with a busy conversation, and as the Agents SDK's `OpenAIConversationsSession`."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import openai
from agents import Agent, OpenAIConversationsSession, Runner, set_tracing_disabled

from asdrp.models import OfflineModel
from tests.server.conftest import ServerProcess, config_with_agent
from tests.v1.conftest import ALICE_KEY, KEYS_ENV, async_openai_client, openai_client


def slow_config(home: Path) -> Path:
    return config_with_agent(home, "slow", {
        "display_name": "SlowAgent", "module": "tests.server.slow_agent", "function": "create_slow_agent",
        "default_instructions": "You answer slowly.",
        "session_memory": {"type": "sqlite", "database_path": "data/sessions/agents.db"},
    })


def both_at_once(call: Callable[[], object]) -> list[object]:
    """Run `call` in two threads released together; each result or exception."""
    barrier = threading.Barrier(2)
    outcomes: list[object] = [None, None]

    def run(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = call()
        except Exception as exc:  # the caller inspects which one was refused
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def test_conversations_chains_and_stored_responses_survive_a_restart(tmp_path: Path) -> None:
    first = ServerProcess(tmp_path, env=KEYS_ENV).start()
    try:
        with openai_client(first, ALICE_KEY) as client:
            conversation = client.conversations.create(metadata={"kept": "yes"})
            client.responses.create(model="moe", input="My name is Ludovica", conversation=conversation.id)
            chained = client.responses.create(model="smartrouter", input="My favorite city is Porto")
            ids = [item.id for item in client.conversations.items.list(conversation.id, order="asc")]
    finally:
        assert first.terminate() == 0
    second = ServerProcess(tmp_path, env=KEYS_ENV).start()
    try:
        with openai_client(second, ALICE_KEY) as client:
            assert client.conversations.retrieve(conversation.id).metadata == {"kept": "yes"}
            assert [item.id for item in client.conversations.items.list(conversation.id, order="asc")] == ids
            assert client.responses.retrieve(chained.id).output_text == chained.output_text
            again = client.responses.create(model="moe", input="What is my name?", conversation=conversation.id)
            assert "Ludovica" in again.output_text
            follow = client.responses.create(
                model="smartrouter", input="What is my favorite city?", previous_response_id=chained.id
            )
            assert "Porto" in follow.output_text
    finally:
        second.terminate()


def test_a_busy_conversation_is_a_conflict_when_the_server_refuses(tmp_path: Path) -> None:
    server = ServerProcess(
        tmp_path, config=slow_config(tmp_path), env={**KEYS_ENV, "ASDRP_BUSY": "refuse", "ASDRP_TEST_SLOW_S": "1.5"}
    ).start()
    try:
        with openai_client(server, ALICE_KEY) as client:
            conversation = client.conversations.create(items=[{"role": "user", "content": "hello"}])
            for _ in range(5):  # two turns at once; retried only if the machine ran them one after the other
                outcomes = both_at_once(lambda: client.responses.create(
                    model="slow", input="one", conversation=conversation.id))
                refused = [o for o in outcomes if isinstance(o, openai.ConflictError)]
                if refused:
                    break
            assert len(refused) == 1 and refused[0].body["code"] == "session_busy"  # type: ignore[index]
            assert sum(not isinstance(o, Exception) for o in outcomes) == 1  # the other turn was answered
    finally:
        server.terminate()


async def test_the_agents_sdk_conversations_session_runs_two_turns_against_asdrp(tmp_path: Path) -> None:
    server = await asyncio.to_thread(lambda: ServerProcess(tmp_path, env=KEYS_ENV).start())
    try:
        set_tracing_disabled(True)
        async with async_openai_client(server, ALICE_KEY) as client:
            session = OpenAIConversationsSession(openai_client=client)
            agent = Agent(name="Assistant", instructions="Be helpful.", model=OfflineModel())
            await Runner.run(agent, "My name is Gwendolyn", session=session)
            result = await Runner.run(agent, "What is my name?", session=session)
            assert "Gwendolyn" in str(result.final_output)
            items = await session.get_items()
            assert len(items) == 4
            assert (await session.pop_item()) is not None
            assert len(await session.get_items()) == 3
            conversation_id = session.session_id
        listed = httpx.get(f"{server.url}/sessions/{conversation_id}", headers={"X-API-Key": ALICE_KEY}, timeout=30)
        assert listed.status_code == 200 and len(listed.json()["items"]) == 3
    finally:
        await asyncio.to_thread(server.terminate)
