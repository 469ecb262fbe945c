"""Rules 1 and 5: prose from tool results, and the honest capability reply."""

from __future__ import annotations

from agents import Runner

from tests.models.helpers import (
    ALL,
    GEO_CLOCK,
    agent,
    assistant,
    call,
    failing_lookup,
    output,
    reply_text,
    respond,
    tools,
    user,
)


async def test_tool_result_summary_is_spoken_as_prose() -> None:
    items = [user("What time is it in Kyoto?"), call("current_time", '{"place": "Kyoto"}'),
             output('{"summary": "It is 14:05 in Kyoto, Japan.", "hour": 14}')]
    assert reply_text(await respond(items, GEO_CLOCK)) == "It is 14:05 in Kyoto, Japan."


async def test_python_repr_results_are_read_like_json() -> None:
    items = [user("Where is Kyoto?"), call("geocode", '{"place": "Kyoto"}'),
             output("{'summary': 'Kyoto is in Japan.', 'latitude': 35.0}")]
    assert reply_text(await respond(items, GEO_CLOCK)) == "Kyoto is in Japan."


async def test_results_without_summary_are_rendered_as_key_value_pairs() -> None:
    items = [user("Where is Kyoto?"), call("geocode", '{"place": "Kyoto"}'),
             output('{"country": "Japan", "population": 1463723}')]
    assert reply_text(await respond(items, GEO_CLOCK)) == "Country: Japan; population: 1463723."


async def test_several_results_are_joined() -> None:
    items = [user("Time in Kyoto and Paris?"),
             call("current_time", '{"place": "Kyoto"}', "c1"), call("current_time", '{"place": "Paris"}', "c2"),
             output('{"summary": "It is 14:05 in Kyoto."}', "c1"), output('{"summary": "It is 06:05 in Paris."}', "c2")]
    assert reply_text(await respond(items, GEO_CLOCK)) == "It is 14:05 in Kyoto. It is 06:05 in Paris."


async def test_error_results_are_reported_plainly() -> None:
    items = [user("Weather in Kyoto?"), call("weather", '{"place": "Kyoto"}'),
             output("Error: no forecast data for 'Kyoto'")]
    assert reply_text(await respond(items)) == "Sorry \u2014 weather failed: no forecast data for 'Kyoto'"


async def test_a_failing_tool_through_the_runner_gets_an_apology_not_a_retry() -> None:
    result = await Runner.run(agent(tools(failing_lookup)), "What is the weather forecast in Kyoto?")
    assert str(result.final_output).startswith("Sorry \u2014 failing lookup failed")


async def test_rule_one_applies_even_when_the_question_matches_a_tool() -> None:
    items = [user("What time is it in Kyoto?"), call("current_time", '{"place": "Kyoto"}'),
             output('{"summary": "It is 14:05 in Kyoto."}')]
    response = await respond(items, GEO_CLOCK)
    assert reply_text(response) == "It is 14:05 in Kyoto."


async def test_results_before_an_assistant_answer_are_not_spoken_again() -> None:
    items = [user("What time is it in Kyoto?"), call("current_time", '{"place": "Kyoto"}'),
             output('{"summary": "It is 14:05 in Kyoto."}'), assistant("It is 14:05 in Kyoto."),
             user("Tell me a story")]
    assert "offline model" in reply_text(await respond(items, GEO_CLOCK))


async def test_capability_reply_names_the_role_and_the_tools() -> None:
    text = reply_text(await respond("Tell me a story", GEO_CLOCK,
                                    instructions="You are a geography helper. Use tools."))
    assert text.startswith("I'm a geography helper, running on the offline model")
    assert "find where a place is" in text and "the current local time in a place" in text
    assert "Try asking" in text


async def test_greetings_get_a_greeting_first() -> None:
    text = reply_text(await respond("Hello there", ALL))
    assert text.startswith("Hello! ") and "offline model" in text


async def test_without_tools_the_reply_offers_memory() -> None:
    text = reply_text(await respond("Hi", instructions=None))
    assert text.startswith("Hello! I'm running on the offline model") and "remember" in text
