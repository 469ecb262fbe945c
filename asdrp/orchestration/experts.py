"""Running specialists for an orchestrator: sessionless, with context, a timeout and retries.

A specialist called by an orchestrator gets its whole context as input items (built by
`ConversationMemory`) and runs WITHOUT its own session, so a `type: none` specialist still sees
the conversation here while remembering nothing when called directly. Failures and timeouts are
returned as outcomes, never raised: one broken expert must not sink the turn.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agents import Agent, Runner

from asdrp.orchestration.memory import TOOL_ITEM_TYPES


@dataclass
class SpecialistOutcome:
    """What one specialist call produced (answer or error), with its timing and tool items."""

    agent: str
    status: str
    """"ok", "error" or "timeout"."""
    answer: str = ""
    error: str = ""
    elapsed: float = 0.0
    attempts: int = 1
    tool_items: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def trace(self, **extra: Any) -> dict[str, Any]:
        """This outcome as a trace entry (answer, timing, status, error, plus caller fields)."""
        entry: dict[str, Any] = {"agent": self.agent, "status": self.status, "answer": self.answer,
                                 "elapsed_ms": round(self.elapsed * 1000, 2)}
        if self.error:
            entry["error"] = self.error
        if self.attempts > 1:
            entry["attempts"] = self.attempts
        entry.update(extra)
        return entry


async def run_specialist(
    agent_name: str, agent: Agent, items: Sequence[dict[str, Any]], *, timeout: float, retries: int = 0
) -> SpecialistOutcome:
    """Run `agent` on `items` with a timeout, retrying failures `retries` times; never raises (except cancel)."""
    started = time.perf_counter()
    outcome = SpecialistOutcome(agent_name, "error")
    for attempt in range(1, retries + 2):
        outcome.attempts = attempt
        try:
            result = await asyncio.wait_for(Runner.run(agent, list(items)), timeout)
        except TimeoutError:
            outcome.status, outcome.error = "timeout", f"{agent_name} did not answer within {timeout:g}s"
            continue
        except Exception as exc:  # reported in the trace, not fatal to the turn
            outcome.status, outcome.error = "error", f"{agent_name} failed: {type(exc).__name__}: {exc}"
            continue
        answer = str(result.final_output or "").strip()
        if not answer:
            outcome.status, outcome.error = "error", f"{agent_name} returned an empty answer"
            continue
        new = [item.to_input_item() for item in result.new_items]
        outcome.status, outcome.error, outcome.answer = "ok", "", answer
        outcome.tool_items = [dict(i) for i in new if isinstance(i, dict) and i.get("type") in TOOL_ITEM_TYPES]
        break
    outcome.elapsed = time.perf_counter() - started
    return outcome
