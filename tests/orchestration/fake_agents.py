"""Test-only agents referenced from temporary YAML files: slow, failing and recording specialists.

They wrap the offline model so their answers stay meaningful; `CALLS` records what each received
(the input items), which lets tests check what context an orchestrator gave them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from agents import Agent

from asdrp.agents.agent_builder import build_agent
from asdrp.agents.config_loader import ModelConfig
from asdrp.models import OfflineModel
from asdrp.tools import clock, geo

SLOW_SECONDS = 30.0
"""How long the slow agent sleeps: far beyond any timeout the tests configure."""

CALLS: list[tuple[str, Any]] = []
"""(agent name, input) of every call of the recording/delayed agents, in call order."""


class SlowModel(OfflineModel):
    async def get_response(self, *args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(SLOW_SECONDS)
        return await super().get_response(*args, **kwargs)


class FailingModel(OfflineModel):
    async def get_response(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the model backend is down")


class DelayedRecordingModel(OfflineModel):
    """Answers like the offline model after a short delay, recording its input first."""

    def __init__(self, name: str, delay: float) -> None:
        super().__init__()
        self.name = name
        self.delay = delay

    async def get_response(self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any) -> Any:
        CALLS.append((self.name, input))
        await asyncio.sleep(self.delay)
        return await super().get_response(system_instructions, input, *args, **kwargs)


def create_slow_agent(instructions: str, model_config: ModelConfig) -> Agent:
    return build_agent("SlowAgent", instructions, model_config, [clock.current_time]).clone(model=SlowModel())


def create_failing_agent(instructions: str, model_config: ModelConfig) -> Agent:
    return build_agent("FailingAgent", instructions, model_config, [geo.geocode]).clone(model=FailingModel())


def create_delayed_geo_agent(instructions: str, model_config: ModelConfig) -> Agent:
    agent = build_agent("DelayedGeoAgent", instructions, model_config, [geo.geocode])
    return agent.clone(model=DelayedRecordingModel("delayed_geo", 0.3))
