"""Rule 3: choose the agent's tool that best matches the latest user message, lexically.

Each tool is scored by the overlap between the message's content words and the words of the
tool's name (weighted most), description and parameters. A short follow-up with no strong match
of its own ("And over 15 years?") reuses the tool called most recently in the conversation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asdrp.models.offline_rules.arguments import ARITHMETIC, Param, extract_from_text, find_times, schema_params
from asdrp.models.offline_rules.arithmetic import is_worded_arithmetic
from asdrp.models.offline_rules.text import content_tokens, first_sentence, words
from asdrp.models.offline_rules.transcript import Transcript

THRESHOLD = 1.0
"""A tool must score at least this to be called: one content word in common with its description."""

STRONG = 2.0
"""A score at which the message clearly names a tool of its own, so no follow-up reuse applies."""

GENERIC_WORDS = frozenset({"between", "place", "city", "country", "state", "landmark", "name", "two", "other",
                           "default", "right", "given", "amount", "value"})
"""Words many tools' descriptions share: a message that matches a tool only on these (and on the
places it names) says nothing about what it asks."""

CONTENDER_MARGIN = 1.5
"""How far below the best score another tool may be and still be tried when the best cannot be filled."""

_NAME_WEIGHT = 2.0
_DESCRIPTION_WEIGHT = 1.0
_PARAM_NAME_WEIGHT = 1.0
_PARAM_DESCRIPTION_WEIGHT = 0.5

_EXAMPLES = re.compile(r"\be\.g\.[^;)]*|\"[^\"]*\"|'[^']*'", re.IGNORECASE)

_FOLLOW_UP = re.compile(r"^\s*(?:and|what about|how about|what if|and what about|same|now|also|ok(?:ay)?|then)\b",
                        re.IGNORECASE)


@dataclass(frozen=True)
class ToolSpec:
    """What the offline model knows of one function tool."""

    name: str
    description: str
    params: list[Param]
    weights: dict[str, float]

    @property
    def required(self) -> list[Param]:
        return [p for p in self.params if p.required]

    @property
    def name_words(self) -> frozenset[str]:
        """The stemmed words of the tool's name and description ("loan", "payment"): what a
        reference such as "the first loan" must use to mean a call of this tool."""
        return frozenset(content_tokens(f"{self.name} {first_sentence(self.description)}"))


def tool_spec(tool: Any) -> ToolSpec | None:
    """A `ToolSpec` for an SDK function tool; None for tools the offline model cannot call."""
    name = getattr(tool, "name", None)
    schema = getattr(tool, "params_json_schema", None)
    if not isinstance(name, str) or not isinstance(schema, dict):
        return None
    description = str(getattr(tool, "description", "") or "")
    params = schema_params(schema)
    weights: dict[str, float] = {}

    def add(text: str, weight: float) -> None:
        # Examples ("e.g. 'Tokyo'") illustrate a value; they say nothing about what the tool is for.
        text = _EXAMPLES.sub(" ", text)
        for token in content_tokens(text):
            weights[token] = max(weights.get(token, 0.0), weight)

    add(name, _NAME_WEIGHT)
    add(description, _DESCRIPTION_WEIGHT)
    for param in params:
        add(param.name, _PARAM_NAME_WEIGHT)
        add(param.description, _PARAM_DESCRIPTION_WEIGHT)
    return ToolSpec(name=name, description=description, params=params, weights=weights)


def score_tool(spec: ToolSpec, message: str, places: list[str]) -> float:
    """How well `message` matches `spec`: shared content words, plus evidence of the right kind.

    Arithmetic (symbols or words: "6 times 7", "15% of 80") points at a tool that evaluates
    expressions and away from every other tool, whatever words it shares with them ("times").
    A clock time in the message ("3pm") points at a tool that takes one.
    """
    tokens = content_tokens(message, expand=True)
    if not any(spec.weights.get(token, 0.0) for token in tokens if token not in GENERIC_WORDS) \
            and not is_worded_arithmetic(message) and not ARITHMETIC.search(message) and not find_times(message):
        return 0.0  # "between", a place name: nothing says what the question is about
    score = sum(spec.weights.get(token, 0.0) for token in tokens)
    takes_expression = any(p.is_expression for p in spec.params)
    if ARITHMETIC.search(message) and takes_expression:
        score += 2.0
    if is_worded_arithmetic(message):
        score += 3.0 if takes_expression else -2.0
    if find_times(message):
        score += 2.0 if any(p.is_time for p in spec.params) else 0.0
    if places and any(p.is_place for p in spec.params):
        score += 0.5
    return score


def _evidence(spec: ToolSpec, message: str, finder: Callable[[str], list[str]]) -> float:
    """Up to 0.5 more for a tool whose required values the message itself supplies.

    Only breaks near-ties: "What are the coordinates 35.0, 135.75?" names coordinates, which
    both geocoding directions mention, but only reverse geocoding can use the two numbers.
    """
    required = spec.required
    if not required:
        return 0.0
    supplied = extract_from_text(message, spec.params, finder)
    return 0.5 * sum(1 for p in required if p.name in supplied) / len(required)


def is_follow_up_opening(message: str) -> bool:
    """True for an elliptical opening that continues the previous question ("And ...", "What about ...")."""
    return bool(_FOLLOW_UP.search(message))


def is_follow_up(message: str, previous: ToolSpec, finder: Callable[[str], list[str]]) -> bool:
    """Elliptical ("And over 15 years?", "What about Paris?"), or short and giving a new value
    for one of the previous tool's parameters.

    A short message that gives the previous tool nothing ("Tell me a joke", "What are the
    coordinates 35.0, 135.75?" after a distance) is not a follow-up of it.
    """
    if _FOLLOW_UP.search(message):
        return True
    return len(words(message)) <= 6 and bool(extract_from_text(message, previous.params, finder))


def rank_tools(specs: list[ToolSpec], transcript: Transcript, places: list[str],
               finder: Callable[[str], list[str]]) -> list[ToolSpec]:
    """Tools worth trying, best first; empty when nothing in the message points at a tool."""
    message = transcript.latest
    scored = [(score_tool(spec, message, places) + _evidence(spec, message, finder), index, spec)
              for index, spec in enumerate(specs)]
    ranked = [(s, i, spec) for s, i, spec in sorted(scored, key=lambda t: (-t[0], t[1]))]
    best = ranked[0][0] if ranked else 0.0
    by_name = {spec.name: spec for spec in specs}
    previous = next((c.name for c in reversed(transcript.calls) if c.name in by_name), None)
    # A weaker tool is tried only when it is a close contender: otherwise a tool that merely can be
    # filled ("Paris" for a geocode) would answer a question about something else.
    candidates = [spec for s, _, spec in ranked if s >= THRESHOLD and s >= best - CONTENDER_MARGIN]
    if previous and is_follow_up(message, by_name[previous], finder):
        previous_score = next(s for s, _, spec in ranked if spec.name == previous)
        # A value only another tool can take ("And if I also add 200 a month?") is not a follow-up
        # of the previous tool, which would silently drop it: the tool that takes it is tried first.
        takers = [] if extract_from_text(message, by_name[previous].params, finder) else [
            spec for _, _, spec in ranked if spec.name != previous and extract_from_text(message, spec.params, finder)]
        if takers:
            return takers[:1] + [c for c in candidates if c.name != takers[0].name]
        if best < STRONG or previous_score >= best:
            return [by_name[previous]] + [c for c in candidates if c.name != previous]
    return candidates
