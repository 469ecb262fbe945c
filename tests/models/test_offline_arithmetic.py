"""Worded arithmetic: the expression a calculator tool is given for "15% of 80", "Add 10 to that"."""

from __future__ import annotations

import pytest

from asdrp.models.offline_rules.arithmetic import is_worded_arithmetic, read_worded_expression
from asdrp.models.offline_rules.references import Resolution


def nothing(_phrase: str) -> Resolution:
    return Resolution()


@pytest.mark.parametrize(("text", "expression"), [
    ("15% of 80", "15 / 100 * 80"),
    ("What is the square root of 144?", "sqrt(144)"),
    ("100 minus 37", "100 - 37"),
    ("Divide 1000 by 12", "1000 / 12"),
    ("Subtract 15 from 100", "100 - 15"),
    ("Multiply 6 by 7", "6 * 7"),
    ("What is 6 times 7?", "6 * 7"),
    ("What is 12 plus 30 minus 5?", "12 + 30 - 5"),
    ("What's 3 squared?", "3 ** 2"),
    ("What's 2 to the power of 10?", "2 ** 10"),
    ("What percentage is 30 of 120?", "30 / 120 * 100"),
    ("Increase 80 by 15%", "80 * (1 + 15 / 100)"),
    ("What is seven times eight?", "7 * 8"),
    ("twenty-one plus three hundred and five", "21 + 305"),
    ("the sum of 1,200 and 30", "1200 + 30"),
])
def test_worded_arithmetic_becomes_an_expression(text: str, expression: str) -> None:
    assert read_worded_expression(text, nothing).expression == expression


def test_references_are_resolved_by_the_caller() -> None:
    found = read_worded_expression("Add 10 to that", lambda phrase: Resolution(value=63.0))
    assert found.expression == "63 + 10"
    percent = read_worded_expression("What's 20% of my monthly payment?", lambda p: Resolution(value=1073.64))
    assert percent.expression == "20 / 100 * 1073.64"


def test_an_unresolved_reference_is_reported_with_the_resolvers_question() -> None:
    found = read_worded_expression("What's 20% of my salary?",
                                   lambda phrase: Resolution(question=f"What is {phrase}?"))
    assert found.expression is None and found.unresolved == "my salary" and found.question == "What is my salary?"


@pytest.mark.parametrize("text", ["What time is it in Tokyo?", "What about the second one?",
                                  "What is a 200000 loan at 5% over 30 years?", "Where is Kyoto?"])
def test_ordinary_questions_are_not_arithmetic(text: str) -> None:
    assert read_worded_expression(text, nothing) is None and not is_worded_arithmetic(text)


def test_an_operation_alone_applies_to_the_previous_result() -> None:
    previous = read_worded_expression("And times 10?", lambda phrase: Resolution(value=4.0))
    assert previous.expression == "4 * 10"
    assert read_worded_expression("Plus 5", lambda phrase: Resolution(value=4.0)).expression == "4 + 5"
    unknown = read_worded_expression("And times 10?", lambda phrase: Resolution(question="Which number?"))
    assert unknown.question == "Which number?"


def test_the_difference_between_the_two_results() -> None:
    found = read_worded_expression("What's the difference between the two payments?",
                                   lambda phrase: Resolution(value=(1610.46, 1479.38)))
    assert found.expression == "abs(1610.46 - 1479.38)"
