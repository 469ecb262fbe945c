"""A test-only agent whose offline model takes a while, to have a turn in flight during shutdown."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

from agents import Agent

from asdrp.agents.config_loader import ModelConfig
from asdrp.models import OfflineModel


class SlowOfflineModel(OfflineModel):
    """The offline model after a pause of ASDRP_TEST_SLOW_S seconds (default 2)."""

    @staticmethod
    async def _pause() -> None:
        await asyncio.sleep(float(os.environ.get("ASDRP_TEST_SLOW_S", "2")))

    async def get_response(self, *args: Any, **kwargs: Any) -> Any:
        await self._pause()
        return await super().get_response(*args, **kwargs)

    async def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        await self._pause()
        async for event in super().stream_response(*args, **kwargs):
            yield event


def create_slow_agent(instructions: str, model_config: ModelConfig) -> Agent:
    return Agent(name="SlowAgent", instructions=instructions, model=SlowOfflineModel())
