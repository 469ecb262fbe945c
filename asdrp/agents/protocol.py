"""The one exception the agents layer raises (the factory returns the SDK's own `agents.Agent` objects)."""

from __future__ import annotations


class AgentException(Exception):
    """A request for an agent that cannot be served: unknown, disabled, or misconfigured.

    The message always names the agent and, when the name is unknown, lists the valid names,
    because the usual cause is a typo by the caller.
    """

    def __init__(self, message: str, agent_name: str | None = None) -> None:
        super().__init__(message)
        self.agent_name = agent_name
