"""Fixtures of the orchestration tests: a temporary ASDRP_HOME, factories and both orchestrators.

Everything runs on the offline model and writes only under tmp_path. `orchestrator` is
parametrized so every memory guarantee is proven for MoE and SmartRouter alike.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from asdrp.agents.agent_factory import AgentFactory
from asdrp.orchestration.conversation import ConversationOrchestrator
from asdrp.orchestration.moe import MoEOrchestrator
from asdrp.orchestration.smartrouter import SmartRouter

REPO = Path(__file__).resolve().parents[2]
AGENTS_YAML = REPO / "config" / "open_agents.yaml"
MOE_YAML = REPO / "config" / "moe.yaml"
SMARTROUTER_YAML = REPO / "config" / "smartrouter.yaml"

TEST_AGENTS = {
    "slow": ("create_slow_agent", "SlowAgent"),
    "broken": ("create_failing_agent", "FailingAgent"),
    "delayed_geo": ("create_delayed_geo_agent", "DelayedGeoAgent"),
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ASDRP_HOME", str(tmp_path))
    monkeypatch.setenv("ASDRP_MODEL_PROVIDER", "offline")
    monkeypatch.delenv("ASDRP_SESSION_URL", raising=False)
    monkeypatch.delenv("ASDRP_CONFIG", raising=False)
    return tmp_path


@pytest.fixture
async def factory(home: Path) -> AsyncIterator[AgentFactory]:
    made = AgentFactory(config_path=AGENTS_YAML)
    yield made
    await made.aclose()


def write_yaml(path: Path, base: Path, change: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """A copy of `base` with `change` applied, written to `path`."""
    data = copy.deepcopy(yaml.safe_load(base.read_text()))
    if change is not None:
        change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
async def test_factory(home: Path) -> AsyncIterator[AgentFactory]:
    """A factory whose configuration also has the slow, failing and delayed test agents."""

    def add(data: dict[str, Any]) -> None:
        for name, (function, display) in TEST_AGENTS.items():
            data["agents"][name] = {
                "display_name": display, "module": "tests.orchestration.fake_agents", "function": function,
                "description": f"test agent {name}", "default_instructions": "Test agent.",
                "session_memory": {"type": "none", "enabled": False},
            }

    made = AgentFactory(config_path=write_yaml(home / "agents.yaml", AGENTS_YAML, add))
    yield made
    await made.aclose()


async def build(
    kind: str, factory: AgentFactory, config_path: Path | None = None, **kwargs: Any
) -> ConversationOrchestrator:
    if kind == "moe":
        return await MoEOrchestrator.create(factory, config_path or MOE_YAML, **kwargs)
    return await SmartRouter.create(factory, config_path or SMARTROUTER_YAML, **kwargs)


@pytest.fixture(params=["moe", "smartrouter"])
async def orchestrator(request: pytest.FixtureRequest, factory: AgentFactory) -> ConversationOrchestrator:
    return await build(request.param, factory)
