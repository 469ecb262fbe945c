"""Scoring a SmartRouter answer before the user sees it; below the threshold a fallback message is sent.

Offline the score is the share of sub-queries that were answered (a failed or timed-out part
lowers it); with a real model an LLM grades the answer against the question (structured output).
"""

from __future__ import annotations

from agents import Agent, Runner
from agents.models.interface import Model
from pydantic import BaseModel, Field


class Verdict(BaseModel):
    """Structured output of the LLM judge."""

    score: float = Field(ge=0.0, le=1.0, description="How well the answer answers the question, 0..1")
    reason: str = Field(description="One sentence explaining the score")


class Judge:
    """Scores an answer in [0, 1]: rules offline, an LLM when one is configured."""

    def __init__(self, model: Model | None) -> None:
        self.method = "llm" if model is not None else "rules"
        self._agent = Agent(
            name="AnswerJudge",
            instructions="Grade how completely and correctly the answer responds to the user's question.",
            model=model,
            output_type=Verdict,
        ) if model is not None else None

    async def score(self, query: str, answer: str, answered: int, total: int) -> tuple[float, str]:
        """(score, reason); the rules score is answered/total sub-queries."""
        rules = (answered / total if total else 0.0, f"{answered} of {total} sub-queries answered")
        if self._agent is None or not answered:
            return rules
        try:
            result = await Runner.run(self._agent, f"Question: {query}\n\nAnswer: {answer}")
        except Exception as exc:
            return rules[0], f"LLM judge failed ({type(exc).__name__}); {rules[1]}"
        verdict = result.final_output
        if not isinstance(verdict, Verdict):
            return rules
        return verdict.score, verdict.reason
