"""What MoE and SmartRouter share: one turn = lock, load context, answer, record, return.

Subclasses only decide how a turn is answered (`_answer`); this base makes every orchestrator
serialize turns per conversation, keep the canonical transcript, generate session ids, and speak
the `Responder` protocol (including streaming, which chunks the finished answer).
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from typing import Any

from agents import Agent

from asdrp.agents.agent_factory import AgentFactory
from asdrp.memory import DEFAULT_USER, ConversationKey, new_session_id, validate_caller, validate_session_id
from asdrp.orchestration.base import RouteResult, StreamEvent
from asdrp.orchestration.experts import SpecialistOutcome, run_specialist
from asdrp.orchestration.memory import ConversationMemory, ConversationState, TurnRecord

STREAM_CHUNK_WORDS = 4
"""Words per streamed token event when an orchestrator streams its finished answer."""


class ConversationOrchestrator(abc.ABC):
    """Base of the orchestrators: conversation memory and the Responder API around `_answer`."""

    agent_id: str = "orchestrator"
    display_name: str = "Orchestrator"
    description: str = ""

    def __init__(self, factory: AgentFactory, memory: ConversationMemory, *, wait_when_busy: bool, model: str) -> None:
        self.factory = factory
        self.memory = memory
        self.wait_when_busy = wait_when_busy
        self.model = model

    @abc.abstractmethod
    async def _answer(self, query: str, state: ConversationState) -> TurnRecord:
        """Answer one turn from its conversation state (must not raise for expert failures)."""

    async def route_query(self, query: str, session_id: str | None = None, user: str | None = None) -> RouteResult:
        """Answer one turn of `(user, session_id)` and record it; a new session id when None."""
        if not isinstance(query, str) or not query.strip():
            raise ValueError(f"{self.agent_id}: the query must be a non-empty string")
        sid = validate_session_id(session_id) if session_id is not None else new_session_id()
        key = ConversationKey(validate_caller(user if user is not None else DEFAULT_USER), sid)
        async with self.memory.lock(key, wait=self.wait_when_busy):
            state = await self.memory.load(key, query.strip())
            turn = await self._answer(query.strip(), state)
            await self.memory.record_turn(key, turn)
        return RouteResult(
            answer=turn.answer,
            session_id=sid,
            agent_id=self.agent_id,
            trace=turn.trace,
            model=self.model,
            session_enabled=True,
        )

    async def stream_query(
        self, query: str, session_id: str | None = None, user: str | None = None
    ) -> AsyncIterator[StreamEvent]:
        """Compute the turn, then stream its answer in chunks and finish with `done` (or `error`)."""
        try:
            result = await self.route_query(query, session_id, user)
        except Exception as exc:
            yield StreamEvent("error", f"{type(exc).__name__}: {exc}", exception=exc)
            return
        pieces = result.answer.split(" ")
        for start in range(0, len(pieces), STREAM_CHUNK_WORDS):
            chunk = " ".join(pieces[start:start + STREAM_CHUNK_WORDS])
            yield StreamEvent("token", chunk if start == 0 else " " + chunk)
        yield StreamEvent("done", result.answer, result)

    async def aclose(self) -> None:  # noqa: B027 - a hook subclasses may extend; nothing to do by default
        """Nothing of its own to release: the stores belong to the factory."""

    # --- helpers for subclasses -------------------------------------------------------------

    async def _agent(self, name: str) -> Agent:
        return await self.factory.get_agent(name)

    def _label(self, agent_name: str) -> str:
        try:
            return self.factory.agent_config(agent_name).display_name
        except Exception:
            return agent_name

    async def _consult(
        self, agent_name: str, state: ConversationState, query: str, *, timeout: float, retries: int = 0,
        extra: list[dict[str, Any]] | None = None,
    ) -> SpecialistOutcome:
        """One specialist call with the conversation context (errors become an outcome)."""
        try:
            agent = await self._agent(agent_name)
            items = await self.memory.specialist_input(state, agent_name, query, extra or ())
        except Exception as exc:
            return SpecialistOutcome(agent_name, "error", error=f"{agent_name} could not be prepared: {exc}")
        return await run_specialist(agent_name, agent, items, timeout=timeout, retries=retries)
