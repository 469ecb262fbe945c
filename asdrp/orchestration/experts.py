"""Running specialists for an orchestrator: sessionless, with context, a timeout and retries.

A specialist called by an orchestrator gets its whole context as input items (built by
`ConversationMemory`) and runs WITHOUT its own session, so a `type: none` specialist still sees
the conversation here while remembering nothing when called directly. Failures and timeouts are
returned as outcomes, never raised: one broken expert must not sink the turn.

A specialist whose answer will be the turn's answer can be run *streamed* (`on_delta`): its text
deltas are handed over as the model produces them, so an orchestrator's client sees the first
token when the specialist makes it rather than when the whole turn is done.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agents import Agent, Runner
from openai.types.responses import ResponseTextDeltaEvent

from asdrp.orchestration.memory import TOOL_ITEM_TYPES

DeltaSink = Callable[[str], None]
"""Receives a streamed specialist's text deltas, in order."""


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


async def _run(agent: Agent, items: Sequence[dict[str, Any]], on_delta: DeltaSink | None, shown: list[str]) -> Any:
    """One run: plain, or streamed with each text delta passed to `on_delta` (and kept in `shown`)."""
    if on_delta is None:
        return await Runner.run(agent, list(items))
    streamed = Runner.run_streamed(agent, list(items))
    try:
        async for event in streamed.stream_events():
            if event.type == "raw_response_event" and isinstance(event.data, ResponseTextDeltaEvent):
                if event.data.delta:
                    shown.append(event.data.delta)
                    on_delta(event.data.delta)
    finally:
        if not streamed.is_complete:
            streamed.cancel()
    return streamed


async def run_specialist(
    agent_name: str, agent: Agent, items: Sequence[dict[str, Any]], *, timeout: float, retries: int = 0,
    on_delta: DeltaSink | None = None,
) -> SpecialistOutcome:
    """Run `agent` on `items` with a timeout, retrying failures `retries` times; never raises (except cancel).

    With `on_delta` the run is streamed; an attempt that already showed text is not retried (the
    client cannot unsee it), so its failure is the outcome.
    """
    started = time.perf_counter()
    outcome = SpecialistOutcome(agent_name, "error")
    shown: list[str] = []
    for attempt in range(1, retries + 2):
        if shown:
            break
        outcome.attempts = attempt
        try:
            result = await asyncio.wait_for(_run(agent, items, on_delta, shown), timeout)
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
