"""Tests for the safe calculator: arithmetic, friendly syntax and every refusal."""

from __future__ import annotations

import math

import pytest

from asdrp.tools.calculator import calculate


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("2 + 3 * 4", 14),
        ("(2 + 3) * 4", 20),
        ("2 ** 3 ** 2", 512),
        ("-2 ** 2", -4),
        ("10 / 4", 2.5),
        ("10 // 4", 2),
        ("10 % 4", 2),
        ("7 - -3", 10),
        ("2^10", 1024),
        ("12 x 7", 84),
        ("6 × 7", 42),
        ("8 ÷ 2", 4),
        ("what is 2+2", 4),
        ("What's 3 * 3?", 9),
        ("1,000 + 2,500", 3500),
        ("max(1, 5, 3) + min(4, 2)", 7),
        ("abs(-3) + round(2.567, 2)", 5.57),
        ("sqrt(16)", 4),
        ("log(e)", 1),
        ("exp(0) + sin(0) + cos(0) + tan(0)", 2),
    ],
)
def test_calculate_evaluates_with_correct_precedence(expression: str, expected: float) -> None:
    assert calculate(expression)["result"] == pytest.approx(expected)


def test_calculate_knows_pi() -> None:
    assert calculate("2 * pi")["result"] == pytest.approx(2 * math.pi)


def test_calculate_summary_states_the_result() -> None:
    assert calculate("2 + 3 * 4")["summary"] == "2 + 3 * 4 = 14"


def test_calculate_large_power_within_limits_is_summarized() -> None:
    result = calculate("2 ** 10000")
    assert "3,011 digits" in result["summary"]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("1 / 0", "Division by zero"),
        ("5 // 0", "Division by zero"),
        ("5 % 0", "Division by zero"),
        ("2 ** 100000", "Exponent"),
        ("9 ** 9999 * 9 ** 9999 * 9 ** 9999", "digits"),
        ("123456789 ** 9000", "digits"),
        ("(" * 60 + "1" + ")" * 60, "nested"),
        ("-" * 200 + "1", "nested"),
        ("1+" * 600 + "1", "characters"),
        ("", "non-empty"),
        ("__import__('os')", "not allowed"),
        ("(1).__class__", "not allowed"),
        ("x + 1", "Unknown name"),
        ("[1, 2]", "not allowed"),
        ("'a' * 3", "not allowed"),
        ("sqrt(-1)", "sqrt"),
        ("2 +", "Cannot read"),
        ("exp(1000)", "too large"),
        ("1e308 * 10", "finite"),
        ("(-8) ** 0.5", "not a real number"),
    ],
)
def test_calculate_refuses_unsafe_or_invalid_input_with_a_clear_message(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        calculate(expression)
