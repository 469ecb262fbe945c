"""The offline model's decision: apply rules 1-5 in order to one call's input.

Returns either reply text or one tool call; `asdrp.models.offline` turns that into SDK output
items. Pure and deterministic: the same input always gives the same decision.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from asdrp.models.offline_rules import arguments
from asdrp.models.offline_rules.recall import recall_answer
from asdrp.models.offline_rules.replies import (
    capability_reply,
    missing_arguments_reply,
    prose_from_results,
)
from asdrp.models.offline_rules.tool_choice import rank_tools, tool_spec
from asdrp.models.offline_rules.transcript import read_transcript


@dataclass(frozen=True)
class Decision:
    """Either `text` to say, or a call of `tool_name` with `arguments`."""

    text: str | None = None
    tool_name: str | None = None
    arguments: dict[str, Any] | None = None

    @property
    def is_tool_call(self) -> bool:
        return self.tool_name is not None


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

    # Rules 3 and 4: a tool whose required arguments can all be filled.
    specs = [spec for spec in (tool_spec(tool) for tool in tools) if spec is not None]
    if transcript.latest.strip() and specs:
        places = finder(transcript.latest)
        candidates = rank_tools(specs, transcript, places, finder)
        first_gap = None
        for spec in candidates:
            filling = arguments.fill_arguments(spec.params, transcript, finder)
            if filling.complete:
                return Decision(tool_name=spec.name, arguments=filling.arguments)
            if first_gap is None:
                first_gap = (spec, filling)
        if first_gap is not None:
            return Decision(text=missing_arguments_reply(first_gap[0], first_gap[1].missing))

    # Rule 5: say honestly what the offline model can do.
    return Decision(text=capability_reply(system_instructions, specs, transcript.latest))
