"""Small talk and refusals: one fitting line, no invented facts."""

from __future__ import annotations

import pytest

from asdrp.models.offline_rules.smalltalk import is_foreign, no_tool_topic, small_talk_reply, statement_reply
from tests.models.helpers import ALL, FINANCE, reply_text, respond, tool_call


@pytest.mark.parametrize(("message", "fits"), [
    ("Thanks!", "welcome"), ("Nice, thank you", "welcome"), ("how are you?", "doing well"),
    ("ok", "Anything else"), ("Goodbye", "Goodbye"),
])
def test_small_talk_gets_one_short_line(message: str, fits: str) -> None:
    reply = small_talk_reply(message, set())
    assert reply is not None and fits in reply and len(reply) < 120


@pytest.mark.parametrize(("message", "topic"), [
    ("What's the weather in Dublin?", "the weather"), ("Tell me a joke", "jokes"),
    ("Translate 'good morning' into French", "translations"), ("Any news today?", "the news"),
    ("Book me a flight to Paris", "bookings or purchases"),
])
def test_what_no_tool_answers_is_declined_without_facts(message: str, topic: str) -> None:
    assert no_tool_topic(message, set()) == topic
    reply = small_talk_reply(message, set())
    assert reply is not None and "can't" in reply and not any(ch.isdigit() for ch in reply)


def test_a_tool_that_covers_the_topic_is_not_refused() -> None:
    assert no_tool_topic("What's the weather in Dublin?", {"weather", "forecast"}) is None


@pytest.mark.parametrize("message", ["Quelle heure est-il à Paris ?", "Wie spät ist es in Berlin?",
                                     "¿Qué hora es en Madrid?", "東京は今何時ですか？", "Comment ça va ?", "Ça va",
                                     "Wie geht's dir?", "¿Qué tal?"])
def test_other_languages_are_recognised(message: str) -> None:
    assert is_foreign(message)


@pytest.mark.parametrize("message", ["What time is it in Paris?", "Où est the Eiffel Tower?", "Is Zürich far?",
                                     "What is the VA loan rate?"])
def test_english_with_a_foreign_word_is_english(message: str) -> None:
    assert not is_foreign(message)


async def test_the_model_answers_small_talk_before_trying_tools() -> None:
    assert reply_text(await respond("Thanks!", ALL)).startswith("You're welcome")
    assert "weather" in reply_text(await respond("What's the weather in Paris?", ALL))


async def test_a_greeting_is_short() -> None:
    text = reply_text(await respond("Hello there", ALL))
    assert text.startswith("Hello! ") and len(text) < 200


@pytest.mark.parametrize(("message", "topic"), [
    ("Convert 25 degrees Celsius to Fahrenheit", "unit conversions"), ("How about by car?", "travel times or routes"),
    ("Who is the president of France?", "facts about people"), ("What's the latest on the election?", "the news"),
])
def test_more_things_no_tool_answers(message: str, topic: str) -> None:
    assert no_tool_topic(message, set()) == topic


def test_identity_questions_are_not_refused_as_facts_about_people() -> None:
    assert "offline model" in str(small_talk_reply("Who are you?", set()))


def test_a_plain_statement_is_noted_in_one_line() -> None:
    noted = "Noted \u2014 I'll keep that in mind for this conversation."
    assert statement_reply("I'm going to Rome next week") == noted
    assert "can't troubleshoot" in str(statement_reply("My printer won't print"))
    assert statement_reply("Am I going to Rome?") is None and statement_reply("Tell me a story") is None


async def test_a_statement_a_tool_can_use_is_computed_not_just_noted() -> None:
    assert tool_call(await respond("I borrowed 10000 at 5% for 2 years", FINANCE)).name == "loan_payment"
