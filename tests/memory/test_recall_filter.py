"""Direct SDK use: `recall_filter(session)` gives a plain `Runner.run` the whole conversation's memory."""

from __future__ import annotations

from pathlib import Path

from agents import Agent, RunConfig, Runner, set_tracing_disabled
from agents.testing import ScriptedModel, assistant_message

from asdrp.memory import ConversationSession, SqliteStore, WindowSettings
from asdrp.memory.recall_input import EARLIER_MARKER, RecallSettings, recall_filter
from asdrp.models.offline import OfflineModel

set_tracing_disabled(True)


async def test_the_offline_model_answers_from_a_fact_beyond_the_window(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "direct.db")
    session = ConversationSession(store, "direct", window=WindowSettings(max_items=6))
    agent = Agent(name="chitchat", instructions="Chat.", model=OfflineModel())
    config = RunConfig(call_model_input_filter=recall_filter(session))
    try:
        await Runner.run(agent, "My name is Quixotl.", session=session, run_config=config)
        for n in range(12):
            await Runner.run(agent, f"Tell me something about the number {n}.", session=session, run_config=config)
        without = await Runner.run(agent, "What is my name?", session=session)
        assert "Quixotl" not in str(without.final_output)  # the 6-item window alone has forgotten it
        with_recall = await Runner.run(agent, "What is my name?", session=session, run_config=config)
        assert "Quixotl" in str(with_recall.final_output)
        history = [s.item for s in await session.history()]
        assert sum(1 for item in history if item.get("content") == "My name is Quixotl.") == 1  # nothing re-stored
        assert not any(item.get("content") == EARLIER_MARKER for item in history)
    finally:
        await store.close()


async def test_recalled_items_come_behind_a_marker_in_the_order_they_were_said(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "order.db")
    session = ConversationSession(store, "order", window=WindowSettings(max_items=2))
    await session.add_items([{"role": "user", "content": "The red box holds apples."}])
    await session.add_items([{"role": "user", "content": "The blue box holds pears."}])
    for n in range(4):
        await session.add_items([{"role": "user", "content": f"filler {n}"}])
    model = ScriptedModel([[assistant_message("ok")]])
    config = RunConfig(call_model_input_filter=recall_filter(session, RecallSettings(max_items=2, max_tokens=500)))
    try:
        await Runner.run(Agent(name="a", model=model), "Which box holds pears, and which box holds apples?",
                         session=session, run_config=config)
        seen = [i.get("content") for i in model.calls[0].input if isinstance(i, dict)]
        assert seen[:3] == [EARLIER_MARKER, "The red box holds apples.", "The blue box holds pears."]
        assert seen[-1] == "Which box holds pears, and which box holds apples?"
    finally:
        await store.close()
