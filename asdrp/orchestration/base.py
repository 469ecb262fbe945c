"""The one contract every conversational entry point satisfies: a specialist agent, MoE, SmartRouter.

The server and the CLI talk only to `Responder`s, so a chat request looks the same whichever
agent or orchestrator answers it; the orchestrators add routing, memory and tracing behind it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable


@dataclass
class RouteResult:
    """What one conversational turn produced, as the caller receives it."""

    answer: str
    """The text the user sees (after mixing, synthesis, judging or fallback)."""
    session_id: str
    """The conversation the turn was recorded in; generated when the caller gave none."""
    agent_id: str
    """The specialist or orchestrator the request was addressed to."""
    trace: list[dict[str, Any]] = field(default_factory=list)
    """Which experts/sub-queries ran, with their answers, timings, scores and errors."""
    model: str = "offline"
    """Which model answered: `offline` or the LLM's name."""
    session_enabled: bool = True
    """False when the turn was answered statelessly (`type: none` specialist called directly)."""


@dataclass
class StreamEvent:
    """One event of a streamed turn: text deltas as produced, then exactly one `done` or `error`."""

    type: Literal["token", "done", "error"]
    content: str = ""
    """The delta for `token`; the full answer for `done`; the message for `error`."""
    result: RouteResult | None = None
    """Set on `done`."""
    exception: BaseException | None = None
    """Set on `error`: what failed, so a caller (the server) can map it to a status code."""


@runtime_checkable
class Responder(Protocol):
    """Answers turns of a conversation identified by `(user, session_id)`."""

    agent_id: str

    async def route_query(
        self, query: str, session_id: str | None = None, user: str | None = None
    ) -> RouteResult:
        """Answer one turn and record it; `session_id=None` starts a new conversation."""
        ...

    def stream_query(
        self, query: str, session_id: str | None = None, user: str | None = None
    ) -> AsyncIterator[StreamEvent]:
        """Like `route_query`, yielding text deltas as they are produced, then `done`."""
        ...
