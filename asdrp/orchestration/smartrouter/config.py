"""`config/smartrouter.yaml` as typed settings: capabilities, interpretation, execution, judge, memory.

Every key is validated at load (ConfigError naming file and key) and enforced by the router.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from asdrp.agents.agent_factory import AgentFactory
from asdrp.orchestration.moe.config import check_agents
from asdrp.orchestration.settings import MemorySettings, Section, default_orchestrator_config, load_yaml, read_memory

METHODS = ("auto", "rules", "llm")


@dataclass(frozen=True)
class Capability:
    """Something a specialist can do, and the words that ask for it."""

    name: str
    agent: str
    keywords: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class SmartRouterConfig:
    """The whole of smartrouter.yaml, validated."""

    path: Path
    display_name: str
    description: str
    capabilities: tuple[Capability, ...]
    default_capability: str
    interpretation_method: str
    planner_model: str
    max_subqueries: int
    subquery_timeout: float
    overall_timeout: float
    retries: int
    synthesis_model: str
    synthesis_recent_items: int
    judge_enabled: bool
    judge_method: str
    judge_threshold: float
    fallback_message: str
    memory: MemorySettings


def load_smartrouter_config(path: str | Path | None = None, factory: AgentFactory | None = None) -> SmartRouterConfig:
    """Read and validate smartrouter.yaml (default: config/smartrouter.yaml)."""
    file = Path(path) if path is not None else default_orchestrator_config("smartrouter.yaml")
    top = load_yaml(file)

    orchestrator = top.section("orchestrator")
    display_name = orchestrator.string("display_name", "SmartRouter")
    description = orchestrator.string("description", "Interprets, decomposes and routes each turn by capability.")
    orchestrator.finish()

    section = top.section("capabilities", required=True)
    capabilities: list[Capability] = []
    for name in section.mapping_keys():
        entry = Section(file, f"capabilities.{name}", section.raw[name])
        capabilities.append(Capability(
            name=name,
            agent=entry.string("agent", required=True),
            keywords=tuple(entry.strings("keywords", required=True, non_empty=True)),
            description=entry.string("description", name),
        ))
        entry.finish()
    if not capabilities:
        raise section.error("", "must define at least one capability")

    interpretation = top.section("interpretation")
    default_capability = interpretation.string("default_capability", capabilities[0].name,
                                               choices=tuple(c.name for c in capabilities))
    method = interpretation.string("method", "auto", choices=METHODS)
    planner_model = interpretation.string("model", "gpt-4.1-mini")
    max_subqueries = interpretation.integer("max_subqueries", 3, minimum=1)
    interpretation.finish()

    execution = top.section("execution")
    subquery_timeout = execution.number("subquery_timeout", 20.0, positive=True)
    overall_timeout = execution.number("overall_timeout", 60.0, positive=True)
    if overall_timeout < subquery_timeout:
        raise execution.error(
            "overall_timeout", f"must be at least subquery_timeout ({subquery_timeout:g}), got {overall_timeout:g}"
        )
    retries = execution.integer("retries", 1, minimum=0)
    execution.finish()

    synthesis = top.section("synthesis")
    synthesis_model = synthesis.string("model", "gpt-4.1-mini")
    recent_items = synthesis.integer("recent_items", 6, minimum=0)
    synthesis.finish()

    judge = top.section("judge")
    judge_enabled = judge.boolean("enabled", True)
    judge_method = judge.string("method", "auto", choices=METHODS)
    threshold = judge.number("threshold", 0.5, minimum=0.0, maximum=1.0)
    fallback_message = judge.string("fallback_message", "Sorry, I could not find a reliable answer to that.")
    judge.finish()

    memory = read_memory(top, "smartrouter")
    top.finish()
    if factory is not None:
        check_agents(file, factory, [(f"capabilities.{c.name}.agent", c.agent) for c in capabilities])
    return SmartRouterConfig(
        file, display_name, description, tuple(capabilities), default_capability, method, planner_model,
        max_subqueries, subquery_timeout, overall_timeout, retries, synthesis_model, recent_items, judge_enabled,
        judge_method, threshold, fallback_message, memory,
    )
