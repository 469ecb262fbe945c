"""The offline model's decision: apply rules 1-5 in order to one call's input.

Returns either reply text or tool calls; `asdrp.models.offline` turns that into SDK output items.
Pure and deterministic: the same input always gives the same decision.

Between recall (rule 2) and tools (rule 3) sit small talk and honest refusals (`smalltalk`).
Rules 3 and 4 lean on two modules of their own: `references` resolves "there", "the second one",
"the first loan", "that", "my home town" (or says which question to ask), and `arguments`
extracts values that mean what each parameter needs. Above every rule: right or honestly
unsure, never confidently wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from asdrp.models.offline_rules import arguments
from asdrp.models.offline_rules.recall import recall_answer, unknown_fact_reply
from asdrp.models.offline_rules.references import points_to_a_place
from asdrp.models.offline_rules.replies import (
    capability_reply,
    missing_arguments_reply,
    prose_from_results,
)
from asdrp.models.offline_rules.smalltalk import small_talk_reply, statement_reply
from asdrp.models.offline_rules.tool_choice import ToolSpec, is_follow_up_opening, rank_tools, tool_spec
from asdrp.models.offline_rules.transcript import Transcript, read_transcript


@dataclass(frozen=True)
class Decision:
    """Either `text` to say, or a call of `tool_name` with `arguments` (and, when one question
    names several places for a one-place tool, `more_calls` of the same tool for the others)."""

    text: str | None = None
    tool_name: str | None = None
    arguments: dict[str, Any] | None = None
    more_calls: tuple[dict[str, Any], ...] = ()

    @property
    def is_tool_call(self) -> bool:
        return self.tool_name is not None

    @property
    def calls(self) -> list[tuple[str, dict[str, Any]]]:
        """Every (tool name, arguments) this decision calls, in order."""
        if self.tool_name is None:
            return []
        return [(self.tool_name, self.arguments or {})] + [(self.tool_name, extra) for extra in self.more_calls]


def _memoized(finder: Callable[[str], list[str]]) -> Callable[[str], list[str]]:
    """One decision asks about the same texts many times (per tool, per missing argument)."""
    seen: dict[str, list[str]] = {}

    def find(text: str) -> list[str]:
        if text not in seen:
            seen[text] = list(finder(text))
        return list(seen[text])

    return find


def decide(system_instructions: str | None, input_: str | list[Any], tools: Sequence[Any],
           place_finder: Callable[[str], list[str]] | None = None) -> Decision:
    """Apply the five rules, in order, to one model call."""
    finder = _memoized(place_finder or arguments.find_place_names)
    transcript = read_transcript(input_)

    # Rule 1: the input ends with tool results -> speak from them; never call a tool again.
    if transcript.pending_results:
        return Decision(text=prose_from_results(transcript.pending_results))

    # Rule 2: recall and acknowledgements.
    recalled = recall_answer(transcript)
    if recalled is not None:
        return Decision(text=recalled)

    # Small talk and what no tool can answer (weather, jokes, another language): one honest line.
    specs = [spec for spec in (tool_spec(tool) for tool in tools) if spec is not None]
    tool_words = {word for spec in specs for word in spec.weights}
    chat = small_talk_reply(transcript.latest, tool_words)
    if chat is not None:
        return Decision(text=chat)

    # Rules 3 and 4: a tool whose required arguments can all be filled, or a question about a
    # reference that could mean more than one thing.
    if transcript.latest.strip() and specs:
        places = finder(transcript.latest)
        candidates = rank_tools(specs, transcript, places, finder)
        first_gap = None
        leaning: tuple[ToolSpec, arguments.Filling] | None = None
        for spec in candidates:
            filling = arguments.fill_arguments(spec.params, transcript, finder, tool_name=spec.name,
                                               tool_words=spec.name_words)
            if filling.question:
                return Decision(text=filling.question)
            if filling.complete and leaning is None and _leans_on_stale_place(spec, filling, transcript):
                leaning = (spec, filling)  # kept unless a tool the message itself fills is found
                continue
            if filling.complete:
                return _call(spec, filling, transcript, finder)
            if first_gap is None:
                first_gap = (spec, filling)
        if leaning is not None:
            return _call(*leaning, transcript, finder)
        if first_gap is not None:
            return Decision(text=missing_arguments_reply(first_gap[0], first_gap[1].missing))

    # Rule 5: a recall question about something never told, a note of a plain statement, or what
    # the offline model can do.
    unknown = unknown_fact_reply(transcript)
    if unknown is not None:
        return Decision(text=unknown)
    noted = statement_reply(transcript.latest)
    if noted is not None:
        return Decision(text=noted)
    return Decision(text=capability_reply(system_instructions, specs, transcript.latest))


def _same_call_for_other_places(spec: ToolSpec, filled: dict[str, Any], transcript: Transcript,
                                finder: Callable[[str], list[str]]) -> tuple[dict[str, Any], ...]:
    """"What time is it in Tokyo and in London?" with a one-place tool: one more call per further
    place the message names, so no place asked about is silently dropped."""
    place_params = [p for p in spec.params if p.is_place and p.kind == "string"]
    if len(place_params) != 1:
        return ()
    param = place_params[0]
    named = arguments.places_in(transcript.latest, param, finder)
    if filled.get(param.name) not in named:
        return ()
    return tuple({**filled, param.name: place} for place in named if place != filled[param.name])


def _call(spec: ToolSpec, filling: arguments.Filling, transcript: Transcript,
          finder: Callable[[str], list[str]]) -> Decision:
    return Decision(tool_name=spec.name, arguments=filling.arguments,
                    more_calls=_same_call_for_other_places(spec, filling.arguments, transcript, finder))


def _leans_on_stale_place(spec: ToolSpec, filling: arguments.Filling, transcript: Transcript) -> bool:
    """True when a place came from history although the message names a place of its own and does
    not point back ("What time is it in Tokyo right now?" is not about the place asked before):
    a value in the current message beats history, so a tool the message fills alone is preferred."""
    places_from_history = [p for p in spec.params if p.is_place and p.name in filling.from_history]
    if not places_from_history:
        return False
    message = transcript.latest
    named_here = any(p.is_place and p.name not in filling.from_history and p.name in filling.arguments
                     for p in spec.params)
    return named_here and not points_to_a_place(message) and not is_follow_up_opening(message)
