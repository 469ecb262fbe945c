"""AgentFactory: session caching, ids, paths, persistence across processes, isolation, concurrency."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from agents import Runner

from asdrp.agents.agent_factory import AgentFactory
from asdrp.agents.protocol import AgentException
from asdrp.memory import InvalidDatabasePathError, InvalidSessionIdError

REPO = Path(__file__).resolve().parents[2]
REPO_CONFIG = REPO / "config" / "open_agents.yaml"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ASDRP_HOME", str(tmp_path))
    monkeypatch.delenv("ASDRP_CONFIG", raising=False)
    monkeypatch.delenv("ASDRP_SESSION_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    AgentFactory.reset_instance()
    yield tmp_path
    AgentFactory.reset_instance()


def yaml_with(tmp_path: Path, agents: dict[str, str]) -> Path:
    body = "agents:\n"
    for name, memory in agents.items():
        body += (
            f"  {name}:\n    module: asdrp.agents.single.chitchat_agent\n    function: create_chitchat_agent\n"
            f"    session_memory:\n{memory}"
        )
    path = tmp_path / "agents.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def test_same_id_and_same_file_is_the_same_session_even_via_relative_and_absolute_paths(tmp_path: Path) -> None:
    absolute = tmp_path / "data" / "sessions" / "shared.db"
    config = yaml_with(
        tmp_path,
        {
            "rel": "      database_path: data/sessions/shared.db\n",
            "abs": f"      database_path: {absolute}\n",
            "other": "      database_path: data/sessions/other.db\n",
        },
    )
    factory = AgentFactory(config)
    assert factory.get_session("rel", "s1") is factory.get_session("abs", "s1")
    assert factory.get_session("rel", "s1") is not factory.get_session("rel", "s2")
    assert factory.get_session("rel", "s1") is not factory.get_session("other", "s1")


def test_session_id_defaults_to_configured_then_derived_and_explicit_overrides(tmp_path: Path) -> None:
    config = yaml_with(
        tmp_path,
        {"fixed": "      session_id: configured\n", "derived": "      database_path: null\n"},
    )
    factory = AgentFactory(config)
    assert factory.get_session("fixed").session_id == "configured"
    assert factory.get_session("fixed", session_id="explicit").session_id == "explicit"
    derived = factory.get_session("derived").session_id
    assert "derived" in derived and derived == factory.get_session("DERIVED").session_id


def test_parent_directories_of_a_file_database_are_created(tmp_path: Path) -> None:
    config = yaml_with(tmp_path, {"deep": "      database_path: data/sessions/nested/path/agent.db\n"})
    AgentFactory(config).get_session("deep", "s1")
    assert (tmp_path / "data" / "sessions" / "nested" / "path").is_dir()


def test_disabled_memory_returns_no_session(tmp_path: Path) -> None:
    config = yaml_with(tmp_path, {"disabled": "      enabled: false\n", "typenone": "      type: none\n"})
    factory = AgentFactory(config)
    assert factory.get_session("disabled") is None
    assert factory.get_session("typenone") is None


@pytest.mark.parametrize("bad", ["x" * 129, "a/b", "../etc", "a..b", "", "sp ace"])
def test_malformed_session_ids_are_rejected(bad: str) -> None:
    factory = AgentFactory(REPO_CONFIG)
    with pytest.raises(InvalidSessionIdError):
        factory.get_session("geo", session_id=bad)


def test_database_path_escaping_the_data_root_is_refused(tmp_path: Path) -> None:
    config = yaml_with(tmp_path, {"escape": "      database_path: data/sessions/../../../outside.db\n"})
    with pytest.raises(InvalidDatabasePathError, match="outside.db"):
        AgentFactory(config).get_session("escape", "s1")
    assert not (tmp_path.parent / "outside.db").exists()


async def test_unknown_agent_lists_the_valid_names() -> None:
    factory = AgentFactory(REPO_CONFIG)
    with pytest.raises(AgentException, match=r"Unknown agent 'nope'.*geo.*finance"):
        await factory.get_agent("nope")


def test_config_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASDRP_CONFIG", str(yaml_with(tmp_path, {"only": "      type: none\n"})))
    assert AgentFactory().agent_names() == ["only"]


TURN = """
import asyncio, sys
from agents import Runner
from asdrp.agents.agent_factory import get_agent_with_session

async def main():
    agent, session = await get_agent_with_session("support", session_id="ticket_1")
    result = await Runner.run(agent, input=sys.argv[1], session=session)
    print(result.final_output)

asyncio.run(main())
"""


def test_conversation_continues_in_a_new_process(tmp_path: Path) -> None:
    env = {**os.environ, "ASDRP_HOME": str(tmp_path), "ASDRP_CONFIG": str(REPO_CONFIG)}
    env.pop("OPENAI_API_KEY", None)

    def turn(text: str) -> str:
        done = subprocess.run([sys.executable, "-c", TURN, text], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    turn("My name is Zorblax")
    assert "Zorblax" in turn("What is my name?")


async def test_interleaved_sessions_never_see_each_other() -> None:
    factory = AgentFactory(REPO_CONFIG)
    agent, first = await factory.get_agent_with_session("chitchat", session_id="first")
    _, second = await factory.get_agent_with_session("chitchat", session_id="second")
    await Runner.run(agent, input="My name is Zorblax", session=first)
    await Runner.run(agent, input="My name is Quibble", session=second)
    assert "Zorblax" in (await Runner.run(agent, input="What is my name?", session=first)).final_output
    other = (await Runner.run(agent, input="What is my name?", session=second)).final_output
    assert "Quibble" in other and "Zorblax" not in other
    assert all("Quibble" not in str(item) for item in await first.get_items())


async def test_fifty_concurrent_turns_on_distinct_sessions_lose_nothing() -> None:
    factory = AgentFactory(REPO_CONFIG)
    agent = await factory.get_agent("chitchat")
    sessions = [factory.get_session("chitchat", session_id=f"c{i}") for i in range(50)]
    await asyncio.gather(*(Runner.run(agent, input=f"My name is N{i}x", session=s) for i, s in enumerate(sessions)))
    for i, session in enumerate(sessions):
        items = await session.get_items()
        assert len(items) == 2
        assert items[0]["content"] == f"My name is N{i}x"


async def test_clock_agent_answers_there_from_an_earlier_turn() -> None:
    factory = AgentFactory(REPO_CONFIG)
    agent, session = await factory.get_agent_with_session("clock", session_id="kyoto")
    await Runner.run(agent, input="Where is Kyoto?", session=session)
    answer = (await Runner.run(agent, input="What time is it there?", session=session)).final_output
    assert "Kyoto" in answer and "Asia/Tokyo" in answer


async def test_a_tool_error_reaches_the_user_with_its_reason() -> None:
    factory = AgentFactory(REPO_CONFIG)
    agent, session = await factory.get_agent_with_session("calculator", session_id="calc")
    answer = (await Runner.run(agent, input="What is 1/0?", session=session)).final_output
    assert "division by zero" in answer.lower()
