"""SmartRouter: interpretation in context, decomposition, dependency order, retries, judge, LLM planning."""

from __future__ import annotations

import pytest
from agents.testing import ScriptedModel, assistant_message

from asdrp.agents.agent_factory import AgentFactory
from asdrp.orchestration.smartrouter import SmartRouter, load_smartrouter_config, split_query
from asdrp.orchestration.smartrouter.judge import Judge, Verdict
from asdrp.orchestration.smartrouter.planner import LLMPlanner, PlannedSubQuery, PlanOutput, RulePlanner
from tests.orchestration import fake_agents
from tests.orchestration.conftest import SMARTROUTER_YAML, build, write_yaml


def subqueries_of(result) -> list[dict]:
    return [e for e in result.trace if e["type"] == "subquery"]


def plan_of(result) -> dict:
    return next(e for e in result.trace if e["type"] == "plan")


@pytest.fixture
async def router(factory: AgentFactory) -> SmartRouter:
    return await SmartRouter.create(factory, SMARTROUTER_YAML)


def test_split_on_question_marks_and_conjunctions_that_open_a_new_question() -> None:
    assert split_query("Where is Kyoto and what time is it there?") == ["Where is Kyoto", "what time is it there?"]
    assert split_query("Where is Lima? How far is it from Quito?") == ["Where is Lima?", "How far is it from Quito?"]
    assert split_query("What is a loan at 5% and 30 years?") == ["What is a loan at 5% and 30 years?"]


async def test_simple_query_goes_straight_to_the_best_specialist(router: SmartRouter) -> None:
    result = await router.route_query("What is a 200000 loan at 5% over 30 years per month?")
    assert plan_of(result)["complexity"] == "simple"
    assert [s["agent"] for s in subqueries_of(result)] == ["finance"] and "1,073.64" in result.answer


async def test_follow_up_inherits_the_previous_turns_domain(router: SmartRouter) -> None:
    sid = (await router.route_query("What time is it in Tokyo?")).session_id
    result = await router.route_query("What about Paris?", sid)
    assert plan_of(result)["domains"] == ["time"] and "Europe/Paris" in result.answer


async def test_compound_query_is_decomposed_and_dependent_part_gets_the_earlier_answer(router: SmartRouter) -> None:
    result = await router.route_query("Where is Kyoto and what time is it there?")
    plan = plan_of(result)
    assert plan["complexity"] == "complex" and plan["domains"] == ["geography", "time"]
    parts = subqueries_of(result)
    assert parts[1]["depends_on"] == [0]
    assert "Asia/Tokyo" in parts[1]["answer"] and "Kyoto" in parts[1]["answer"]
    assert "**GeoAgent:**" in result.answer and "**ClockAgent:**" in result.answer


async def test_dependency_order_is_respected(test_factory: AgentFactory, tmp_path) -> None:
    def slow_geo(data):
        data["capabilities"]["geography"]["agent"] = "delayed_geo"

    router = await build("smartrouter", test_factory, write_yaml(tmp_path / "sr.yaml", SMARTROUTER_YAML, slow_geo))
    fake_agents.CALLS.clear()
    result = await router.route_query("Where is Kyoto and what time is it there?")
    parts = subqueries_of(result)
    assert [p["agent"] for p in parts] == ["delayed_geo", "clock"]
    # the clock ran after the (slow) geo part and was given its answer
    assert "Kyoto" in parts[1]["answer"] and "Asia/Tokyo" in parts[1]["answer"]
    assert [name for name, _ in fake_agents.CALLS][:1] == ["delayed_geo"]


async def test_independent_parts_run_concurrently_without_waiting(test_factory: AgentFactory, tmp_path) -> None:
    def slow_geo(data):
        data["capabilities"]["geography"]["agent"] = "delayed_geo"

    router = await build("smartrouter", test_factory, write_yaml(tmp_path / "sr.yaml", SMARTROUTER_YAML, slow_geo))
    result = await router.route_query("Where is Kyoto? What time is it in Lima?")
    parts = subqueries_of(result)
    assert [p["depends_on"] for p in parts] == [[], []]
    assert "Lima" in parts[1]["answer"]


async def test_max_subqueries_is_enforced(factory: AgentFactory, tmp_path) -> None:
    def two(data):
        data["interpretation"]["max_subqueries"] = 2

    router = await build("smartrouter", factory, write_yaml(tmp_path / "sr.yaml", SMARTROUTER_YAML, two))
    result = await router.route_query("Where is Kyoto? What time is it in Lima? What is 2 + 2?")
    assert len(subqueries_of(result)) == 2
    assert any("max_subqueries" in note for note in plan_of(result)["notes"])


async def test_failed_subquery_is_retried_then_judged(test_factory: AgentFactory, tmp_path) -> None:
    def broken_geo(data):
        data["capabilities"]["geography"]["agent"] = "broken"
        data["execution"]["retries"] = 2
        data["judge"]["threshold"] = 0.75
        data["judge"]["fallback_message"] = "Not reliable enough."

    router = await build("smartrouter", test_factory, write_yaml(tmp_path / "sr.yaml", SMARTROUTER_YAML, broken_geo))
    result = await router.route_query("Where is Kyoto? What time is it in Lima?")
    parts = subqueries_of(result)
    assert parts[0]["status"] == "error" and parts[0]["attempts"] == 3
    judge = next(e for e in result.trace if e["type"] == "judge")
    assert judge["score"] == 0.5 and judge["passed"] is False
    assert result.answer == "Not reliable enough."


async def test_subquery_timeout_is_enforced(test_factory: AgentFactory, tmp_path) -> None:
    def slow_time(data):
        data["capabilities"]["time"]["agent"] = "slow"
        data["execution"].update(subquery_timeout=0.3, overall_timeout=1.0, retries=0)

    router = await build("smartrouter", test_factory, write_yaml(tmp_path / "sr.yaml", SMARTROUTER_YAML, slow_time))
    result = await router.route_query("Where is Kyoto? What time is it in Lima?")
    statuses = [p["status"] for p in subqueries_of(result)]
    assert statuses == ["ok", "timeout"] and "Kyoto" in result.answer  # 1/2 >= the default 0.5 threshold


async def test_llm_planner_structured_output_is_used_and_validated(factory: AgentFactory) -> None:
    config = load_smartrouter_config(SMARTROUTER_YAML, factory)
    rules = RulePlanner(config.capabilities, config.default_capability, 2)
    output = PlanOutput(complexity="complex", subqueries=[
        PlannedSubQuery(text="Where is Kyoto?", capability="geography"),
        PlannedSubQuery(text="What time is it in Kyoto?", capability="time", depends_on=[0, 5]),
        PlannedSubQuery(text="Tell a joke", capability="comedy"),
    ])
    model = ScriptedModel([[assistant_message(output.model_dump_json())]])
    plan = await LLMPlanner(model, config.capabilities, rules).plan("Kyoto: where and what time?", [], [])
    assert plan.method == "llm" and len(plan.subqueries) == 2  # max_subqueries=2 merged the third part
    assert plan.subqueries[1].depends_on == (0,) and plan.subqueries[0].capability == "geography"
    assert model.first_call.output_schema is not None


async def test_llm_planner_failure_falls_back_to_the_rules(factory: AgentFactory) -> None:
    config = load_smartrouter_config(SMARTROUTER_YAML, factory)
    rules = RulePlanner(config.capabilities, config.default_capability, 3)
    plan = await LLMPlanner(ScriptedModel([RuntimeError("down")]), config.capabilities, rules).plan(
        "Where is Kyoto?", []
    )
    assert plan.method == "rules" and any("LLM planning failed" in n for n in plan.notes)


async def test_llm_judge_scores_with_structured_output() -> None:
    verdict = Verdict(score=0.2, reason="It does not answer the question.")
    judge = Judge(ScriptedModel([[assistant_message(verdict.model_dump_json())]]))
    assert await judge.score("Where is Kyoto?", "I like tea.", 1, 1) == (0.2, "It does not answer the question.")
    assert await Judge(None).score("q", "a", 1, 2) == (0.5, "1 of 2 sub-queries answered")
