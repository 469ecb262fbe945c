"""Small-talk agent without tools: greetings, thanks, and questions about the conversation itself."""

from __future__ import annotations

from agents import Agent

from asdrp.agents.agent_builder import build_agent
from asdrp.agents.config_loader import ModelConfig


def create_chitchat_agent(instructions: str, model_config: ModelConfig) -> Agent:
    """The ChitchatAgent (no tools) and resolved model."""
    return build_agent("ChitchatAgent", instructions, model_config, [])
