"""What MoE and SmartRouter share: one turn = lock, load context, answer, record, return.

Subclasses only decide how a turn is answered (`_answer`); this base makes every orchestrator
serialize turns per conversation, keep the canonical transcript, generate session ids, and speak
the `Responder` protocol, streaming included.

Streaming is real where it can be: when a turn's answer is one specialist's answer (MoE chose one
expert, or its fallback agent answers; SmartRouter planned one sub-query) the subclass consults it
with `stream=True`, and its tokens reach the client as the specialist produces them. Where the
answer is made from several answers (a MoE mix, a SmartRouter synthesis) nothing can be shown
before they are all in, so the finished answer is sent in chunks. Either way the `done` event carries the answer
that was recorded, and that is the authority: should a step after a streamed specialist replace
its answer (SmartRouter's judge, a fallback after the expert failed midway), `done` says so. The
turn is recorded once, atomically, after it ends; a client that leaves cancels the turn, which
then records nothing.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import AsyncIterator
from contextvars import ContextVar
from typing import Any

from agents import Agent

from asdrp.agents.agent_factory import AgentFactory
from asdrp.memory import DEFAULT_USER, ConversationKey, new_session_id, validate_caller, validate_session_id
from asdrp.orchestration.base import RouteResult, StreamEvent
from asdrp.orchestration.experts import DeltaSink, SpecialistOutcome, run_specialist
from asdrp.orchestration.memory import ConversationMemory, ConversationState, TurnRecord

STREAM_CHUNK_WORDS = 4
"""Words per streamed token event when an orchestrator streams its finished answer."""

_stream_sink: ContextVar[DeltaSink | None] = ContextVar("asdrp_stream_sink", default=None)
"""Where the answering specialist's deltas go during a streamed turn (unset: not streaming).

A context variable rather than a parameter of `_answer`: the turn runs in its own task, whose
context (and its expert tasks') carries the sink, and subclasses keep one `_answer` for both modes."""


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
        """Run the turn, yielding the answering specialist's tokens as they come, then `done` (or `error`).

        The turn runs as a task so tokens can be passed on while it proceeds; closing this stream
        (a client that left) cancels it, so the lock is released and nothing is recorded.
        """
        deltas: asyncio.Queue[str] = asyncio.Queue()

        async def turn() -> RouteResult:
            _stream_sink.set(deltas.put_nowait)
            return await self.route_query(query, session_id, user)

        task = asyncio.ensure_future(turn())
        shown = False
        try:
            while not task.done():
                getter = asyncio.ensure_future(deltas.get())
                await asyncio.wait((task, getter), return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():
                    getter.cancel()
                    break
                shown = True
                yield StreamEvent("token", getter.result())
            while not deltas.empty():
                shown = True
                yield StreamEvent("token", deltas.get_nowait())
            try:
                result = task.result()
            except Exception as exc:
                yield StreamEvent("error", f"{type(exc).__name__}: {exc}", exception=exc)
                return
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if not shown:
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
        extra: list[dict[str, Any]] | None = None, stream: bool = False,
    ) -> SpecialistOutcome:
        """One specialist call with the conversation context (errors become an outcome).

        `stream=True` says this specialist's answer will be the turn's answer: during a streamed
        turn its tokens are then passed to the client as produced (otherwise it simply runs).
        """
        try:
            agent = await self._agent(agent_name)
            items = await self.memory.specialist_input(state, agent_name, query, extra or ())
        except Exception as exc:
            return SpecialistOutcome(agent_name, "error", error=f"{agent_name} could not be prepared: {exc}")
        sink = _stream_sink.get() if stream else None
        return await run_specialist(agent_name, agent, items, timeout=timeout, retries=retries, on_delta=sink)
