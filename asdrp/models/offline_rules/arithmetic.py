"""Worded arithmetic for an expression parameter: "15% of 80", "square root of 144", "100 minus 37",
"Divide 1000 by 12", "Add 10 to that", "20% of my monthly payment".

The result is a plain expression a calculator tool can evaluate ("15 / 100 * 80"). Operands that
refer to earlier results ("that", "my monthly payment") are resolved by the caller's resolver; an
operand it cannot resolve is reported, so the model asks for it instead of computing something else.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from asdrp.models.offline_rules.references import Resolution

_NUM = r"-?\d[\d,]*(?:\.\d+)?(?:\s?(?:[km]|thousand|million|billion)\b)?"
_REF = r"(?:that|it|this|the (?:result|answer|last result)|(?:my|our|the|that) [a-z]+(?: [a-z]+){0,2}?)"
_OPERAND = rf"(?:{_NUM}|{_REF})"
_PREVIOUS = "{previous}"
"""Placeholder in a template for the previous result ("and times 10" -> that * 10)."""

_PREFIX = re.compile(
    r"^\s*(?:(?:please|ok|okay|so|now|and|then|hey|hi|thanks|thank you|great|cool|nice|also|alright"
    r"|can you|could you|would you)[\s,!.]+)*"
    r"(?:(?:what(?:'s| is| are)|whats|how much is|calculate|compute|evaluate|work out|tell me|give me)\s+)?",
    re.IGNORECASE)
_SUFFIX = re.compile(r"[\s?.!=]*(?:please)?[\s?.!]*$", re.IGNORECASE)

_INFIX_WORDS = [
    (re.compile(r"\s+(?:plus|added to)\s+", re.I), " + "),
    (re.compile(r"\s+minus\s+", re.I), " - "),
    (re.compile(r"\s+(?:times|multiplied by|x)\s+", re.I), " * "),
    (re.compile(r"\s+(?:divided by|over)\s+", re.I), " / "),
    (re.compile(r"\s+(?:to the power of|raised to(?: the power of)?)\s+", re.I), " ** "),
]

# Each template: a pattern over operands a and b, and how to write the expression.
_TEMPLATES: list[tuple[re.Pattern[str], Callable[[str, str], str]]] = [
    (re.compile(rf"^what (?:percent|percentage|%) (?:is|of) (?P<a>{_OPERAND}) (?:is |in |of )(?P<b>{_OPERAND})$", re.I),
     lambda a, b: f"{a} / {b} * 100"),
    (re.compile(rf"^(?P<a>{_OPERAND}) is what (?:percent|percentage|%) of (?P<b>{_OPERAND})$", re.I),
     lambda a, b: f"{a} / {b} * 100"),
    (re.compile(rf"^(?:increase|raise) (?P<a>{_OPERAND}) by (?P<b>{_NUM})\s?(?:%|percent)$", re.I),
     lambda a, b: f"{a} * (1 + {b} / 100)"),
    (re.compile(rf"^(?:decrease|reduce|lower) (?P<a>{_OPERAND}) by (?P<b>{_NUM})\s?(?:%|percent)$", re.I),
     lambda a, b: f"{a} * (1 - {b} / 100)"),
    (re.compile(rf"^(?P<b>{_NUM})\s?(?:%|percent) off (?P<a>{_OPERAND})$", re.I),
     lambda a, b: f"{a} * (1 - {b} / 100)"),
    (re.compile(rf"^(?P<a>{_OPERAND})\s?(?:%|percent|per cent) of (?P<b>{_OPERAND})$", re.I),
     lambda a, b: f"{a} / 100 * {b}"),
    # "And times 10?" / "Plus 5": an operation on the previous result.
    (re.compile(rf"^(?:times|multiplied by|x) (?P<a>{_NUM})$", re.I), lambda a, _: f"{_PREVIOUS} * {a}"),
    (re.compile(rf"^(?:plus|add) (?P<a>{_NUM})$", re.I), lambda a, _: f"{_PREVIOUS} + {a}"),
    (re.compile(rf"^(?:minus|less) (?P<a>{_NUM})$", re.I), lambda a, _: f"{_PREVIOUS} - {a}"),
    (re.compile(rf"^(?:divided by|over) (?P<a>{_NUM})$", re.I), lambda a, _: f"{_PREVIOUS} / {a}"),
    (re.compile(rf"^(?P<a>\d+\s*/\s*\d+) of (?P<b>{_OPERAND})$", re.I), lambda a, b: f"{a.replace(' ', '')} * {b}"),
    (re.compile(rf"^round (?P<a>{_OPERAND}) to (?P<b>\d+) (?:decimal places|decimals|places|dp|digits)$", re.I),
     lambda a, b: f"round({a}, {b})"),
    (re.compile(rf"^round (?P<a>{_OPERAND})(?: to the nearest (?:whole number|integer|unit))?$", re.I),
     lambda a, _: f"round({a})"),
    (re.compile(rf"^(?:the )?square root of (?P<a>{_OPERAND})$", re.I), lambda a, _: f"sqrt({a})"),
    (re.compile(rf"^(?:the )?cube root of (?P<a>{_OPERAND})$", re.I), lambda a, _: f"{a} ** (1 / 3)"),
    (re.compile(rf"^(?P<a>{_OPERAND}) squared$", re.I), lambda a, _: f"{a} ** 2"),
    (re.compile(rf"^(?P<a>{_OPERAND}) cubed$", re.I), lambda a, _: f"{a} ** 3"),
    (re.compile(rf"^half of (?P<a>{_OPERAND})$", re.I), lambda a, _: f"{a} / 2"),
    (re.compile(rf"^(?:double|twice) (?P<a>{_OPERAND})$", re.I), lambda a, _: f"2 * {a}"),
    (re.compile(rf"^add (?P<a>{_OPERAND}) to (?P<b>{_OPERAND})$", re.I), lambda a, b: f"{b} + {a}"),
    (re.compile(rf"^add (?P<a>{_OPERAND}) and (?P<b>{_OPERAND})$", re.I), lambda a, b: f"{a} + {b}"),
    (re.compile(rf"^subtract (?P<a>{_OPERAND}) from (?P<b>{_OPERAND})$", re.I), lambda a, b: f"{b} - {a}"),
    (re.compile(rf"^take (?P<a>{_OPERAND}) (?:away )?from (?P<b>{_OPERAND})$", re.I), lambda a, b: f"{b} - {a}"),
    (re.compile(rf"^multiply (?P<a>{_OPERAND}) by (?P<b>{_OPERAND})$", re.I), lambda a, b: f"{a} * {b}"),
    (re.compile(rf"^divide (?P<a>{_OPERAND}) by (?P<b>{_OPERAND})$", re.I), lambda a, b: f"{a} / {b}"),
    (re.compile(rf"^(?:the )?sum of (?P<a>{_OPERAND}) and (?P<b>{_OPERAND})$", re.I), lambda a, b: f"{a} + {b}"),
    (re.compile(rf"^(?:the )?product of (?P<a>{_OPERAND}) and (?P<b>{_OPERAND})$", re.I),
     lambda a, b: f"{a} * {b}"),
    (re.compile(rf"^(?:the )?difference between (?P<a>{_OPERAND}) and (?P<b>{_OPERAND})$", re.I),
     lambda a, b: f"{a} - {b}"),
]

_SYMBOLIC = re.compile(r"^[\d\s.,+\-*/()%^x×÷]+$"
                       r"|^[\d\s.,+\-*/()%^×÷]*(?:sqrt|sin|cos|tan|log|exp)\s*\(.*\)[\d\s.,+\-*/()]*$",
                       re.IGNORECASE)
_NUMBER_ONLY = re.compile(rf"^{_NUM}$", re.IGNORECASE)
_FRACTION = re.compile(r"^\d+\s*/\s*\d+$")
_PAIR = re.compile(r"^(?:the )?(?P<op>difference|sum|total) (?:between|of) "
                   r"(?P<ref>(?:the )?(?:two|both|last two|2|last 2) (?P<noun>[a-z]+(?: [a-z]+)?))$", re.IGNORECASE)


@dataclass(frozen=True)
class WordedExpression:
    """An expression read from words, or the operand phrase that could not be resolved."""

    expression: str | None = None
    unresolved: str | None = None
    question: str | None = None


_SMALL_NUMBERS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen".split())}
_TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if i > 1}
_NUMBER_WORDS = re.compile(
    r"\b(?:(?:" + "|".join([*_TENS, *_SMALL_NUMBERS]) + r")(?:[\s-]+(?:" + "|".join([*_TENS, *_SMALL_NUMBERS])
    + r"))*(?:\s+(?:hundred|thousand)(?:\s+(?:and\s+)?(?:" + "|".join([*_TENS, *_SMALL_NUMBERS])
    + r")(?:[\s-]+(?:" + "|".join(_SMALL_NUMBERS) + r"))?)?)?)\b", re.IGNORECASE)


def _word_number(phrase: str) -> str:
    """"seven" -> "7", "twenty-one" -> "21", "three hundred and five" -> "305"."""
    total, current = 0, 0
    for word in re.split(r"[\s-]+", phrase.lower()):
        if word in _SMALL_NUMBERS:
            current += _SMALL_NUMBERS[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        elif word == "thousand":
            total, current = total + max(current, 1) * 1000, 0
    return str(total + current)


def _core(text: str) -> str:
    core = _SUFFIX.sub("", _PREFIX.sub("", text.strip()))
    # "one" alone is a pronoun far more often than a number ("the second one").
    core = _NUMBER_WORDS.sub(lambda m: m.group(0) if m.group(0).lower() == "one" else _word_number(m.group(0)), core)
    return " ".join(core.split())


_MULTIPLIERS = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "billion": 1e9}


def _number(token: str) -> str:
    """"1,200" -> "1200", "25k" -> "25000", "1 million" -> "1000000"."""
    raw = token.replace(",", "").strip()
    match = re.match(r"^(-?[\d.]+)\s?([a-z]+)?$", raw, re.IGNORECASE)
    if match and match.group(2) and match.group(2).lower() in _MULTIPLIERS:
        value = float(match.group(1)) * _MULTIPLIERS[match.group(2).lower()]
        return str(int(value)) if value.is_integer() else repr(value)
    return raw


def _format_value(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(round(float(value), 10))


def _pair_expression(core: str, resolve: Callable[[str], Resolution]) -> WordedExpression | None:
    """"the difference between the two payments" / "the sum of both totals": two earlier results."""
    match = _PAIR.match(core)
    if match is None:
        return None
    resolution = resolve(match.group("ref"))
    if not resolution.resolved or not isinstance(resolution.value, tuple):
        return WordedExpression(unresolved=match.group("ref"), question=resolution.question or
                                f"Which two {match.group('noun')} do you mean?")
    first, second = (_format_value(float(v)) for v in resolution.value)
    operation = match.group("op").lower()
    if operation == "difference":
        return WordedExpression(expression=f"abs({first} - {second})")
    return WordedExpression(expression=f"{first} + {second}")


def read_worded_expression(text: str, resolve: Callable[[str], Resolution]) -> WordedExpression | None:
    """The expression `text` states in words, or None when it is not worded arithmetic at all."""
    core = _core(text)
    if not core:
        return None
    pair = _pair_expression(core, resolve)
    if pair is not None:
        return pair
    for pattern, build in _TEMPLATES:
        match = pattern.match(core)
        if match is None:
            continue
        operands: list[str] = []
        for name in ("a", "b"):
            raw = match.groupdict().get(name)
            if raw is None:
                operands.append("")
                continue
            if _NUMBER_ONLY.match(raw):
                operands.append(_number(raw))
                continue
            if _FRACTION.match(raw):
                operands.append(raw.replace(" ", ""))
                continue
            resolution = resolve(raw)
            if not resolution.resolved:
                return WordedExpression(unresolved=raw, question=resolution.question)
            operands.append(_format_value(float(resolution.value)))
        expression = build(operands[0], operands[1])
        if _PREVIOUS in expression:
            previous = resolve("that")
            if not previous.resolved:
                return WordedExpression(unresolved="that", question=previous.question)
            expression = expression.replace(_PREVIOUS, _format_value(float(previous.value)))
        return WordedExpression(expression=expression)
    replaced = core
    for pattern, symbol in _INFIX_WORDS:
        replaced = pattern.sub(symbol, replaced)
    if replaced != core and _SYMBOLIC.match(replaced):
        return WordedExpression(expression=replaced)
    return None


def is_worded_arithmetic(text: str) -> bool:
    """True when `text` has the shape of worded arithmetic, whether or not its references resolve."""
    return read_worded_expression(text, lambda _phrase: Resolution(value=1.0)) is not None
