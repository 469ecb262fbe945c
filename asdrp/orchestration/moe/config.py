"""`config/moe.yaml` as typed settings: expert groups, selection, execution, synthesis and memory.

Every key is validated at load (ConfigError naming file and key) and every key is used; agents
named by expert groups must be enabled in the agent configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from asdrp.agents.agent_factory import AgentFactory
from asdrp.agents.config_loader import ConfigError
from asdrp.orchestration.settings import MemorySettings, Section, default_orchestrator_config, load_yaml, read_memory

SELECTORS = ("auto", "lexical", "embedding")


@dataclass(frozen=True)
class ExpertGroup:
    """A set of agents answering one kind of question, and how to recognise that kind."""

    name: str
    agents: tuple[str, ...]
    capabilities: tuple[str, ...]
    examples: tuple[str, ...]
    weight: float


@dataclass(frozen=True)
class MoEConfig:
    """The whole of moe.yaml, validated."""

    path: Path
    display_name: str
    description: str
    selector: str
    embedding_model: str | None
    top_k_experts: int
    confidence_threshold: float
    relevance_gap: float
    fast_path_enabled: bool
    fast_path_agent: str
    fast_path_max_words: int
    fast_path_phrases: tuple[str, ...]
    experts: tuple[ExpertGroup, ...]
    expert_timeout: float
    overall_timeout: float
    fallback_agent: str
    fallback_message: str
    synthesis_model: str
    synthesis_recent_items: int
    memory: MemorySettings


def load_moe_config(path: str | Path | None = None, factory: AgentFactory | None = None) -> MoEConfig:
    """Read and validate moe.yaml (default: config/moe.yaml); agent names checked against `factory`."""
    file = Path(path) if path is not None else default_orchestrator_config("moe.yaml")
    top = load_yaml(file)

    orchestrator = top.section("orchestrator")
    display_name = orchestrator.string("display_name", "MoE")
    description = orchestrator.string(
        "description", "Mixture of experts: picks the best specialists and mixes their answers."
    )
    orchestrator.finish()

    selection = top.section("selection")
    selector = selection.string("selector", "auto", choices=SELECTORS)
    embedding_model = selection.string("embedding_model", None, optional=True)
    if selector == "embedding" and not embedding_model:
        raise selection.error("embedding_model", "is required when selector is 'embedding'")
    top_k = selection.integer("top_k_experts", 2, minimum=1)
    threshold = selection.number("confidence_threshold", 0.2, minimum=0.0, maximum=1.0)
    gap = selection.number("relevance_gap", 0.3, minimum=0.0, maximum=1.0)
    selection.finish()

    fast = top.section("fast_path")
    fast_enabled = fast.boolean("enabled", True)
    fast_agent = fast.string("agent", "chitchat")
    fast_words = fast.integer("max_words", 4, minimum=1)
    phrases = fast.strings("phrases", ["hi", "hello", "thanks"], non_empty=True)
    fast.finish()

    experts_section = top.section("experts", required=True)
    groups: list[ExpertGroup] = []
    for name in experts_section.mapping_keys():
        group = Section(file, f"experts.{name}", experts_section.raw[name])
        groups.append(
            ExpertGroup(
                name=name,
                agents=tuple(group.strings("agents", required=True, non_empty=True)),
                capabilities=tuple(group.strings("capabilities", required=True, non_empty=True)),
                examples=tuple(group.strings("examples", [])),
                weight=group.number("weight", 1.0, positive=True),
            )
        )
        group.finish()
    if not groups:
        raise experts_section.error("", "must define at least one expert group")

    execution = top.section("execution")
    expert_timeout = execution.number("expert_timeout", 20.0, positive=True)
    overall_timeout = execution.number("overall_timeout", 40.0, positive=True)
    if overall_timeout < expert_timeout:
        raise execution.error(
            "overall_timeout", f"must be at least expert_timeout ({expert_timeout:g}), got {overall_timeout:g}"
        )
    fallback_agent = execution.string("fallback_agent", "chitchat")
    fallback_message = execution.string(
        "fallback_message", "Sorry, I could not answer that right now. Please try again."
    )
    execution.finish()

    synthesis = top.section("synthesis")
    synthesis_model = synthesis.string("model", "gpt-4.1-mini")
    recent_items = synthesis.integer("recent_items", 6, minimum=0)
    synthesis.finish()

    memory = read_memory(top, "moe")
    top.finish()

    config = MoEConfig(
        file, display_name, description, selector, embedding_model, top_k, threshold, gap, fast_enabled, fast_agent,
        fast_words, tuple(phrases), tuple(groups), expert_timeout, overall_timeout, fallback_agent, fallback_message,
        synthesis_model, recent_items, memory,
    )
    if factory is not None:
        check_agents(file, factory, [("fast_path.agent", fast_agent), ("execution.fallback_agent", fallback_agent)]
                     + [(f"experts.{g.name}.agents", a) for g in groups for a in g.agents])
    return config


def check_agents(file: Path, factory: AgentFactory, named: list[tuple[str, str]]) -> None:
    """Every agent an orchestrator names must be an enabled agent of the factory."""
    known = factory.agent_names()
    for where, agent in named:
        if agent not in known:
            raise ConfigError(
                f"{file}: {where}: unknown or disabled agent {agent!r} (enabled agents: {', '.join(known)})"
            )
