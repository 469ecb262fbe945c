"""The OfflineModel as an SDK Model: ids, usage, determinism and streaming."""

from __future__ import annotations

from agents import Runner
from agents.stream_events import RawResponsesStreamEvent
from openai.types.responses import ResponseCompletedEvent, ResponseTextDeltaEvent

from asdrp.models import OfflineModel
from asdrp.models.offline import text_chunks
from tests.models.helpers import ALL, GEO_CLOCK, agent, assistant, call, reply_text, respond, tool_call, user

CONVERSATION = [user("My name is Zorblax"), assistant("Nice to meet you!"), user("Where is Kyoto?")]


async def test_same_input_gives_the_same_text_and_arguments() -> None:
    first, second = await respond(CONVERSATION, ALL), await respond(CONVERSATION, ALL)
    assert tool_call(first).arguments == tool_call(second).arguments
    assert tool_call(first).name == tool_call(second).name
    assert reply_text(await respond("Hello", ALL)) == reply_text(await respond("Hello", ALL))


async def test_ids_are_unique_across_calls() -> None:
    first, second = await respond(CONVERSATION, ALL), await respond(CONVERSATION, ALL)
    a, b = tool_call(first), tool_call(second)
    assert a.id != b.id and a.call_id != b.call_id
    assert first.response_id != second.response_id
    assert str(first.response_id).startswith("offline-")


async def test_ids_are_unique_across_two_runner_runs() -> None:
    ids = set()
    for _ in range(2):
        result = await Runner.run(agent(GEO_CLOCK), "Where is Kyoto?")
        for item in result.to_input_list():
            for key in ("id", "call_id"):
                if isinstance(item, dict) and key in item and item.get("type") != "function_call_output":
                    assert item[key] not in ids
                    ids.add(item[key])
    assert len(ids) == 6  # two runs x (call id, call item id, message id)


async def test_usage_has_rough_token_counts() -> None:
    response = await respond(CONVERSATION, ALL)
    assert response.usage.requests == 1
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens


async def test_streaming_yields_several_deltas_and_the_same_final_text() -> None:
    the_agent = agent(GEO_CLOCK)
    streamed = Runner.run_streamed(the_agent, "Where is Kyoto?")
    deltas = [event.data.delta async for event in streamed.stream_events()
              if isinstance(event, RawResponsesStreamEvent) and isinstance(event.data, ResponseTextDeltaEvent)]
    plain = await Runner.run(the_agent, "Where is Kyoto?")
    assert len(deltas) > 3
    assert "".join(deltas) == streamed.final_output == plain.final_output == "Kyoto is a city at 1°N, 2°E."


async def test_stream_events_are_ordered_and_end_with_the_full_response() -> None:
    events = [event async for event in OfflineModel().stream_response(
        None, "Hello", None, [], None, [], None,  # type: ignore[arg-type]
        previous_response_id=None, conversation_id=None, prompt=None)]
    types = [event.type for event in events]
    assert types[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert types[-1] == "response.completed"
    assert [event.sequence_number for event in events] == list(range(len(events)))
    completed = events[-1]
    assert isinstance(completed, ResponseCompletedEvent)
    text = completed.response.output[0].content[0].text  # type: ignore[union-attr]
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")  # type: ignore[union-attr]
    assert deltas == text and completed.response.model == "offline"


async def test_streamed_tool_calls_run_the_tool() -> None:
    streamed = Runner.run_streamed(agent(GEO_CLOCK), [user("Where is Kyoto?"), assistant("ok"),
                                                      user("What time is it there?")])
    async for _ in streamed.stream_events():
        pass
    assert streamed.final_output == "It is 14:05 in Kyoto."


def test_text_chunks_rejoin_to_the_text() -> None:
    text = "It is  14:05 in Kyoto,\nJapan."
    assert "".join(text_chunks(text)) == text and len(text_chunks(text)) == 6


async def test_history_call_items_are_accepted_in_input() -> None:
    items = [user("Where is Kyoto?"), call("geocode", '{"place": "Kyoto"}'),
             {"type": "function_call_output", "call_id": "call_1",
              "output": [{"type": "input_text", "text": "{'summary': 'In Japan.'}"}]}]
    assert reply_text(await respond(items, GEO_CLOCK)) == "In Japan."
