"""A test-only agent whose offline model reports what it saw: the user message before the current one.

Its answer to a turn is `after: <the previous user message in its input, or none> | pid <worker pid>`,
so a stored history proves, turn by turn, that each turn's model input held the turn stored just
before it, and the answer names the worker process that produced it. Every turn pauses ~20 ms so
concurrent turns overlap; a turn whose message starts with `slow:` first writes the worker's pid to
the file named by ASDRP_TEST_PID_FILE, then pauses ASDRP_TEST_SLOW_S seconds (default 60), long
enough for a test to kill that worker mid-turn.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

from agents import Agent

from asdrp.agents.config_loader import ModelConfig
from asdrp.models import OfflineModel
from asdrp.models.offline_rules.engine import Decision

SLOW_PREFIX = "slow:"
PAUSE_S = 0.02


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def user_messages(input: str | list[Any]) -> list[str]:
    """The user messages of a model input, oldest first (a bare string is one user message)."""
    if isinstance(input, str):
        return [input]
    return [
        _text(item.get("content"))
        for item in input
        if isinstance(item, dict) and item.get("role") == "user"
    ]


def witness(input: str | list[Any]) -> str:
    users = user_messages(input)
    previous = users[-2] if len(users) >= 2 else "none"
    return f"after: {previous} | pid {os.getpid()}"


class WitnessModel(OfflineModel):
    """Deterministic and network-free; labelled `offline` like the model it extends."""

    def _decide(self, system_instructions: str | None, input: Any, tools: Any) -> Decision:
        return Decision(text=witness(input))

    @staticmethod
    async def _pause(input: str | list[Any]) -> None:
        users = user_messages(input)
        if users and users[-1].startswith(SLOW_PREFIX):
            target = os.environ.get("ASDRP_TEST_PID_FILE")
            if target:
                partial = f"{target}.{os.getpid()}.tmp"
                with open(partial, "w") as file:
                    file.write(str(os.getpid()))
                os.replace(partial, target)  # readers never see a half-written pid
            await asyncio.sleep(float(os.environ.get("ASDRP_TEST_SLOW_S", "60")))
        else:
            await asyncio.sleep(PAUSE_S)

    async def get_response(self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any) -> Any:
        await self._pause(input)
        return await super().get_response(system_instructions, input, *args, **kwargs)

    async def stream_response(
        self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any
    ) -> AsyncIterator[Any]:
        await self._pause(input)
        async for event in super().stream_response(system_instructions, input, *args, **kwargs):
            yield event


def create_witness_agent(instructions: str, model_config: ModelConfig) -> Agent:
    return Agent(name="WitnessAgent", instructions=instructions, model=WitnessModel())
