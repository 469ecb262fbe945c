"""The argument extractor: numbers only where they mean what a parameter needs, places by their role,
and history only for what the message leaves out."""

from __future__ import annotations

import json

from agents import function_tool

from asdrp.models.offline_rules.arguments import (
    convert_units,
    extract_from_text,
    fill_arguments,
    find_numbers,
    places_in,
    schema_params,
)
from asdrp.models.offline_rules.transcript import read_transcript
from tests.models.helpers import (
    GEO_CLOCK,
    assistant,
    calculate,
    call,
    loan_payment,
    output,
    reply_text,
    respond,
    tiny_place_finder,
    tool_call,
    tools,
    user,
)


def params_of(function) -> list:
    return schema_params(function_tool(function).params_json_schema)


def savings(monthly_deposit: float, annual_rate_percent: float, years: float, initial_amount: float = 0,
            compounds_per_year: int = 12) -> dict:
    """What monthly deposits grow to.

    Args:
        monthly_deposit: amount saved every month
        annual_rate_percent: annual interest rate in percent
        years: how many years you save
        initial_amount: amount saved at the start
        compounds_per_year: compounding periods per year: 12 monthly, 4 quarterly
    """
    return {"summary": "saved"}


def current_time(place: str, hours_from_now: float = 0) -> dict:
    """The local time in a place.

    Args:
        place: city or a time zone such as UTC
        hours_from_now: hours ahead of now
    """
    return {"summary": "time"}


def convert_time(time: str, from_place: str, to_place: str) -> dict:
    """Convert a clock time in one place to another place.

    Args:
        time: clock time, e.g. 9am
        from_place: place whose time is given
        to_place: place to convert to
    """
    return {"summary": "converted"}


def distance(place_a: str, place_b: str) -> dict:
    """Distance between two places.

    Args:
        place_a: the first place
        place_b: the second place
    """
    return {"summary": "far"}


def test_a_number_carries_its_unit_percent_currency_and_period() -> None:
    sixty, seven, twenty_five, five_hundred = (find_numbers("60 months at 7% on $25k, saving 500 a month")[i]
                                               for i in range(4))
    assert (sixty.unit, seven.percent, twenty_five.currency, five_hundred.per) == ("month", True, True, "month")
    assert find_numbers("3 hours ago")[0].value == -3


def test_months_fill_a_term_in_years_and_never_an_amount() -> None:
    params = {p.name: p for p in params_of(loan_payment)}
    sixty_months = find_numbers("over 60 months")[0]
    assert convert_units(sixty_months, params["years"]) == 5
    assert convert_units(sixty_months, params["principal"]) is None
    assert convert_units(find_numbers("at 7%")[0], params["principal"]) is None
    assert convert_units(find_numbers("at 7%")[0], params["annual_rate_percent"]) == 7
    assert convert_units(find_numbers("$300")[0], params["years"]) is None


def test_a_car_loan_over_sixty_months_is_five_years() -> None:
    args = extract_from_text("25k car loan at 7% over 60 months", params_of(loan_payment), tiny_place_finder)
    assert (args["principal"], args["annual_rate_percent"], args["years"]) == (25000, 7, 5)


def test_a_monthly_deposit_must_be_stated_per_month() -> None:
    params = params_of(savings)
    assert extract_from_text("save 500 a month for 10 years at 5%", params)["monthly_deposit"] == 500
    lump = extract_from_text("How much will 10000 grow at 6% over 10 years?", params)
    assert "monthly_deposit" not in lump


def test_a_compounding_frequency_word_fills_the_per_year_parameter() -> None:
    args = extract_from_text("5000 at 4% compounded quarterly for 8 years", params_of(savings))
    assert args["compounds_per_year"] == 4
    assert "compounds_per_year" not in extract_from_text("save 500 monthly at 4%", params_of(savings))


def test_a_place_after_a_clock_time_is_where_the_time_is_given() -> None:
    args = extract_from_text("If it's 3pm in London what time is it in New York?", params_of(convert_time),
                             tiny_place_finder)
    assert args == {"time": "3pm", "from_place": "London", "to_place": "New York"}


def test_time_zones_and_unknown_names_are_place_values() -> None:
    [place] = [p for p in params_of(current_time) if p.name == "place"]
    assert places_in("What time is it in UTC?", place, tiny_place_finder) == ["UTC"]
    [place_b] = [p for p in params_of(distance) if p.name == "place_b"]
    assert places_in("How far is Paris from Gondor?", place_b, tiny_place_finder) == ["Paris", "Gondor"]


def test_in_n_hours_fills_hours_from_now() -> None:
    assert extract_from_text("time in Tokyo in 90 minutes", params_of(current_time), tiny_place_finder) == {
        "place": "Tokyo", "hours_from_now": 1.5}


def test_an_expression_is_never_taken_from_history() -> None:
    transcript = read_transcript([user("100 minus 37"), call("calculate", '{"expression": "100 - 37"}'),
                                  output("{'result': 63}"), assistant("100 - 37 = 63"),
                                  user("What is the airspeed of a swallow?")])
    filling = fill_arguments(params_of(calculate), transcript, tiny_place_finder, tool_name="calculate")
    assert not filling.complete


def test_a_value_the_message_asks_for_is_not_filled_from_history() -> None:
    transcript = read_transcript([user("I save 100 a month at 5% for 10 years"), assistant("ok"),
                                  user("How much do I need to save each month to have 100000 in 10 years at 5%?")])
    filling = fill_arguments(params_of(savings), transcript, tiny_place_finder, tool_name="savings")
    assert [p.name for p in filling.missing] == ["monthly_deposit"]


def test_a_new_from_place_replaces_the_old_from_place() -> None:
    transcript = read_transcript([user("How far is Berlin from London?"),
                                  call("distance", '{"place_a": "Berlin", "place_b": "London"}'),
                                  output("{'summary': 'far'}"), assistant("930 km"), user("And from Paris?")])
    filling = fill_arguments(params_of(distance), transcript, tiny_place_finder, tool_name="distance")
    assert sorted(filling.arguments.values()) == ["Berlin", "Paris"]


def test_they_fills_two_missing_places_from_one_mention() -> None:
    transcript = read_transcript([user("Where are Paris and Tokyo?"), assistant("In France and Japan."),
                                  user("How far apart are they?")])
    filling = fill_arguments(params_of(distance), transcript, tiny_place_finder, tool_name="distance")
    assert filling.arguments == {"place_a": "Paris", "place_b": "Tokyo"}


async def test_a_one_place_tool_is_called_once_per_place_asked_about() -> None:
    response = await respond("What time is it in Tokyo and in London?", GEO_CLOCK)
    names = [(item.name, json.loads(item.arguments)) for item in response.output]
    assert names == [("current_time", {"place": "Tokyo"}), ("current_time", {"place": "London"})]


async def test_an_ambiguous_there_is_asked_about() -> None:
    history = [user("How far is London from Berlin?"), assistant("930 km."), user("What time is it there?")]
    assert reply_text(await respond(history, GEO_CLOCK)) == "Which place do you mean: London or Berlin?"


async def test_arithmetic_words_never_reach_a_clock_tool() -> None:
    history = [user("What time is it in Kyoto?"), assistant("It is 14:05 in Kyoto."), user("6 times 7")]
    assert tool_call(await respond(history, tools(calculate, current_time))).name == "calculate"
    assert "offline model" in reply_text(await respond(history, tools(current_time)))


async def test_two_percentages_for_one_rate_are_asked_about() -> None:
    text = reply_text(await respond("Payment for a $500,000 house with 20% down at 6% for 30 years?",
                                    tools(loan_payment)))
    assert text == "Which of 20% or 6% is the annual rate percent?"


def test_an_amount_per_month_is_never_a_term() -> None:
    assert "years" not in extract_from_text("And if I also add 200 a month?", params_of(loan_payment))
