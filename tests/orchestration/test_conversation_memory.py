"""The acceptance core: one conversation holds together across specialists, users, sessions and time.

Every test goes through an orchestrator's public `route_query` and runs for MoE and SmartRouter.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from asdrp.agents.agent_factory import AgentFactory
from asdrp.memory import ConversationKey
from asdrp.orchestration.conversation import ConversationOrchestrator
from asdrp.orchestration.specialist import SpecialistResponder
from tests.orchestration.conftest import MOE_YAML, REPO, SMARTROUTER_YAML, build, write_yaml

LOAN = "What is a 200000 loan at 5% over 30 years per month?"


def agents_of(result) -> list[str]:
    return [
        entry["agent"]
        for entry in result.trace
        if entry.get("type") in ("expert", "subquery") and entry["status"] == "ok"
    ]


async def test_follow_up_routed_to_another_specialist_resolves_there(orchestrator: ConversationOrchestrator) -> None:
    first = await orchestrator.route_query("Where is Kyoto?")
    assert "Kyoto" in first.answer and agents_of(first) == ["geo"]
    second = await orchestrator.route_query("What time is it there?", first.session_id)
    assert agents_of(second) == ["clock"]
    assert "Kyoto" in second.answer and "Asia/Tokyo" in second.answer
    assert second.session_id == first.session_id


async def test_loan_follow_up_without_domain_gets_the_15_year_payment(orchestrator: ConversationOrchestrator) -> None:
    first = await orchestrator.route_query(LOAN)
    assert "1,073.64" in first.answer
    second = await orchestrator.route_query("And over 15 years?", first.session_id)
    assert "15 years" in second.answer and "1,581.59" in second.answer


async def test_recall_across_unrelated_turns(orchestrator: ConversationOrchestrator) -> None:
    sid = (await orchestrator.route_query("My name is Zorblax")).session_id
    await orchestrator.route_query("Where is Paris?", sid)
    await orchestrator.route_query("What is 17 * 23?", sid)
    answer = (await orchestrator.route_query("What is my name?", sid)).answer
    assert "Zorblax" in answer


async def test_transcript_stores_what_the_user_saw_tagged_with_the_agent(
    orchestrator: ConversationOrchestrator
) -> None:
    result = await orchestrator.route_query("Where is Kyoto?", "tagged")
    history = await orchestrator.memory.transcript.read(ConversationKey("local", "tagged"))
    assert [h.role for h in history] == ["user", "assistant"]
    assert history[0].item["content"] == "Where is Kyoto?"
    assert history[1].item["content"][0]["text"] == result.answer
    assert {h.agent for h in history} == {"geo"}
    info = await orchestrator.memory.transcript.info(ConversationKey("local", "tagged"))
    assert info is not None and info.agent_id == orchestrator.agent_id


def route_everything_to(agent: str, kind: str):
    """A YAML change sending every turn of `kind` to one agent."""

    def moe(data):
        data["experts"] = {"everything": {"agents": [agent], "capabilities": ["name, remember, places, time"],
                                          "examples": ["What is my name?"], "weight": 1.0}}
        data["fast_path"]["agent"] = agent
        data["execution"]["fallback_agent"] = agent

    def smartrouter(data):
        for capability in data["capabilities"].values():
            capability["agent"] = agent

    return moe if kind == "moe" else smartrouter


@pytest.mark.parametrize("kind", ["moe", "smartrouter"])
async def test_stateless_specialist_sees_previous_turn_via_orchestrator_but_not_directly(
    kind: str, factory: AgentFactory, tmp_path
) -> None:
    assert not factory.agent_config("api_agent").session_memory.is_active
    base = MOE_YAML if kind == "moe" else SMARTROUTER_YAML
    orchestrator = await build(
        kind, factory, write_yaml(tmp_path / f"{kind}.yaml", base, route_everything_to("api_agent", kind))
    )
    sid = (await orchestrator.route_query("My name is Zorblax")).session_id
    result = await orchestrator.route_query("What is my name?", sid)
    assert agents_of(result) == ["api_agent"] and "Zorblax" in result.answer

    direct = SpecialistResponder(factory, "api_agent")
    first = await direct.route_query("My name is Zorblax")
    assert first.session_enabled is False
    again = await direct.route_query("What is my name?", first.session_id)
    assert "Zorblax" not in again.answer


async def test_sessions_and_users_do_not_leak(orchestrator: ConversationOrchestrator) -> None:
    await orchestrator.route_query("My name is Alpha", "s-a")
    await orchestrator.route_query("My name is Beta", "s-b")
    await orchestrator.route_query("Where is Kyoto?", "s-a")
    await orchestrator.route_query("Where is Lima?", "s-b")
    assert "Alpha" in (await orchestrator.route_query("What is my name?", "s-a")).answer
    beta = (await orchestrator.route_query("What is my name?", "s-b")).answer
    assert "Beta" in beta and "Alpha" not in beta
    assert "Lima" in (await orchestrator.route_query("What time is it there?", "s-b")).answer

    await orchestrator.route_query("My name is Carol", "shared", user="carol")
    await orchestrator.route_query("Where is Oslo?", "shared", user="carol")
    dave = await orchestrator.route_query("What is my name?", "shared", user="dave")
    assert "Carol" not in dave.answer
    dave_time = await orchestrator.route_query("What time is it there?", "shared", user="dave")
    assert "Oslo" not in dave_time.answer
    assert "Carol" in (await orchestrator.route_query("What is my name?", "shared", user="carol")).answer


async def test_a_session_and_user_starting_with_a_dot_keep_their_side_memory(
    orchestrator: ConversationOrchestrator,
) -> None:
    """".x" is a valid session id and ".dot" a valid user: their side namespaces ("_tools.<user>",
    "_route.<id>") must not join them into an invalid ".." id (found by the stateful fuzz test)."""
    await orchestrator.route_query("Where is Kyoto?", ".x", user=".dot")
    assert "Kyoto" in (await orchestrator.route_query("What time is it there?", ".x", user=".dot")).answer


async def test_ten_concurrent_requests_on_one_conversation_are_all_stored_whole(
    orchestrator: ConversationOrchestrator,
) -> None:
    queries = [f"What is {n} * 3?" for n in range(10)]
    await asyncio.gather(*(orchestrator.route_query(q, "busy") for q in queries))
    history = await orchestrator.memory.transcript.read(ConversationKey("local", "busy"))
    assert len(history) == 20
    asked = []
    for user_item, answer_item in zip(history[::2], history[1::2]):
        assert user_item.role == "user" and answer_item.role == "assistant"
        n = re.match(r"What is (\d+) \* 3\?", user_item.item["content"]).group(1)
        assert str(int(n) * 3) in answer_item.item["content"][0]["text"]
        asked.append(user_item.item["content"])
    assert sorted(asked) == sorted(queries)


async def test_busy_conversation_can_be_refused_instead_of_waiting(factory: AgentFactory) -> None:
    from asdrp.memory import SessionBusyError

    moe = await build("moe", factory, wait_when_busy=False)
    key = ConversationKey("local", "refuse")
    async with moe.memory.lock(key, wait=True):
        try:
            await moe.route_query("Where is Kyoto?", "refuse")
        except SessionBusyError as exc:
            assert "refuse" in str(exc)
        else:
            raise AssertionError("a busy conversation must be refused when wait_when_busy is false")
    assert (await moe.route_query("Where is Kyoto?", "refuse")).answer


async def test_different_conversations_run_in_parallel(orchestrator: ConversationOrchestrator) -> None:
    # holding one conversation's lock must not block another conversation
    async with orchestrator.memory.lock(ConversationKey("local", "held"), wait=True):
        other = await asyncio.wait_for(orchestrator.route_query("Where is Kyoto?", "free"), 60)
    assert "Kyoto" in other.answer


async def test_specialist_tool_memory_is_kept_and_given_back(orchestrator: ConversationOrchestrator) -> None:
    sid = (await orchestrator.route_query(LOAN)).session_id
    key = ConversationKey("local", sid)
    stored = await orchestrator.memory.tool_memory(key, "finance")
    assert [i["type"] for i in stored] == ["function_call", "function_call_output"]
    state = await orchestrator.memory.load(key)
    given = await orchestrator.memory.specialist_input(state, "finance", "And over 15 years?")
    kinds = [i.get("type", "message") if "role" not in i or i.get("type") else "message" for i in given]
    # chronological: user question, its tool call and result, then the answer the user saw, then the query
    assert given[0]["role"] == "user" and given[1]["type"] == "function_call"
    assert given[2]["type"] == "function_call_output" and given[3]["role"] == "assistant"
    assert given[-1] == {"role": "user", "content": "And over 15 years?"}
    assert all("_answer" not in item and "id" not in item for item in given), kinds
    # tool memory is not a user session
    sessions, _ = await orchestrator.memory.transcript.list_sessions("local")
    assert [s.session_id for s in sessions] == [sid]
    assert (await orchestrator.memory.tools.list_sessions("local"))[0] == []


async def test_deleted_conversation_does_not_bring_back_side_memory(orchestrator: ConversationOrchestrator) -> None:
    await orchestrator.route_query("Where is Kyoto?", "gone")
    await orchestrator.memory.transcript.delete(ConversationKey("local", "gone"))
    result = await orchestrator.route_query("What time is it there?", "gone")
    assert "Kyoto" not in result.answer


RESTART_SCRIPT = """
import asyncio, json, sys
from asdrp.agents.agent_factory import AgentFactory
from asdrp.orchestration.moe import MoEOrchestrator
from asdrp.orchestration.smartrouter import SmartRouter

async def main(jobs, config):
    factory = AgentFactory(config_path=config)
    orchestrators = {"moe": await MoEOrchestrator.create(factory), "smartrouter": await SmartRouter.create(factory)}
    answers = []
    for kind, query, sid in jobs:
        result = await orchestrators[kind].route_query(query, sid)
        answers.append({"answer": result.answer, "session_id": result.session_id})
    print(json.dumps(answers))
    await factory.aclose()

asyncio.run(main(json.loads(sys.argv[1]), sys.argv[2]))
"""


async def run_in_new_process(home, jobs: list[tuple[str, str, str | None]]) -> list[dict]:
    """Run turns in a fresh Python process on the same ASDRP_HOME (same database files)."""
    import json
    import os
    import sys

    env = dict(os.environ, ASDRP_HOME=str(home), ASDRP_MODEL_PROVIDER="offline")
    env.pop("ASDRP_SESSION_URL", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", RESTART_SCRIPT, json.dumps(jobs), str(REPO / "config" / "open_agents.yaml"),
        cwd=str(home), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()[-2000:]
    return json.loads(out.decode().strip().splitlines()[-1])


async def test_follow_ups_survive_a_process_restart(home) -> None:
    kinds = ("moe", "smartrouter")
    firsts = await run_in_new_process(home, [(k, q, None) for k in kinds for q in ("Where is Kyoto?", LOAN)])
    follow_ups = [(k, q, firsts[2 * i + j]["session_id"])
                  for i, k in enumerate(kinds) for j, q in enumerate(("What time is it there?", "And over 15 years?"))]
    seconds = await run_in_new_process(home, follow_ups)
    for i in range(len(kinds)):
        assert "Kyoto" in seconds[2 * i]["answer"] and "Asia/Tokyo" in seconds[2 * i]["answer"]
        assert "1,581.59" in seconds[2 * i + 1]["answer"]
    assert (home / "data" / "sessions" / "moe.db").exists()
    assert (home / "data" / "sessions" / "smartrouter.db").exists()
