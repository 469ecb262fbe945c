"""Rules 3 and 4: which tool the offline model calls, and with which arguments."""

from __future__ import annotations

import json
import sys

import pytest
from agents import function_tool

from asdrp.models.offline_rules import arguments
from asdrp.models.offline_rules.arguments import find_numbers, schema_params
from asdrp.models.offline_rules.arguments import find_place_names as real_find_place_names
from tests.models.helpers import (
    ALL,
    FINANCE,
    GEO_CLOCK,
    agent,
    assistant,
    calculate,
    call,
    calls_in,
    converse,
    geocode,
    loan_payment,
    output,
    reply_text,
    respond,
    tool_call,
    tools,
    user,
)


async def test_the_best_matching_tool_is_chosen_among_several() -> None:
    assert tool_call(await respond("What time is it in Tokyo?", ALL)).name == "current_time"
    assert tool_call(await respond("Where is Kyoto?", ALL)).name == "geocode"
    assert tool_call(await respond("What is 12 * 7?", ALL)).name == "calculate"
    assert tool_call(await respond("Monthly loan payment on 300k at 4% for 25 years", ALL)).name == "loan_payment"
    assert tool_call(await respond("How will 5000 grow at 6% over 10 years?", ALL)).name == "compound_growth"


async def test_a_message_below_the_threshold_calls_no_tool() -> None:
    text = reply_text(await respond("Tell me a joke about cats", ALL))
    assert "offline model" in text


async def test_numbers_are_assigned_by_context_not_position() -> None:
    item = tool_call(await respond("What is a 200000 loan at 5% over 30 years per month?", FINANCE))
    assert item.name == "loan_payment"
    args = json.loads(item.arguments)
    assert (args["principal"], args["annual_rate_percent"], args["years"]) == (200000, 5, 30)
    item = tool_call(await respond("Over 30 years at 5%, what is the monthly payment on a $1.5m loan?", FINANCE))
    args = json.loads(item.arguments)
    assert (args["principal"], args["annual_rate_percent"], args["years"]) == (1500000, 5, 30)


def test_number_formats_are_understood() -> None:
    values = [m.value for m in find_numbers("200,000 or 200k or $1.5m at 5% and -1000")]
    assert values == [200000, 200000, 1500000, 5, -1000]


async def test_follow_up_reuses_the_last_tool_with_arguments_from_its_call() -> None:
    answers, items = await converse(agent(FINANCE), [
        "What is a 200000 loan at 5% over 30 years per month?", "And over 15 years?"])
    first, second = (json.loads(c["arguments"]) for c in calls_in(items))
    assert [c["name"] for c in calls_in(items)] == ["loan_payment", "loan_payment"]
    assert second == {**first, "years": 15}
    assert answers[1] == "LOAN principal=200000.0 rate=5.0 years=15"


async def test_missing_place_is_taken_from_history() -> None:
    answers, items = await converse(agent(GEO_CLOCK), ["Where is Kyoto?", "What time is it there?"])
    assert [(c["name"], json.loads(c["arguments"])) for c in calls_in(items)] == [
        ("geocode", {"place": "Kyoto"}), ("current_time", {"place": "Kyoto"})]
    assert answers[1] == "It is 14:05 in Kyoto."


async def test_missing_place_comes_from_an_earlier_message_when_no_call_named_it() -> None:
    history = [user("I'm flying to Paris tomorrow"), assistant("Have a good trip!"),
               user("What time is it there?")]
    item = tool_call(await respond(history, GEO_CLOCK))
    assert (item.name, json.loads(item.arguments)) == ("current_time", {"place": "Paris"})


async def test_follow_up_with_a_new_place_reuses_the_tool() -> None:
    history = [user("What time is it in Tokyo?"), call("current_time", '{"place": "Tokyo"}'),
               output("{'summary': 'It is 14:05 in Tokyo.'}"), assistant("It is 14:05 in Tokyo."),
               user("What about Paris?")]
    item = tool_call(await respond(history, GEO_CLOCK))
    assert (item.name, json.loads(item.arguments)) == ("current_time", {"place": "Paris"})


async def test_a_required_argument_that_cannot_be_filled_is_asked_for() -> None:
    text = reply_text(await respond("What is the monthly loan payment at 5%?", FINANCE))
    assert "principal" in text and "years" in text and text.endswith("?")


async def test_expression_is_stripped_of_question_words() -> None:
    item = tool_call(await respond("What is (3 + 4) * 2?", tools(calculate)))
    assert json.loads(item.arguments) == {"expression": "(3 + 4) * 2"}


def test_a_default_makes_a_strict_schema_parameter_optional() -> None:
    params = {p.name: p for p in schema_params(function_tool(loan_payment).params_json_schema)}
    assert params["principal"].required and not params["payments_per_year"].required
    assert params["payments_per_year"].default == 12


async def test_array_of_numbers_is_filled_for_cash_flows() -> None:
    def npv(rate_percent: float, cash_flows: list[float]) -> dict:
        """Net present value of cash flows.

        Args:
            rate_percent: discount rate in percent
            cash_flows: the cash flows, first one today
        """
        return {"summary": "npv"}

    item = tool_call(await respond("NPV at 8% of -1000, 300, 400, 500", tools(npv)))
    assert json.loads(item.arguments) == {"rate_percent": 8, "cash_flows": [-1000, 300, 400, 500]}


async def test_capitalised_phrases_stand_in_when_the_gazetteer_is_absent(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(arguments, "find_place_names", real_find_place_names)
    monkeypatch.setitem(sys.modules, "asdrp.tools.gazetteer", None)  # importing it now fails
    item = tool_call(await respond("Where is Times Square?", tools(geocode)))
    assert json.loads(item.arguments) == {"place": "Times Square"}


async def test_a_stray_number_in_history_is_not_taken_as_an_amount() -> None:
    history = [user("Tell me something interesting, number 24"), assistant("Sure."),
               user("What is the monthly loan payment at 5% over 30 years?")]
    text = reply_text(await respond(history, FINANCE))
    assert "principal" in text


async def test_numbers_named_in_an_earlier_message_fill_a_follow_up() -> None:
    history = [user("I'm thinking about a 250k loan"), assistant("Sounds good."),
               user("What is the monthly loan payment at 4% over 20 years?")]
    args = json.loads(tool_call(await respond(history, FINANCE)).arguments)
    assert (args["principal"], args["annual_rate_percent"], args["years"]) == (250000, 4, 20)
