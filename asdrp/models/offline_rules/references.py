"""Resolving references to earlier turns: "there", "it", "the second one", "the first loan", "that",
"my monthly payment".

A reference is resolved to the entity it names, or not at all: when the conversation holds two
candidates and nothing says which ("What time is it there?" after "How far is Lisbon from
Madrid?"), the resolver reports the choice so the model can ask instead of guessing. Mentions are
read newest first from the user's messages and the model's own tool calls; the assistant's prose
is a last resort, because an answer names more places than the one it is about ("Kyoto is a city
in Japan").
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from asdrp.models.offline_rules.recall import stated_value
from asdrp.models.offline_rules.text import stem, words
from asdrp.models.offline_rules.transcript import ToolCall, Transcript

ORDINALS: dict[str, int] = {"first": 1, "1st": 1, "former": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3,
                            "fourth": 4, "4th": 4, "fifth": 5, "5th": 5, "last": -1, "latter": -1}
"""Ordinal words and the position they pick (-1: the last one)."""

_ORDINAL = re.compile(
    r"\bthe\s+(?P<ord>first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last|former|latter)"
    r"(?:\s+(?P<noun>[a-z]+))?\b", re.IGNORECASE)

PLACE_NOUNS = frozenset({"one", "place", "city", "town", "country", "location", "destination", "spot", "state"})
"""Nouns after an ordinal that mean a place was named ("the second city")."""

_PLACE_POINTER = re.compile(r"\b(?:there|that (?:place|city|town|country)|this (?:place|city|town)|it)\b",
                            re.IGNORECASE)
_DUMMY_IT = re.compile(r"\b(?:time|date|day|weather) (?:is|was|will) it\b|\bis it (?:now|today)\b|\bwill it be\b",
                       re.IGNORECASE)

_ZONE_NAME = re.compile(r"\b[A-Z][A-Za-z]+/[A-Z][A-Za-z_]+(?:/[A-Z][A-Za-z_]+)?\b")

_VALUE_POINTER = re.compile(
    r"^(?:that|it|this|the result|the answer|that result|that number|that amount|the last result)$", re.IGNORECASE)

_PRIMARY_RESULT_KEYS = ("result", "payment", "future_value", "npv", "irr_percent", "percent_change",
                        "distance_km", "hours_b_ahead_of_a")
"""Which number of a tool result "that" or "it" means when the result holds several."""


@dataclass(frozen=True)
class Mention:
    """Places named by one earlier message or tool call, in the order they were named."""

    position: int
    places: tuple[str, ...]
    from_user: bool


@dataclass
class Resolution:
    """What a reference points at: `value`, or a `question` to ask when it is ambiguous or unknown."""

    value: Any = None
    question: str | None = None
    choices: list[str] = field(default_factory=list)

    @property
    def resolved(self) -> bool:
        return self.value is not None


def ordinal(text: str, nouns: frozenset[str] | None = None) -> tuple[int, str] | None:
    """(position, noun) of "the second one" / "the first loan" in `text`, or None.

    With `nouns`, only those nouns (or a bare ordinal at the end of a phrase) count.
    """
    for match in _ORDINAL.finditer(text):
        noun = stem((match.group("noun") or "one").lower())
        if nouns is None or noun in nouns:
            return ORDINALS[match.group("ord").lower()], noun
    return None


def points_to_a_place(text: str) -> bool:
    """True when the message leans on a place named earlier ("there", "that city", a non-dummy "it")."""
    return bool(_PLACE_POINTER.search(_DUMMY_IT.sub(" ", text)))


def _call_places(call: ToolCall, is_place_argument: Callable[[str], bool]) -> tuple[str, ...]:
    return tuple(str(v) for k, v in call.arguments.items() if is_place_argument(k) and isinstance(v, str) and v)


def place_mentions(transcript: Transcript, finder: Callable[[str], list[str]],
                   is_place_argument: Callable[[str], bool], exclude: frozenset[str] | set[str] = frozenset(),
                   ) -> list[Mention]:
    """Every earlier message or call that named places (other than `exclude`), newest first."""
    mentions: list[Mention] = []
    for message in transcript.history:
        # An answer's "(Asia/Tokyo, UTC+09:00)" names a time zone, not Asia.
        text = _ZONE_NAME.sub(" ", message.text) if message.role == "assistant" else message.text
        places = tuple(dict.fromkeys(finder(text)))
        if places:
            mentions.append(Mention(message.position, places, message.role == "user"))
    for call in transcript.calls:
        places = tuple(p for p in _call_places(call, is_place_argument) if p not in exclude)
        if places:
            mentions.append(Mention(call.position, tuple(dict.fromkeys(places)), True))
    mentions.sort(key=lambda m: -m.position)
    return mentions


def _pick(items: Sequence[str], position: int) -> str | None:
    index = position - 1 if position > 0 else len(items) + position
    return items[index] if 0 <= index < len(items) else None


def resolve_place(text: str, transcript: Transcript, finder: Callable[[str], list[str]],
                  is_place_argument: Callable[[str], bool], *, prose: bool = True,
                  exclude: frozenset[str] | set[str] = frozenset()) -> Resolution:
    """The one earlier place `text` refers to, or a question when that is not clear.

    An ordinal ("the second one") picks from the most recent mention that named several places.
    Otherwise the most recent mention decides: one place is the answer; several places are a
    question ("Lisbon or Madrid?"). The user's messages and tool calls come first; the assistant's
    prose only when they named nothing (and `prose` allows it).
    """
    mentions = place_mentions(transcript, finder, is_place_argument, exclude)
    preferred = [m for m in mentions if m.from_user] or (mentions if prose else [])
    wanted = ordinal(text, PLACE_NOUNS)
    if wanted is not None:
        position, _ = wanted
        for mention in preferred:
            if len(mention.places) >= 2:
                picked = _pick(mention.places, position)
                if picked is not None:
                    return Resolution(value=picked)
                return Resolution(question=_which("place", list(mention.places)), choices=list(mention.places))
        return Resolution(question="Which place do you mean? Please name it.")
    if not preferred:
        return Resolution()
    latest = preferred[0]
    if len(latest.places) == 1:
        return Resolution(value=latest.places[0])
    return Resolution(question=_which("place", list(latest.places)), choices=list(latest.places))


def _which(kind: str, choices: list[str]) -> str:
    listed = ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else choices[0]
    return f"Which {kind} do you mean: {listed}?"


def referenced_call(text: str, calls: Sequence[ToolCall], tool_name: str, tool_words: frozenset[str]) -> Resolution:
    """The earlier call of `tool_name` that "the first loan" / "the second one" / "that loan" names.

    Only an ordinal or demonstrative followed by one of the tool's own words (or "one") counts;
    with nothing like that in `text` the result is unresolved and not a question.
    """
    same = [c for c in calls if c.name == tool_name]
    wanted = ordinal(text, tool_words | {"one"})
    if wanted is None:
        demonstrative = re.search(r"\b(?:that|this|the (?:same|previous|earlier))\s+([a-z]+)", text, re.IGNORECASE)
        if demonstrative and stem(demonstrative.group(1).lower()) in tool_words and same:
            return Resolution(value=same[-1])
        return Resolution()
    if not same:
        return Resolution()
    distinct = _distinct_calls(same)
    picked = distinct[wanted[0] - 1] if 0 < wanted[0] <= len(distinct) else (
        distinct[-1] if wanted[0] == -1 else None)
    if picked is None:
        if wanted[1] == "one":
            return Resolution()  # "the second one" may be a place or anything else: not this tool's call
        return Resolution(question=f"I only have {len(distinct)} of those in this conversation. Which one do you mean?")
    return Resolution(value=picked)


def _distinct_calls(calls: Sequence[ToolCall]) -> list[ToolCall]:
    """Calls with the same arguments count once (a repeated question is not a second loan)."""
    seen: set[str] = set()
    distinct = []
    for call in calls:
        key = json.dumps(call.arguments, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            distinct.append(call)
    return distinct


def _parse_result(output: str) -> dict[str, Any] | None:
    text = output.strip()
    for loader in (json.loads, ast.literal_eval):
        try:
            value = loader(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        return value if isinstance(value, dict) else None
    return None


def _numbers_of(result: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in result.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


def referenced_value(phrase: str, transcript: Transcript) -> Resolution:
    """The number an expression's operand refers to: "that" / "it" / "the result" is the main number
    of the latest tool result; "my monthly payment" / "the total interest" is the latest result
    field whose name shares a word with the phrase. Unknown -> a question, never a guess."""
    phrase = " ".join(phrase.split())
    results = [r for r in (_parse_result(res.output) for res in reversed(transcript.results)) if r]
    if _VALUE_POINTER.match(phrase):
        for result in results:
            numbers = _numbers_of(result)
            for key in _PRIMARY_RESULT_KEYS:
                if key in numbers:
                    return Resolution(value=numbers[key])
        for message in reversed(transcript.history):
            if message.role == "assistant":
                match = re.search(r"=\s*(-?[\d,]+(?:\.\d+)?)\s*\.?\s*$", message.text)
                if match:
                    return Resolution(value=float(match.group(1).replace(",", "")))
                break
        return Resolution(question="Which number do you mean? Please give me the value.")
    wanted = {stem(w) for w in words(phrase)} - {"my", "the", "our", "your", "that", "this", "monthly", "two",
                                                  "both", "last", "2"}
    if re.match(r"^(?:the )?(?:two|both|last two|2|last 2)\b", phrase, re.IGNORECASE):
        pair = [value for value in (_field(result, wanted) for result in results) if value is not None][:2]
        if len(pair) == 2:
            return Resolution(value=(pair[1], pair[0]))  # oldest first, as they were asked
        return Resolution(question=f"I don't have two of those in this conversation. Which {phrase} do you mean?")
    for result in results:
        numbers = _numbers_of(result)
        best = max(numbers, key=lambda k: len(wanted & {stem(w) for w in words(k)}), default=None)
        if best is not None and wanted & {stem(w) for w in words(best)}:
            return Resolution(value=numbers[best])
    return Resolution(question=f"I don't know {_second_person(phrase)} yet. What is it?")


def _field(result: dict[str, Any], wanted: set[str]) -> float | None:
    """The number of `result` whose field name shares a word with `wanted`, or None."""
    numbers = _numbers_of(result)
    best = max(numbers, key=lambda k: len(wanted & {stem(w) for w in words(k)}), default=None)
    if best is not None and wanted & {stem(w) for w in words(best)}:
        return numbers[best]
    return None


def _second_person(phrase: str) -> str:
    swaps = {"my": "your", "our": "your", "i": "you", "me": "you"}
    return " ".join(swaps.get(w.lower(), w) for w in phrase.split())


_MY_THING = re.compile(
    r"\bmy ((?:[a-z][a-z'\-]*)(?: [a-z][a-z'\-]*){0,2}?)(?=\s*(?:[?.!,]|$|\b(?:and|to|from|in|is)\b))",
    re.IGNORECASE)


def personal_place(text: str, transcript: Transcript, finder: Callable[[str], list[str]]) -> Resolution:
    """"my home town" / "my office" -> the place the user said it is ("My home town is Porto").

    Unresolved (no question) when the message names nothing of the user's; a question when it
    does but the user never said where that is.
    """
    match = _MY_THING.search(text)
    if match is None:
        return Resolution()
    thing = match.group(1)
    clause = stated_value(thing, transcript.earlier_user_messages)
    if clause is None:
        return Resolution(question=f"I don't know {_second_person('my ' + thing)} yet. Which place is it?")
    places = finder(clause)
    if not places:
        return Resolution(question=f"Which place is {_second_person('my ' + thing)}?")
    return Resolution(value=places[-1])
