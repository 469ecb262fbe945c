"""Calculator specialist: arithmetic expressions evaluated by a safe parser (never eval)."""

from __future__ import annotations

from agents import Agent

from asdrp.agents.agent_builder import build_agent
from asdrp.agents.config_loader import ModelConfig
from asdrp.tools import calculator


def create_calculator_agent(instructions: str, model_config: ModelConfig) -> Agent:
    """The CalculatorAgent agent with its tools and resolved model."""
    return build_agent("CalculatorAgent", instructions, model_config, [calculator.calculate])
