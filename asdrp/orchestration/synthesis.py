"""Turning several specialists' answers into the one answer the user sees.

Offline (no LLM) the merge is a clear, labelled concatenation, so it never invents anything. With
a real model the configured LLM writes one answer from the experts' answers and the recent
conversation; if that call fails, the labelled merge is used instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agents import Agent, Runner
from agents.models.interface import Model

from asdrp.models import OfflineModel, resolve_model

SYNTHESIS_INSTRUCTIONS = (
    "You combine answers from specialist agents into one reply to the user's latest message. "
    "Use only facts stated by the specialists, keep every number exact, be concise, and do not "
    "mention the specialists unless their answers disagree."
)


def labelled_merge(parts: Sequence[tuple[str, str]]) -> str:
    """"**GeoAgent:** ...\n\n**ClockAgent:** ..." — the offline synthesis of several answers."""
    return "\n\n".join(f"**{label}:** {text}" for label, text in parts)


def is_llm(model: Model | None) -> bool:
    """True when `model` is a real LLM (not the offline stand-in)."""
    return model is not None and not isinstance(model, OfflineModel)


def synthesis_model(model_name: str) -> Model | None:
    """The LLM that writes syntheses, or None offline (then answers are merged with labels)."""
    model = resolve_model(model_name)
    return model if is_llm(model) else None


class Synthesizer:
    """Writes one answer from several expert answers (LLM when configured, labelled merge otherwise)."""

    def __init__(self, model: Model | None, recent_items: int) -> None:
        self.model = model
        self.recent_items = recent_items
        self._agent = Agent(name="Synthesizer", instructions=SYNTHESIS_INSTRUCTIONS, model=model) if model else None

    async def combine(
        self, query: str, parts: Sequence[tuple[str, str]], recent: Sequence[dict[str, Any]]
    ) -> tuple[str, str]:
        """(answer, method) where method is "llm", "labelled-merge" or "llm-failed:labelled-merge"."""
        merged = labelled_merge(parts)
        if self._agent is None:
            return merged, "labelled-merge"
        prompt = (
            f"The user's latest message: {query}\n\nSpecialist answers:\n{merged}\n\n"
            "Write the single reply the user should receive."
        )
        try:
            result = await Runner.run(self._agent, [*recent[-self.recent_items:], {"role": "user", "content": prompt}])
        except Exception:
            return merged, "llm-failed:labelled-merge"
        text = str(result.final_output or "").strip()
        return (text, "llm") if text else (merged, "llm-failed:labelled-merge")
