"""ConversationSession: the SDK Session over a store, and whole-turn atomicity under a real Runner."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from agents import Agent, Runner, function_tool, set_tracing_disabled
from agents.testing import ModelStep, ScriptedModel, assistant_message, function_call

from asdrp.memory import ConversationKey, ConversationSession, SqliteStore, WindowSettings
from tests.memory.items import assistant_msg, call, output, texts, user_msg

set_tracing_disabled(True)


class CountingStore(SqliteStore):
    """A file store that records each append (one call = one transaction)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.appends: list[int] = []

    async def append(self, key: ConversationKey, items: Sequence[dict[str, Any]], **kwargs: Any) -> None:
        await super().append(key, items, **kwargs)
        self.appends.append(len(items))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[CountingStore]:
    opened = CountingStore(tmp_path / "s.db")
    yield opened
    await opened.close()


@function_tool
def lookup(place: str) -> str:
    """Look a place up."""
    return f"{place} is in New York"


def agent_with(model: ScriptedModel) -> Agent:
    return Agent(name="geo", instructions="Answer.", model=model, tools=[lookup])


class FakeWrapper:
    """Stands in for the RunContextWrapper the runner passes."""


async def test_a_tool_call_turn_is_committed_in_one_transaction(store: CountingStore) -> None:
    session = ConversationSession(store, "s1", agent="geo", agent_id="geo")
    model = ScriptedModel(
        [
            [function_call("lookup", {"place": "Times Square"}, call_id="call-1")],
            [assistant_message("Near Broadway.", item_id="m-1")],
        ]
    )
    result = await Runner.run(agent_with(model), "What's near Times Square?", session=session)
    assert result.final_output == "Near Broadway."
    assert store.appends == [4]
    history = await session.history()
    assert [h.role for h in history] == ["user", "function_call", "function_call_output", "assistant"]
    assert history[2].item["output"] == "Times Square is in New York"
    assert session.pending_items == []
    info = await session.info()
    assert info is not None and info.title == "What's near Times Square?" and info.agent_id == "geo"


async def test_a_plain_turn_sees_the_previous_turn_and_commits_once(store: CountingStore) -> None:
    session = ConversationSession(store, "s1", agent="geo")
    model = ScriptedModel(
        [
            [function_call("lookup", {"place": "Times Square"}, call_id="call-1")],
            [assistant_message("Near Broadway.", item_id="m-1")],
            [assistant_message("Two blocks.", item_id="m-2")],
        ]
    )
    agent = agent_with(model)
    await Runner.run(agent, "What's near Times Square?", session=session)
    await Runner.run(agent, "How far is the subway?", session=session)
    assert store.appends == [4, 2]
    seen = model.calls[-1].input
    assert any(isinstance(i, dict) and i.get("content") == "What's near Times Square?" for i in seen)
    assert texts(await session.get_items()) == [
        "What's near Times Square?", "function_call:call-1", "function_call_output:call-1", "Near Broadway.",
        "How far is the subway?", "Two blocks.",
    ]


async def test_a_run_that_fails_mid_turn_persists_nothing(store: CountingStore) -> None:
    session = ConversationSession(store, "s1", agent="geo")
    model = ScriptedModel(
        [
            [assistant_message("Hello.", item_id="m-0")],
            [function_call("lookup", {"place": "Times Square"}, call_id="call-9")],
            ModelStep.raise_error(RuntimeError("model crashed")),
            [assistant_message("Recovered.", item_id="m-2")],
        ]
    )
    agent = agent_with(model)
    await Runner.run(agent, "Hi", session=session)
    with pytest.raises(RuntimeError, match="model crashed"):
        await Runner.run(agent, "What's near Times Square?", session=session)
    assert texts([h.item for h in await session.history()]) == ["Hi", "Hello."]
    assert store.appends == [2]

    await Runner.run(agent, "Try again", session=session)  # the stale half turn is dropped
    assert texts([h.item for h in await session.history()]) == ["Hi", "Hello.", "Try again", "Recovered."]
    assert store.appends == [2, 2]


async def test_the_runner_reads_a_bounded_window(store: CountingStore) -> None:
    session = ConversationSession(store, "s1", window=WindowSettings(max_items=3))
    model = ScriptedModel([[assistant_message(f"a{n}", item_id=f"m-{n}")] for n in range(4)])
    agent = agent_with(model)
    for n in range(4):
        await Runner.run(agent, f"q{n}", session=session)
    last_input = model.calls[-1].input
    contents = [i.get("content") for i in last_input if isinstance(i, dict) and i.get("role") == "user"]
    assert contents == ["q2", "q3"]  # turn q2 fits the 3-item window; q0 and q1 do not
    assert len(await session.get_items()) == 8  # the full history is still stored


async def test_direct_add_items_commits_each_call_immediately(store: CountingStore) -> None:
    session = ConversationSession(store, "s1")
    await session.add_items([user_msg("q")])
    await session.add_items([call("c1")])
    assert store.appends == [1, 1]
    assert texts(await ConversationSession(store, "s1").get_items()) == ["q", "function_call:c1"]


async def test_buffered_items_are_visible_to_their_run_until_the_turn_commits(store: CountingStore) -> None:
    session = ConversationSession(store, "s1")
    wrapper = FakeWrapper()
    await session.add_items([user_msg("q")], wrapper=wrapper)
    await session.add_items([call("c1")], wrapper=wrapper)
    assert texts(await session.get_items(wrapper=wrapper)) == ["q", "function_call:c1"]
    assert texts(await session.get_items(limit=10, wrapper=wrapper)) == ["q", "function_call:c1"]
    assert await session.get_items() == []  # other callers see only committed turns
    assert await ConversationSession(store, "s1").get_items() == []  # nothing committed yet
    await session.add_items([output("c1"), assistant_msg("a")], wrapper=wrapper)
    assert store.appends == [4] and session.pending_items == []


async def test_an_assistant_message_with_a_call_still_awaiting_output_does_not_end_the_turn(
    store: CountingStore
) -> None:
    session = ConversationSession(store, "s1")
    wrapper = FakeWrapper()
    await session.add_items([user_msg("q")], wrapper=wrapper)
    await session.add_items([call("c1"), assistant_msg("thinking")], wrapper=wrapper)
    assert store.appends == []
    await session.add_items([output("c1"), assistant_msg("done")], wrapper=wrapper)
    assert store.appends == [5]


async def test_two_runs_sharing_one_session_object_each_commit_their_whole_turn(store: CountingStore) -> None:
    session = ConversationSession(store, "s1")
    first, second = FakeWrapper(), FakeWrapper()
    await session.add_items([user_msg("q1")], wrapper=first)
    await session.add_items([user_msg("q2")], wrapper=second)
    await session.add_items([call("c2")], wrapper=second)
    await session.add_items([assistant_msg("a1")], wrapper=first)
    await session.add_items([output("c2"), assistant_msg("a2")], wrapper=second)
    assert store.appends == [2, 4]
    assert texts(await session.get_items()) == ["q1", "a1", "q2", "function_call:c2", "function_call_output:c2", "a2"]


async def test_a_run_that_dies_mid_turn_leaves_nothing(store: CountingStore) -> None:
    session = ConversationSession(store, "s1")
    wrapper = FakeWrapper()
    await session.add_items([user_msg("lost")], wrapper=wrapper)
    del wrapper
    import gc

    gc.collect()
    assert session.pending_items == []
    assert await session.get_items() == []


async def test_pop_and_clear_include_the_uncommitted_turn(store: CountingStore) -> None:
    session = ConversationSession(store, "s1")
    await session.add_items([user_msg("committed")])
    run = FakeWrapper()
    await session.add_items([user_msg("pending")], wrapper=run)
    assert await session.pop_item(wrapper=run) == user_msg("pending")
    assert await session.pop_item() == user_msg("committed")
    await session.add_items([user_msg("pending")], wrapper=FakeWrapper())
    await session.clear_session()
    assert await session.get_items() == [] and session.pending_items == []


async def test_close_closes_only_an_owned_store(tmp_path: Path) -> None:
    shared = SqliteStore(tmp_path / "shared.db")
    await ConversationSession(shared, "s1").close()
    await shared.append(ConversationKey("local", "s1"), [user_msg("still open")], agent=None)
    owned = SqliteStore(None)
    ConversationSession(owned, "s1", owns_store=True).close_now()
    with pytest.raises(Exception, match="closed"):
        await owned.read(ConversationKey("local", "s1"))
    await shared.close()


async def test_the_turn_lock_of_a_session_is_its_stores_lock(store: CountingStore) -> None:
    session = ConversationSession(store, "s1")
    async with session.lock():
        assert store._turns.held(session.key)
