"""Time specialist: the time in a place (now or in N hours), conversions between places' time zones and
the time difference between two places."""

from __future__ import annotations

from agents import Agent

from asdrp.agents.agent_builder import build_agent
from asdrp.agents.config_loader import ModelConfig
from asdrp.tools import clock


def create_clock_agent(instructions: str, model_config: ModelConfig) -> Agent:
    """The ClockAgent agent with its tools and resolved model."""
    return build_agent(
        "ClockAgent", instructions, model_config, [clock.current_time, clock.convert_time, clock.time_difference]
    )
