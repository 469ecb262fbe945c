"""A specialist agent addressed directly (not through an orchestrator), as a `Responder`.

The agent runs with its own configured session (none for stateless agents), so calling `geo`
directly behaves exactly as the spec's `Runner.run(agent, query, session=session)`. Turns on one
conversation are serialised by the store's lock; a cancelled stream leaves nothing half-written
because the session commits a turn only when it completes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any

from agents import RunConfig, Runner
from openai.types.responses import ResponseTextDeltaEvent

from asdrp.agents.agent_factory import AgentFactory
from asdrp.memory import DEFAULT_USER, ConversationSession, new_session_id, validate_caller, validate_session_id
from asdrp.memory.recall_input import RecallSettings, recall_filter
from asdrp.models import model_label
from asdrp.orchestration.base import RouteResult, StreamEvent


class SpecialistResponder:
    """One configured agent answering turns of `(user, session_id)` conversations."""

    def __init__(self, factory: AgentFactory, agent_name: str, *, wait_when_busy: bool = True) -> None:
        config = factory.agent_config(agent_name)  # AgentException listing valid names if unknown
        self.factory = factory
        self.agent_id = config.name
        self.display_name = config.display_name
        self.wait_when_busy = wait_when_busy
        memory = config.session_memory
        self.recall = RecallSettings(max_items=memory.recall_items, max_tokens=memory.recall_tokens)

    def _run_config(self, session: ConversationSession | None) -> RunConfig | None:
        """Recall for the agent's own conversation (its `recall_items` / `recall_tokens`), when it has one."""
        if session is None or not self.recall.enabled:
            return None
        return RunConfig(call_model_input_filter=recall_filter(session, self.recall))

    def _prepare(self, query: str, session_id: str | None, user: str | None) -> tuple[str, ConversationSession | None]:
        if not isinstance(query, str) or not query.strip():
            raise ValueError(f"{self.agent_id}: the query must be a non-empty string")
        sid = validate_session_id(session_id) if session_id is not None else new_session_id()
        who = validate_caller(user if user is not None else DEFAULT_USER)
        return sid, self.factory.open_session(self.agent_id, sid, who)

    def _lock(self, session: ConversationSession | None) -> AbstractAsyncContextManager[Any]:
        return session.lock(wait=self.wait_when_busy) if session is not None else nullcontext()

    def _result(self, answer: str, sid: str, session: ConversationSession | None, model: Any) -> RouteResult:
        return RouteResult(
            answer=answer, session_id=sid, agent_id=self.agent_id,
            trace=[{"type": "agent", "agent": self.agent_id, "session_enabled": session is not None}],
            model=model_label(model), session_enabled=session is not None,
        )

    async def route_query(self, query: str, session_id: str | None = None, user: str | None = None) -> RouteResult:
        """Run the agent on `query` with its own session (if any) and return its answer."""
        sid, session = self._prepare(query, session_id, user)
        agent = await self.factory.get_agent(self.agent_id)
        async with self._lock(session):
            result = await Runner.run(agent, query.strip(), session=session, run_config=self._run_config(session))
        return self._result(str(result.final_output or ""), sid, session, agent.model)

    async def stream_query(
        self, query: str, session_id: str | None = None, user: str | None = None
    ) -> AsyncIterator[StreamEvent]:
        """Yield the answer's text deltas as the model produces them, then `done` (or `error`)."""
        try:
            sid, session = self._prepare(query, session_id, user)
            agent = await self.factory.get_agent(self.agent_id)
        except Exception as exc:
            yield StreamEvent("error", f"{type(exc).__name__}: {exc}", exception=exc)
            return
        try:
            async with self._lock(session):
                streamed = Runner.run_streamed(
                    agent, query.strip(), session=session, run_config=self._run_config(session)
                )
                try:
                    async for event in streamed.stream_events():
                        if event.type == "raw_response_event" and isinstance(event.data, ResponseTextDeltaEvent):
                            if event.data.delta:
                                yield StreamEvent("token", event.data.delta)
                finally:
                    if not streamed.is_complete:
                        streamed.cancel()  # the session drops the unfinished turn
                answer = str(streamed.final_output or "")
        except Exception as exc:
            yield StreamEvent("error", f"{type(exc).__name__}: {exc}", exception=exc)
            return
        yield StreamEvent("done", answer, self._result(answer, sid, session, agent.model))

    async def aclose(self) -> None:
        """Nothing to release: sessions and stores belong to the factory."""
