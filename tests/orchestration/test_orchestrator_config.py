"""moe.yaml / smartrouter.yaml: the shipped files load, and every mistake names the file and the key."""

from __future__ import annotations

import pytest

from asdrp.agents.agent_factory import AgentFactory
from asdrp.agents.config_loader import ConfigError
from asdrp.orchestration.moe import load_moe_config
from asdrp.orchestration.smartrouter import load_smartrouter_config
from tests.orchestration.conftest import MOE_YAML, SMARTROUTER_YAML, build, write_yaml


def test_shipped_configs_load_with_their_documented_values(factory: AgentFactory) -> None:
    moe = load_moe_config(MOE_YAML, factory)
    assert moe.top_k_experts == 2 and moe.confidence_threshold == 0.2 and moe.relevance_gap == 0.3
    assert {g.name for g in moe.experts} >= {"location", "time", "finance", "math", "conversation"}
    router = load_smartrouter_config(SMARTROUTER_YAML, factory)
    assert router.max_subqueries == 3 and router.judge_enabled and router.retries == 1


MOE_MISTAKES = [
    (lambda d: d["selection"].update(top_k_experts=0), "selection.top_k_experts"),
    (lambda d: d["selection"].update(confidence_threshold="high"), "selection.confidence_threshold"),
    (lambda d: d["selection"].update(relevance_gap=2), "selection.relevance_gap"),
    (lambda d: d["selection"].update(top_k=2), "selection.top_k"),
    (lambda d: d["experts"]["time"].update(agents=["nosuchagent"]), "experts.time.agents"),
    (lambda d: d["experts"]["time"].pop("capabilities"), "experts.time.capabilities"),
    (lambda d: d["execution"].update(overall_timeout=1, expert_timeout=5), "execution.overall_timeout"),
    (lambda d: d["memory"].update(context_items=0), "memory.context_items"),
    (lambda d: d["memory"].update(type="postgres"), "memory.url"),
    (lambda d: d.update(cache={"enabled": True}), "cache"),
]


@pytest.mark.parametrize("change,key", MOE_MISTAKES, ids=[k for _, k in MOE_MISTAKES])
def test_moe_config_errors_name_file_and_key(factory: AgentFactory, tmp_path, change, key) -> None:
    path = write_yaml(tmp_path / "bad_moe.yaml", MOE_YAML, change)
    with pytest.raises(ConfigError) as caught:
        load_moe_config(path, factory)
    assert "bad_moe.yaml" in str(caught.value) and key in str(caught.value)


SR_MISTAKES = [
    (lambda d: d["interpretation"].update(max_subqueries=0), "interpretation.max_subqueries"),
    (lambda d: d["interpretation"].update(method="magic"), "interpretation.method"),
    (lambda d: d["interpretation"].update(default_capability="astrology"), "interpretation.default_capability"),
    (lambda d: d["capabilities"]["time"].update(agent="nosuchagent"), "capabilities.time.agent"),
    (lambda d: d["execution"].update(retries=-1), "execution.retries"),
    (lambda d: d["judge"].update(threshold=1.5), "judge.threshold"),
    (lambda d: d["judge"].update(enabled="yes"), "judge.enabled"),
    (lambda d: d["memory"].update(tools_database_path=d["memory"]["database_path"]), "memory.tools_database_path"),
]


@pytest.mark.parametrize("change,key", SR_MISTAKES, ids=[k for _, k in SR_MISTAKES])
def test_smartrouter_config_errors_name_file_and_key(factory: AgentFactory, tmp_path, change, key) -> None:
    path = write_yaml(tmp_path / "bad_sr.yaml", SMARTROUTER_YAML, change)
    with pytest.raises(ConfigError) as caught:
        load_smartrouter_config(path, factory)
    assert "bad_sr.yaml" in str(caught.value) and key in str(caught.value)


def test_malformed_yaml_is_a_config_error(tmp_path) -> None:
    path = tmp_path / "moe.yaml"
    path.write_text("selection: [unclosed")
    with pytest.raises(ConfigError, match="moe.yaml: malformed YAML"):
        load_moe_config(path)


@pytest.mark.parametrize("kind", ["moe", "smartrouter"])
async def test_memory_type_none_still_keeps_a_file_transcript(kind: str, factory: AgentFactory, home, tmp_path) -> None:
    base = MOE_YAML if kind == "moe" else SMARTROUTER_YAML
    path = write_yaml(
        tmp_path / f"{kind}.yaml", base, lambda d: d["memory"].update(type="none", database_path="data/x/t.db")
    )
    orchestrator = await build(kind, factory, path)
    sid = (await orchestrator.route_query("Where is Kyoto?")).session_id
    assert (home / "data" / "x" / "t.db").exists()
    assert "Kyoto" in (await orchestrator.route_query("What time is it there?", sid)).answer


async def test_context_items_bounds_what_specialists_see(factory: AgentFactory, tmp_path) -> None:
    path = write_yaml(tmp_path / "moe.yaml", MOE_YAML, lambda d: d["memory"].update(context_items=2, recall_items=0))
    moe = await build("moe", factory, path)
    sid = (await moe.route_query("My name is Zorblax")).session_id
    await moe.route_query("Where is Paris?", sid)
    assert "Zorblax" not in (await moe.route_query("What is my name?", sid)).answer


async def test_recall_reaches_beyond_a_small_window_and_recall_items_zero_turns_it_off(
    factory: AgentFactory, tmp_path
) -> None:
    for recall_items, remembered in ((6, True), (0, False)):
        path = write_yaml(
            tmp_path / f"moe{recall_items}.yaml", MOE_YAML,
            lambda d, n=recall_items: d["memory"].update(context_items=2, recall_items=n),
        )
        moe = await build("moe", factory, path)
        sid = (await moe.route_query("My name is Zorblax")).session_id
        for place in ("Paris", "Lisbon", "Kyoto"):
            await moe.route_query(f"Where is {place}?", sid)
        assert ("Zorblax" in (await moe.route_query("What is my name?", sid)).answer) is remembered


async def test_bad_recall_keys_are_refused_naming_the_key(tmp_path) -> None:
    for bad in ({"recall_items": -1}, {"recall_tokens": 0}, {"recall_items": "many"}):
        path = write_yaml(tmp_path / "bad.yaml", MOE_YAML, lambda d, b=bad: d["memory"].update(b))
        with pytest.raises(ConfigError, match=next(iter(bad))):
            load_moe_config(path, None)
