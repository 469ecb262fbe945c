"""Help-desk assistant; its conversations persist in data/sessions/support.db (the spec's Persistent Conversations)."""

from __future__ import annotations

from agents import Agent

from asdrp.agents.agent_builder import build_agent
from asdrp.agents.config_loader import ModelConfig


def create_support_agent(instructions: str, model_config: ModelConfig) -> Agent:
    """The SupportAgent (no tools) and resolved model."""
    return build_agent("SupportAgent", instructions, model_config, [])
