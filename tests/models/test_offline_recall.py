"""Rule 2: the offline model recalls facts from the input history, and only from there."""

from __future__ import annotations

import pytest

from tests.models.helpers import FINANCE, agent, assistant, converse, reply_text, respond, user


async def test_name_statement_is_acknowledged_by_name() -> None:
    text = reply_text(await respond("My name is Zorblax"))
    assert text == "Nice to meet you, Zorblax! I'll remember that."


async def test_name_is_recalled_from_history() -> None:
    history = [user("My name is Zorblax"), assistant("Nice to meet you!"), user("What is my name?")]
    assert reply_text(await respond(history)) == "Your name is Zorblax."


async def test_most_recent_name_statement_wins() -> None:
    history = [user("My name is Zorblax"), user("Actually, call me Quibble"), user("what's my name?")]
    assert reply_text(await respond(history)) == "Your name is Quibble."


async def test_unknown_name_is_admitted_honestly() -> None:
    text = reply_text(await respond([user("Hello"), user("What is my name?")]))
    assert "don't know your name" in text


@pytest.mark.parametrize("spelling", ["favorite", "favourite"])
async def test_favourite_thing_is_recalled_in_either_spelling(spelling: str) -> None:
    history = [user(f"My {spelling} color is teal"), assistant("ok"),
               user(f"What is my {spelling} color?")]
    assert reply_text(await respond(history)) == f"Your {spelling} color is teal."


async def test_favourite_of_another_kind_is_not_confused() -> None:
    history = [user("My favorite color is teal"), user("What is my favorite food?")]
    text = reply_text(await respond(history))
    assert "don't know your favorite food" in text and "teal" not in text


async def test_remember_request_is_acknowledged_and_recalled() -> None:
    ack = reply_text(await respond("Remember that my locker code is 4512"))
    assert ack.startswith("Got it") and "locker code is 4512" in ack
    history = [user("Please remember that the meeting is on Friday"), assistant("Got it"),
               user("What did I ask you to remember?")]
    assert "the meeting is on Friday" in reply_text(await respond(history))


async def test_first_and_previous_questions_are_quoted() -> None:
    history = [user("Where is Kyoto?"), assistant("In Japan."), user("How big is it?"),
               assistant("Big."), user("What did I ask first?")]
    assert "\u201cWhere is Kyoto?\u201d" in reply_text(await respond(history))
    history[-1] = user("What did I ask you before?")
    assert "\u201cHow big is it?\u201d" in reply_text(await respond(history))


async def test_what_did_i_ask_with_no_history_says_there_is_nothing() -> None:
    assert "first thing you've asked" in reply_text(await respond("What did I ask earlier?"))


async def test_summary_lists_the_users_messages() -> None:
    history = [user("Where is Kyoto?"), assistant("Japan"), user("My name is Ann"),
               user("Summarize our conversation")]
    text = reply_text(await respond(history))
    assert "2 messages" in text and "Where is Kyoto?" in text and "My name is Ann" in text


async def test_recall_works_through_the_runner_across_turns() -> None:
    answers, _ = await converse(agent(FINANCE), [
        "My name is Zorblax", "My favourite colour is amber", "Remember that I parked on level 3",
        "What is my name?", "What is my favourite colour?", "What did I ask you to remember?",
    ])
    assert answers[0] == "Nice to meet you, Zorblax! I'll remember that."
    assert answers[3] == "Your name is Zorblax."
    assert answers[4] == "Your favourite colour is amber."
    assert "you parked on level 3" in answers[5]


async def test_a_stated_fact_is_acknowledged_and_recalled_in_the_users_words() -> None:
    assert reply_text(await respond("My ticket number is 4512")) == \
        "Got it \u2014 your ticket number is 4512. I'll remember that."
    history = [user("Remember that my dog is called Rex"), assistant("Got it"), user("What's my dog's name?")]
    assert reply_text(await respond(history)) == "Your dog is called Rex."
    history = [user("My wife's name is Ana"), assistant("ok"), user("What is my wife's name?")]
    assert reply_text(await respond(history)) == "Your wife's name is Ana."


async def test_a_fact_never_stated_is_admitted_not_invented() -> None:
    text = reply_text(await respond([user("My car is red"), user("When is my birthday?")]))
    assert text == "I don't know your birthday yet \u2014 you haven't told me in this conversation."


async def test_the_latest_statement_of_a_fact_wins() -> None:
    history = [user("My ticket number is 4512"), user("Sorry, my ticket number is 4513"),
               user("What is my ticket number?")]
    assert reply_text(await respond(history)) == "Your ticket number is 4513."


async def test_every_agent_recalls_facts_whatever_its_tools() -> None:
    answers, _ = await converse(agent(FINANCE), ["My flight number is BA117", "What is my flight number?"])
    assert answers[1] == "Your flight number is BA117."
