"""What the rest of asdrp may rely on from an agent, and the one exception the agents layer raises.

The factory returns the SDK's `agents.Agent` objects; `AgentProtocol` names the part of them that
callers (orchestrators, server, CLI) use, so code that only needs those attributes can say so.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class AgentProtocol(Protocol):
    """An agent as asdrp uses it: a name, instructions, a model and tools (the SDK's `Agent` fits)."""

    name: str
    instructions: Any
    model: Any
    tools: list[Any]


class AgentException(Exception):
    """A request for an agent that cannot be served: unknown, disabled, or misconfigured.

    The message always names the agent and, when the name is unknown, lists the valid names,
    because the usual cause is a typo by the caller.
    """

    def __init__(self, message: str, agent_name: str | None = None) -> None:
        super().__init__(message)
        self.agent_name = agent_name
