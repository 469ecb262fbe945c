"""Interpreting a turn: its complexity, its domains and, when compound, its sub-queries.

Offline the rules are deterministic: split on question marks and on conjunctions that start a new
question, map each part to a capability by its keywords, let a part without a domain inherit the
previous part's (or the previous turn's), and make a part that points back ("there", "it") depend
on the part before it. With a real model the same plan comes from an LLM with structured output.
Both paths end in `finalize`, which enforces `max_subqueries` and sane dependencies.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from agents import Agent, Runner
from agents.models.interface import Model
from pydantic import BaseModel, Field

from asdrp.orchestration.smartrouter.config import Capability
from asdrp.orchestration.text import (
    asks_or_offers,
    content_words,
    is_pleasantry,
    refers_to_earlier_part,
    split_query,
    vocabulary,
)

__all__ = ["CapabilityMatcher", "LLMPlanner", "Plan", "RulePlanner", "SubQuery", "finalize", "split_query"]


@dataclass(frozen=True)
class SubQuery:
    """One part of a turn, routed to one capability, possibly waiting for earlier parts."""

    index: int
    text: str
    capability: str
    depends_on: tuple[int, ...] = ()


@dataclass
class Plan:
    """How a turn will be answered."""

    complexity: Literal["simple", "complex"]
    subqueries: list[SubQuery]
    method: str
    notes: list[str] = field(default_factory=list)

    @property
    def domains(self) -> list[str]:
        return list(dict.fromkeys(s.capability for s in self.subqueries))

    def trace(self) -> dict[str, Any]:
        return {"type": "plan", "method": self.method, "complexity": self.complexity, "domains": self.domains,
                "subqueries": [{"index": s.index, "text": s.text, "capability": s.capability,
                                "depends_on": list(s.depends_on)} for s in self.subqueries], "notes": self.notes}


class CapabilityMatcher:
    """Scores capabilities for a text by keyword overlap, rarer keywords weighing more."""

    def __init__(self, capabilities: Sequence[Capability]) -> None:
        self.capabilities = list(capabilities)
        self.words = {c.name: vocabulary(c.keywords) for c in self.capabilities}
        every = [w for vocab in self.words.values() for w in vocab]
        self.idf = {w: math.log(1 + len(self.capabilities) / every.count(w)) for w in set(every)}

    def best(self, text: str) -> str | None:
        """The best capability for `text`, or None when it has no domain words."""
        known = [w for w in dict.fromkeys(content_words(text)) if w in self.idf]
        if not known:
            return None
        scores = {c.name: sum(self.idf[w] for w in known if w in self.words[c.name]) for c in self.capabilities}
        return max(self.capabilities, key=lambda c: (scores[c.name], -self.capabilities.index(c))).name


def finalize(
    parts: Sequence[SubQuery], *, max_subqueries: int, method: str, notes: list[str] | None = None
) -> Plan:
    """Renumber, keep dependencies pointing backwards only, and merge parts beyond `max_subqueries`."""
    notes = list(notes or [])
    parts = list(parts)
    if len(parts) > max_subqueries:
        keep, extra = parts[: max_subqueries - 1], parts[max_subqueries - 1:]
        merged_deps = {d for p in extra for d in p.depends_on if d < extra[0].index}
        keep.append(SubQuery(extra[0].index, " and ".join(p.text for p in extra), extra[0].capability,
                             tuple(sorted(merged_deps))))
        notes.append(f"{len(parts)} parts merged into {max_subqueries} (max_subqueries)")
        parts = keep
    renumber = {p.index: i for i, p in enumerate(parts)}
    final = [
        SubQuery(
            i,
            p.text,
            p.capability,
            tuple(sorted({renumber[d] for d in p.depends_on if d in renumber and renumber[d] < i})),
        )
        for i, p in enumerate(parts)
    ]
    return Plan("simple" if len(final) == 1 else "complex", final, method, notes)


def _last_assistant_text(recent: Sequence[dict[str, Any]]) -> str:
    """The text of the latest assistant message among `recent` transcript items ("" if none)."""
    for item in reversed(recent):
        if item.get("role") == "assistant":
            content = item.get("content")
            if isinstance(content, str):
                return content
            return " ".join(str(part.get("text", "")) for part in content or [] if isinstance(part, dict))
    return ""


class RulePlanner:
    """The deterministic offline interpreter/decomposer."""

    method = "rules"

    def __init__(self, capabilities: Sequence[Capability], default_capability: str, max_subqueries: int) -> None:
        self.matcher = CapabilityMatcher(capabilities)
        self.default_capability = default_capability
        self.max_subqueries = max_subqueries

    async def plan(self, query: str, previous: Sequence[str], recent: Sequence[dict[str, Any]] = ()) -> Plan:
        notes: list[str] = []
        parts: list[SubQuery] = []
        answering_a_question = bool(recent) and asks_or_offers(_last_assistant_text(recent))
        for index, text in enumerate(split_query(query)):
            capability = self.matcher.best(text)
            if capability is None and is_pleasantry(text) and not answering_a_question:
                capability = self.default_capability
                notes.append(f"part {index} is a greeting or thanks: the default capability")
            if capability is None:
                if parts:
                    capability = parts[-1].capability
                    notes.append(f"part {index} has no domain: inherits part {index - 1}'s")
                elif previous:
                    capability = previous[0]
                    notes.append("no domain of its own: inherits the previous turn's")
                else:
                    capability = self.default_capability
                    notes.append("no domain: the default capability")
            depends = (index - 1,) if parts and refers_to_earlier_part(text) else ()
            parts.append(SubQuery(index, text, capability, depends))
        return finalize(parts, max_subqueries=self.max_subqueries, method=self.method, notes=notes)


class PlannedSubQuery(BaseModel):
    """Structured output: one sub-query of an LLM plan."""

    text: str = Field(description="A self-contained question for one specialist")
    capability: str = Field(description="One of the capability names listed in the instructions")
    depends_on: list[int] = Field(
        default_factory=list, description="Indexes of earlier sub-queries whose answers it needs"
    )


class PlanOutput(BaseModel):
    """Structured output: the LLM's interpretation of a turn."""

    complexity: Literal["simple", "complex"]
    subqueries: list[PlannedSubQuery]


class LLMPlanner:
    """Interpretation and decomposition by an LLM with structured output (falls back to the rules)."""

    method = "llm"

    def __init__(self, model: Model, capabilities: Sequence[Capability], rules: RulePlanner) -> None:
        self.rules = rules
        self.names = [c.name for c in capabilities]
        listing = "\n".join(f"- {c.name}: {c.description}" for c in capabilities)
        self.agent = Agent(
            name="QueryPlanner",
            instructions=(
                "Interpret the user's latest message in the light of the conversation. A follow-up without a "
                "domain of its own belongs to the previous turn's domain. If it asks one thing, return one "
                "sub-query (complexity simple); if several, split it into self-contained sub-queries "
                f"(at most {rules.max_subqueries}), each with one capability, and list in depends_on the "
                f"earlier sub-queries whose answers it needs.\nCapabilities:\n{listing}"
            ),
            model=model,
            output_type=PlanOutput,
        )

    async def plan(self, query: str, previous: Sequence[str], recent: Sequence[dict[str, Any]] = ()) -> Plan:
        try:
            result = await Runner.run(self.agent, [*recent, {"role": "user", "content": query}])
            output = result.final_output
            if not isinstance(output, PlanOutput) or not output.subqueries:
                raise ValueError("the planner returned no sub-queries")
        except Exception as exc:
            plan = await self.rules.plan(query, previous, recent)
            plan.notes.append(f"LLM planning failed ({type(exc).__name__}: {exc}); used the rules")
            return plan
        notes: list[str] = []
        parts = []
        for index, sub in enumerate(output.subqueries):
            capability = sub.capability
            if capability not in self.names:
                capability = self.rules.matcher.best(sub.text) or (
                    previous[0] if previous else self.rules.default_capability
                )
                notes.append(f"unknown capability {sub.capability!r} for part {index}: mapped to {capability!r}")
            parts.append(SubQuery(index, sub.text, capability, tuple(d for d in sub.depends_on if 0 <= d < index)))
        return finalize(parts, max_subqueries=self.rules.max_subqueries, method=self.method, notes=notes)
