"""Builds an SDK `Agent` from instructions, a model config and plain tool functions.

Every `create_<name>_agent` goes through here so that model resolution (OpenAI or the offline
model) and sampling settings are applied the same way for all agents.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from agents import Agent, ModelSettings, RunContextWrapper, function_tool

from asdrp.agents.config_loader import ModelConfig
from asdrp.models.provider import resolve_model


def build_agent(
    name: str, instructions: str, model_config: ModelConfig, tools: Sequence[Callable[..., Any]] = ()
) -> Agent:
    """An Agent whose model is already resolved, so `Runner.run` needs no RunConfig."""
    return Agent(
        name=name,
        instructions=instructions,
        model=resolve_model(model_config.name),
        model_settings=ModelSettings(temperature=model_config.temperature, max_tokens=model_config.max_tokens),
        tools=[function_tool(tool, failure_error_function=tool_error_message) for tool in tools],
    )


def tool_error_message(context: RunContextWrapper[Any], error: Exception) -> str:
    """What the model sees when a tool raises: the tool's own message (e.g. "division by zero"),
    because the SDK's default generic text leaves the model unable to explain the problem."""
    return f"Error: {error}"
