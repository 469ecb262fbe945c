"""The reference resolver: "there", "the second one", "the first loan", "that", "my home town"."""

from __future__ import annotations

from asdrp.models.offline_rules.references import (
    ordinal,
    personal_place,
    points_to_a_place,
    referenced_call,
    referenced_value,
    resolve_place,
)
from asdrp.models.offline_rules.transcript import read_transcript
from tests.models.helpers import assistant, call, output, tiny_place_finder, user


def is_place_argument(name: str) -> bool:
    return name in ("place", "place_a", "place_b")


def test_ordinals_name_a_position_and_a_noun() -> None:
    assert ordinal("What time is it in the second one?") == (2, "one")
    assert ordinal("What about the first loan over 20 years?") == (1, "loan")
    assert ordinal("and the last city?") == (-1, "city")
    assert ordinal("What is the first thing?", frozenset({"loan"})) is None
    assert ordinal("Where is Kyoto?") is None


def test_a_dummy_it_does_not_point_at_a_place() -> None:
    assert not points_to_a_place("What time is it in Lima?")
    assert points_to_a_place("What time is it there?")
    assert points_to_a_place("How far is that city from Paris?")


def test_the_second_one_is_the_second_place_of_the_latest_mention_of_several() -> None:
    transcript = read_transcript([user("What time is it in Tokyo?"), assistant("It is 14:05 in Tokyo."),
                                  user("How far is London from Berlin?"), assistant("930 km."),
                                  user("What time is it in the second one?")])
    resolved = resolve_place(transcript.latest, transcript, tiny_place_finder, is_place_argument)
    assert resolved.value == "Berlin"


def test_an_ordinal_beyond_the_mention_asks_which() -> None:
    transcript = read_transcript([user("How far is London from Berlin?"), user("And the third one?")])
    resolved = resolve_place(transcript.latest, transcript, tiny_place_finder, is_place_argument)
    assert not resolved.resolved and "London" in str(resolved.question) and "Berlin" in str(resolved.question)


def test_there_after_two_places_asks_which_instead_of_guessing() -> None:
    transcript = read_transcript([user("How far is London from Berlin?"), assistant("930 km."),
                                  user("What time is it there?")])
    resolved = resolve_place(transcript.latest, transcript, tiny_place_finder, is_place_argument)
    assert resolved.question == "Which place do you mean: London or Berlin?"


def test_the_users_words_outrank_the_assistants_prose() -> None:
    transcript = read_transcript([user("Where is Kyoto?"), assistant("Kyoto is near Tokyo, far from Paris."),
                                  user("What time is it there?")])
    assert resolve_place(transcript.latest, transcript, tiny_place_finder, is_place_argument).value == "Kyoto"


def test_a_call_counts_as_a_mention_in_order_of_its_arguments() -> None:
    transcript = read_transcript([user("How far apart?"), call("distance", '{"place_a": "Paris", "place_b": "Tokyo"}'),
                                  output("{'summary': '9,700 km'}"), user("Time in the first one?")])
    assert resolve_place(transcript.latest, transcript, tiny_place_finder, is_place_argument).value == "Paris"


def test_the_first_loan_is_the_first_distinct_call_of_the_tool() -> None:
    items = [user("loan a"), call("loan_payment", '{"principal": 200000}', "c1"), output("{}", "c1"),
             user("again"), call("loan_payment", '{"principal": 200000}', "c2"), output("{}", "c2"),
             user("loan b"), call("loan_payment", '{"principal": 300000}', "c3"), output("{}", "c3"),
             user("What about the second loan?")]
    transcript = read_transcript(items)
    picked = referenced_call(transcript.latest, transcript.calls, "loan_payment", frozenset({"loan", "payment"}))
    assert picked.value.arguments == {"principal": 300000}
    missing = referenced_call("and the fifth loan?", transcript.calls, "loan_payment", frozenset({"loan"}))
    assert missing.question and not missing.resolved
    assert not referenced_call("the fifth one", transcript.calls, "loan_payment", frozenset({"loan"})).question


def test_that_is_the_main_number_of_the_latest_result_and_a_named_field_is_found_by_its_words() -> None:
    transcript = read_transcript([
        user("loan"), call("loan_payment", "{}"),
        output("{'summary': 's', 'payment': 1073.64, 'number_of_payments': 360, 'total_interest': 186511.57}"),
        assistant("It costs 1,073.64 a month."), user("What's 20% of my monthly payment?")])
    assert referenced_value("that", transcript).value == 1073.64
    assert referenced_value("my monthly payment", transcript).value == 1073.64
    assert referenced_value("the total interest", transcript).value == 186511.57
    unknown = referenced_value("my salary", transcript)
    assert not unknown.resolved and "your salary" in str(unknown.question)


def test_that_falls_back_to_the_result_after_an_equals_sign_in_the_last_answer() -> None:
    transcript = read_transcript([user("100 minus 37"), assistant("100 - 37 = 63"), user("Add 10 to that")])
    assert referenced_value("that", transcript).value == 63
    silent = read_transcript([user("hello"), assistant("Hello there."), user("Add 10 to that")])
    assert referenced_value("that", silent).question


def test_my_home_town_is_the_place_the_user_said_it_is() -> None:
    transcript = read_transcript([user("My home town is Berlin"), assistant("Got it."), user("Where is Kyoto?"),
                                  user("What time is it in my home town?")])
    assert personal_place(transcript.latest, transcript, tiny_place_finder).value == "Berlin"
    unknown = read_transcript([user("What time is it in my office?")])
    assert "your office" in str(personal_place(unknown.latest, unknown, tiny_place_finder).question)
    assert not personal_place("What time is it in Paris?", unknown, tiny_place_finder).question


def test_my_favourite_city_is_a_place_too() -> None:
    transcript = read_transcript([user("My favourite city is Paris"), user("What time is it in my favourite city?")])
    assert personal_place(transcript.latest, transcript, tiny_place_finder).value == "Paris"
