"""A stateless agent for one-shot API queries (the spec's Stateless API Endpoint sample)."""

from __future__ import annotations

from agents import Agent

from asdrp.agents.agent_builder import build_agent
from asdrp.agents.config_loader import ModelConfig
from asdrp.tools import calculator


def create_api_agent(instructions: str, model_config: ModelConfig) -> Agent:
    """The ApiAgent agent with its tools and resolved model."""
    return build_agent("ApiAgent", instructions, model_config, [calculator.calculate])
