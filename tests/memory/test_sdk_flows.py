"""Every SDK flow keeps a conversation whole, on every store: approvals, tool-ended runs, wrappers.

The expected histories are written out from what the flow means (the user's message, the call,
its output, the answer — once, in order), and where the SDK decides an item's content (a rejected
call's output) the reference is the SDK's own SQLiteSession running the same script.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from agents import Agent, Runner, RunState, SQLiteSession, StopAtTools, function_tool, set_tracing_disabled
from agents.testing import ModelStep, ScriptedModel, assistant_message, function_call

from asdrp.memory import ConversationKey, ConversationSession, SessionStore, StaleTurnError
from tests.memory.conftest import StoreFactory

set_tracing_disabled(True)

APPROVAL_TOOL_OUTPUT = "deleted report.txt"


@function_tool(needs_approval=True)
def delete_file(name: str) -> str:
    """Delete a file (a human must approve)."""
    return f"deleted {name}"


@function_tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def approval_agent(model: ScriptedModel) -> Agent:
    return Agent(name="files", instructions="Manage files.", model=model, tools=[delete_file])


def approval_script(tag: str) -> ScriptedModel:
    return ScriptedModel(
        [
            [function_call("delete_file", {"name": "report.txt"}, call_id=f"call-{tag}")],
            [assistant_message("The file is gone.", item_id=f"msg-{tag}")],
        ]
    )


def shape(items: list[dict[str, Any]]) -> list[str]:
    """role or type of each item, e.g. ["user", "function_call", "function_call_output", "assistant"]."""
    return [str(item.get("role") or item.get("type")) for item in items]


@pytest.fixture
async def store(store_factory: tuple[str, StoreFactory], tmp_path: Path) -> AsyncIterator[SessionStore]:
    opened = await store_factory[1](tmp_path)
    yield opened
    await opened.close()


async def stored(store: SessionStore, key: ConversationKey) -> list[dict[str, Any]]:
    return [s.item for s in await store.read(key)]


# --- human in the loop -------------------------------------------------------------------------


async def test_an_approved_call_resumed_in_process_stores_the_whole_turn_once(store: SessionStore, user: str) -> None:
    session = ConversationSession(store, "hitl", user=user)
    agent = approval_agent(approval_script("a"))
    first = await Runner.run(agent, "Delete report.txt", session=session)
    assert len(first.interruptions) == 1
    assert await session.get_items() == []  # nothing visible while the approval waits
    state = first.to_state()
    state.approve(first.interruptions[0])
    second = await Runner.run(agent, state, session=session)
    assert second.final_output == "The file is gone."
    history = await stored(store, session.key)
    assert shape(history) == ["user", "function_call", "function_call_output", "assistant"]
    assert history[0]["content"] == "Delete report.txt"
    assert history[2]["output"] == APPROVAL_TOOL_OUTPUT
    assert history[1]["call_id"] == history[2]["call_id"] == "call-a"


async def test_a_run_resumed_from_json_by_another_store_object_settles_the_staged_turn(
    shared_store_factory: tuple[str, StoreFactory], tmp_path: Path, user: str
) -> None:
    """What another process or replica does: new store, new session, state from JSON."""
    first_store = await shared_store_factory[1](tmp_path)
    agent = approval_agent(approval_script("b"))
    try:
        first = await Runner.run(agent, "Delete report.txt", session=ConversationSession(first_store, "j", user=user))
        saved = first.to_state().to_json()
    finally:
        await first_store.close()
    second_store = await shared_store_factory[1](tmp_path)
    try:
        state = await RunState.from_json(agent, saved)
        state.approve(state.get_interruptions()[0])
        await Runner.run(agent, state, session=ConversationSession(second_store, "j", user=user))
        history = await stored(second_store, ConversationKey(user, "j"))
        assert shape(history) == ["user", "function_call", "function_call_output", "assistant"]
        assert await second_store.staged(ConversationKey(user, "j")) == []
    finally:
        await second_store.close()


async def test_a_streamed_interrupted_run_resumed_streamed_stores_the_turn_once(store: SessionStore, user: str) -> None:
    session = ConversationSession(store, "stream", user=user)
    agent = approval_agent(approval_script("c"))
    first = Runner.run_streamed(agent, "Delete report.txt", session=session)
    async for _ in first.stream_events():
        pass
    state = first.to_state()
    state.approve(first.interruptions[0])
    second = Runner.run_streamed(agent, state, session=session)
    async for _ in second.stream_events():
        pass
    assert shape(await stored(store, session.key)) == ["user", "function_call", "function_call_output", "assistant"]


async def test_a_rejected_call_is_stored_as_the_sdk_stores_it(store: SessionStore, user: str, tmp_path: Path) -> None:
    async def run(session: Any) -> None:
        agent = approval_agent(approval_script("d"))
        first = await Runner.run(agent, "Delete report.txt", session=session)
        state = first.to_state()
        state.reject(first.interruptions[0])
        await Runner.run(agent, state, session=session)

    ours = ConversationSession(store, "reject", user=user)
    reference = SQLiteSession("reference", str(tmp_path / "sdk.db"))
    await run(ours)
    await run(reference)
    assert await stored(store, ours.key) == await reference.get_items()


async def test_resuming_the_same_interruption_twice_stores_it_once(store: SessionStore, user: str) -> None:
    session = ConversationSession(store, "twice", user=user)
    agent = approval_agent(
        ScriptedModel(
            [
                [function_call("delete_file", {"name": "report.txt"}, call_id="call-e")],
                [assistant_message("Done.", item_id="m-e1")],
                [assistant_message("Done again.", item_id="m-e2")],
            ]
        )
    )
    first = await Runner.run(agent, "Delete report.txt", session=session)
    saved = first.to_state().to_json()
    for attempt in range(2):
        state = await RunState.from_json(agent, saved)
        state.approve(state.get_interruptions()[0])
        if attempt == 0:
            await Runner.run(agent, state, session=ConversationSession(store, "twice", user=user))
        else:
            with pytest.raises(StaleTurnError):
                await Runner.run(agent, state, session=ConversationSession(store, "twice", user=user))
    assert shape(await stored(store, session.key)) == ["user", "function_call", "function_call_output", "assistant"]


async def test_a_later_turn_after_an_abandoned_approval_is_stored_and_the_model_sees_no_orphan_call(
    store: SessionStore, user: str
) -> None:
    session = ConversationSession(store, "abandon", user=user)
    model = ScriptedModel(
        [
            [function_call("delete_file", {"name": "report.txt"}, call_id="call-f")],
            [assistant_message("Hello.", item_id="m-f")],
        ]
    )
    agent = approval_agent(model)
    await Runner.run(agent, "Delete report.txt", session=session)  # interrupted, never resumed
    await Runner.run(agent, "Never mind. Hi!", session=session)
    assert [item.get("content") for item in await stored(store, session.key)][:1] == ["Never mind. Hi!"]
    seen = model.calls[-1].input
    assert not any(isinstance(i, dict) and i.get("type") == "function_call" for i in seen)


# --- runs that end on a tool result, and runs that end badly --------------------------------------


@pytest.mark.parametrize(
    "behaviour", ["stop_on_first_tool", StopAtTools(stop_at_tool_names=["add"])], ids=["first", "at"]
)
@pytest.mark.parametrize("streamed", [False, True], ids=["run", "streamed"])
async def test_a_run_that_ends_on_a_tool_result_is_stored(
    store: SessionStore, user: str, behaviour: Any, streamed: bool
) -> None:
    session = ConversationSession(store, "tool-end", user=user)
    agent = Agent(
        name="calc", model=ScriptedModel([[function_call("add", {"a": 2, "b": 3}, call_id="call-g")]]),
        tools=[add], tool_use_behavior=behaviour,
    )
    if streamed:
        result = Runner.run_streamed(agent, "2 + 3?", session=session)
        async for _ in result.stream_events():
            pass
    else:
        result = await Runner.run(agent, "2 + 3?", session=session)
    assert str(result.final_output) == "5"
    history = await stored(store, session.key)
    assert shape(history) == ["user", "function_call", "function_call_output"]
    assert history[2]["output"] == "5"


async def test_a_run_that_fails_after_its_tool_ran_leaves_nothing_visible(store: SessionStore, user: str) -> None:
    session = ConversationSession(store, "fails", user=user)
    model = ScriptedModel(
        [[function_call("add", {"a": 1, "b": 1}, call_id="call-h")], ModelStep.raise_error(RuntimeError("model down"))]
    )
    with pytest.raises(RuntimeError, match="model down"):
        await Runner.run(Agent(name="calc", model=model, tools=[add]), "1 + 1?", session=session)
    assert await stored(store, session.key) == []
    assert await store.info(session.key) is None


async def test_a_run_cancelled_mid_turn_leaves_nothing_visible(store: SessionStore, user: str) -> None:
    started = asyncio.Event()

    @function_tool
    async def slow(seconds: int) -> str:
        """Wait a while."""
        started.set()
        await asyncio.sleep(seconds)
        return "done"

    session = ConversationSession(store, "cancel", user=user)
    agent = Agent(name="slow", model=ScriptedModel([[function_call("slow", {"seconds": 30}, call_id="call-i")]]),
                  tools=[slow])
    task = asyncio.create_task(Runner.run(agent, "wait", session=session))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await stored(store, session.key) == []


async def test_max_turns_exceeded_stores_nothing(store: SessionStore, user: str) -> None:
    from agents.exceptions import MaxTurnsExceeded

    session = ConversationSession(store, "max", user=user)
    model = ScriptedModel([[function_call("add", {"a": 1, "b": 2}, call_id="call-j")], [assistant_message("3")]])
    with pytest.raises(MaxTurnsExceeded):
        await Runner.run(Agent(name="calc", model=model, tools=[add]), "1 + 2?", session=session, max_turns=1)
    assert await stored(store, session.key) == []


# --- the protocol's corners --------------------------------------------------------------------


async def test_a_limit_of_zero_reads_nothing(store: SessionStore, user: str) -> None:
    session = ConversationSession(store, "zero", user=user)
    await session.add_items([{"role": "user", "content": "hi"}])
    assert await session.get_items(limit=0) == []
    assert await session.get_items(limit=-3) == []
    assert len(await session.get_items(limit=1)) == 1


async def test_a_lone_surrogate_round_trips(store: SessionStore, user: str) -> None:
    broken = "half an emoji: \ud83d and the rest"
    session = ConversationSession(store, "surrogate", user=user)
    await session.add_items([{"role": "user", "content": broken}])
    assert await session.get_items() == [{"role": "user", "content": broken}]
    assert (await stored(store, session.key))[0]["content"] == broken
    info = await store.info(session.key)
    assert info is not None and info.item_count == 1


async def test_the_sdk_encrypted_session_around_ours_stores_runner_turns(store: SessionStore, user: str) -> None:
    from agents.extensions.memory import EncryptedSession

    inner = ConversationSession(store, "secret", user=user)
    session = EncryptedSession(session_id="secret", underlying_session=inner, encryption_key="k" * 32, ttl=600)
    model = ScriptedModel(
        [[assistant_message("First.", item_id="m-k1")], [assistant_message("Second.", item_id="m-k2")]]
    )
    agent = Agent(name="plain", model=model)
    await Runner.run(agent, "one", session=session)
    await Runner.run(agent, "two", session=session)
    readable = await session.get_items()
    assert [item.get("content") for item in readable if item.get("role") == "user"] == ["one", "two"]
    assert "one" not in json.dumps(await stored(store, inner.key))  # what the store holds is encrypted
    assert any(item.get("role") == "user" and item.get("content") == "one" for item in model.calls[-1].input)


# --- another process -----------------------------------------------------------------------------

_INTERRUPT = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from agents import Runner, set_tracing_disabled
    from asdrp.memory import ConversationSession, SqliteStore
    from tests.memory.test_sdk_flows import approval_agent, approval_script
    set_tracing_disabled(True)

    async def main():
        store = SqliteStore(Path(sys.argv[1]))
        result = await Runner.run(approval_agent(approval_script("p")), "Delete report.txt",
                                  session=ConversationSession(store, "proc"))
        Path(sys.argv[2]).write_text(result.to_state().to_json_string() if hasattr(result.to_state(), "to_json_string")
                                     else __import__("json").dumps(result.to_state().to_json()))
        await store.close()

    asyncio.run(main())
    """
)


async def test_an_interruption_saved_by_one_process_is_resumed_by_another(tmp_path: Path) -> None:
    from asdrp.memory import SqliteStore

    db, state_file = tmp_path / "proc.db", tmp_path / "state.json"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", _INTERRUPT, str(db), str(state_file)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    agent = approval_agent(approval_script("p"))
    state = await RunState.from_json(agent, json.loads(state_file.read_text()))
    state.approve(state.get_interruptions()[0])
    store = SqliteStore(db)
    try:
        await Runner.run(agent, state, session=ConversationSession(store, "proc"))
        history = await stored(store, ConversationKey("local", "proc"))
        assert shape(history) == ["user", "function_call", "function_call_output", "assistant"]
    finally:
        await store.close()
