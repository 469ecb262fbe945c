"""The mixture-of-experts orchestrator: select experts from the conversation, run them, mix.

Selection looks at the conversation, not only the latest message: a follow-up with no domain
words of its own goes to the experts of the previous turn, and the greeting fast path is skipped
when the message answers the assistant's question. Selected experts run concurrently under their
own and an overall timeout; survivors are mixed; failures fall back to an agent, then a message.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from asdrp.agents.agent_factory import AgentFactory
from asdrp.agents.config_loader import ConfigError
from asdrp.models import model_label
from asdrp.orchestration.conversation import ConversationOrchestrator
from asdrp.orchestration.experts import SpecialistOutcome
from asdrp.orchestration.memory import (
    ConversationMemory,
    ConversationState,
    TurnRecord,
    assistant_message,
    user_message,
)
from asdrp.orchestration.moe.config import MoEConfig, load_moe_config
from asdrp.orchestration.moe.selector import (
    DomainVocabulary,
    EmbeddingSelector,
    Encoder,
    ExpertSelector,
    LexicalSelector,
    load_local_encoder,
    rank_experts,
)
from asdrp.orchestration.synthesis import Synthesizer, synthesis_model
from asdrp.orchestration.text import (
    asks_or_offers,
    continues_previous,
    is_bare_reply,
    is_small_talk,
    points_back,
    refers_to_earlier_part,
    split_query,
)


def build_selector(config: MoEConfig, vocabulary: DomainVocabulary, encoder: Encoder | None = None) -> ExpertSelector:
    """The configured selector: embeddings when asked for (or `auto` and installed), else lexical."""
    if config.selector != "lexical":
        if encoder is None and config.embedding_model:
            encoder = load_local_encoder(config.embedding_model)
        if encoder is not None:
            return EmbeddingSelector(config.experts, encoder)
        if config.selector == "embedding":
            raise ConfigError(
                f"{config.path}: selection.selector: 'embedding' needs the local model "
                f"{config.embedding_model!r} (pip install sentence-transformers and cache the model; "
                "nothing is downloaded at run time), or use 'auto'/'lexical'"
            )
    return LexicalSelector(vocabulary)


class MoEOrchestrator(ConversationOrchestrator):
    """Routes each turn to the best expert group(s) and mixes their answers."""

    agent_id = "moe"

    def __init__(
        self, factory: AgentFactory, config: MoEConfig, *, wait_when_busy: bool | None = None,
        encoder: Encoder | None = None,
    ) -> None:
        specialists = sorted(
            {a for g in config.experts for a in g.agents} | {config.fallback_agent, config.fast_path_agent}
        )
        memory = ConversationMemory.open(factory, self.agent_id, config.memory, specialists)
        synth = synthesis_model(config.synthesis_model)
        super().__init__(
            factory, memory,
            wait_when_busy=config.memory.wait_when_busy if wait_when_busy is None else wait_when_busy,
            model=model_label(synth) if synth is not None else "offline",
        )
        self.config = config
        self.display_name = config.display_name
        self.description = config.description
        self.groups = {g.name: g for g in config.experts}
        self.vocabulary = DomainVocabulary(config.experts)
        self.selector = build_selector(config, self.vocabulary, encoder)
        self.synthesizer = Synthesizer(synth, config.synthesis_recent_items)

    @classmethod
    async def create(
        cls, factory: AgentFactory | None = None, config_path: str | Path | None = None, *,
        wait_when_busy: bool | None = None,
    ) -> MoEOrchestrator:
        """A MoE orchestrator on `factory` (default: the process-wide one) and moe.yaml."""
        factory = factory if factory is not None else AgentFactory.instance()
        return cls(factory, load_moe_config(config_path, factory), wait_when_busy=wait_when_busy)

    # --- selection --------------------------------------------------------------------------

    def _previous(self, state: ConversationState) -> list[tuple[str, str, float]]:
        """(group, agent, score) of the experts that answered the previous turn."""
        route = state.previous_route
        groups = [g for g in route.get("groups", []) if g in self.groups]
        if groups:
            return [(g, a, 1.0) for g in groups for a in self.groups[g].agents]
        known = set(self.factory.agent_names())
        return [("", a, 1.0) for a in route.get("agents", []) if a in known]

    async def select(self, query: str, state: ConversationState) -> tuple[list[tuple[str, str, float]], dict[str, Any]]:
        """The experts for this turn as (group, agent, score), and the selection trace entry."""
        cfg = self.config
        previous = self._previous(state)
        needs_context = bool(previous) and (
            continues_previous(query) or points_back(query)
            or (is_bare_reply(query) and asks_or_offers(state.last_answer))
        )
        domain = self.vocabulary.domain_words(query)
        scores = await self.selector.scores(query)
        info: dict[str, Any] = {"type": "selection", "method": self.selector.method, "scores": scores,
                                "domain_words": domain}
        if (
            cfg.fast_path_enabled
            and not needs_context
            and is_small_talk(query, cfg.fast_path_phrases, cfg.fast_path_max_words)
        ):
            info["reason"] = "fast path: greeting or acknowledgement"
            return [("", cfg.fast_path_agent, 1.0)], info
        if previous and (not domain or (is_bare_reply(query) and needs_context)):
            info["reason"] = "follow-up without a domain of its own: the previous turn's experts"
            return previous, info
        chosen = rank_experts(
            scores, top_k=cfg.top_k_experts, threshold=cfg.confidence_threshold, gap=cfg.relevance_gap
        )
        if chosen:
            info["reason"] = "best scoring experts"
            seen: set[str] = set()
            picked = []
            for group, score in chosen:
                for agent in self.groups[group].agents:
                    if agent not in seen:
                        seen.add(agent)
                        picked.append((group, agent, score))
            return picked, info
        if previous:
            info["reason"] = "no confident expert: the previous turn's experts"
            return previous, info
        info["reason"] = "no confident expert: the fallback agent"
        return [("", cfg.fallback_agent, 0.0)], info

    # --- one turn ---------------------------------------------------------------------------

    async def _run_experts(
        self, query: str, state: ConversationState, experts: list[tuple[str, str, float]],
        extra: list[dict[str, Any]] | None = None, stream: bool = False,
    ) -> list[SpecialistOutcome]:
        """Run experts concurrently; keep those that finished when others time out.

        `stream`: the one expert's answer is the turn's answer, so a streamed turn shows its tokens
        as they come (several experts are mixed, so nothing of theirs can be shown before the mix).
        """
        cfg = self.config
        tasks = [
            asyncio.ensure_future(self._consult(agent, state, query, timeout=cfg.expert_timeout, extra=extra,
                                                stream=stream and len(experts) == 1))
            for _, agent, _ in experts
        ]
        started = time.perf_counter()
        done, pending = await asyncio.wait(tasks, timeout=cfg.overall_timeout)
        for task in pending:
            task.cancel()
        outcomes = []
        for (_, agent, _), task in zip(experts, tasks):
            if task in done:
                outcomes.append(task.result())
            else:
                outcomes.append(SpecialistOutcome(
                    agent, "timeout", error=f"{agent} was stopped by the overall timeout ({cfg.overall_timeout:g}s)",
                    elapsed=time.perf_counter() - started))
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        return outcomes

    async def _parts(self, query: str, state: ConversationState) -> list[tuple[str, list[tuple[str, str, float]]]]:
        """The parts of a compound question with the experts of each, or [] when it is one question.

        "How far is Paris from London and what time is it in Tokyo?" is two questions for two
        experts: each part goes to the best group for it alone, so no part is answered twice and
        none is lost. Two parts for the same expert ("Where is Kyoto, and how far is it from
        Tokyo?") are asked one by one too, so the expert answers both.
        """
        pieces = split_query(query)
        if len(pieces) < 2:
            return []
        parts = []
        for piece in pieces:
            experts, _ = await self.select(piece, state)
            best_group = experts[0][0]
            parts.append((piece, [e for e in experts if e[0] == best_group]))
        return parts

    async def _run_parts(
        self, parts: list[tuple[str, list[tuple[str, str, float]]]], state: ConversationState
    ) -> list[list[SpecialistOutcome]]:
        """Each part's experts, concurrently; a part that points back ("what time is it there?")
        waits for the parts before it and is given their questions and (if any) answers."""
        tasks: list[asyncio.Future[list[SpecialistOutcome]]] = []

        async def run(index: int) -> list[SpecialistOutcome]:
            text, experts = parts[index]
            extra: list[dict[str, Any]] = []
            if index and refers_to_earlier_part(text):
                # Every earlier part, in order: "it" in the third part may name what the first one asked
                # about, and an earlier question names it even when its expert failed.
                for earlier_index in range(index):
                    earlier = await asyncio.shield(tasks[earlier_index])
                    answer = next((o.answer for o in earlier if o.ok), "")
                    extra.append(user_message(parts[earlier_index][0]))
                    if answer:
                        extra.append(assistant_message(answer))
            return await self._run_experts(text, state, experts, extra)

        for index in range(len(parts)):
            tasks.append(asyncio.ensure_future(run(index)))
        try:
            return list(await asyncio.gather(*tasks))
        finally:
            for task in tasks:
                task.cancel()

    def _worth_saying(self, outcomes: list[SpecialistOutcome]) -> list[SpecialistOutcome]:
        """The answers that add something, best expert first.

        An expert that used a tool answered from data; when one did, the experts that used none
        (canned help, "I can't do that") stay silent. Offline, where such answers are the model's
        fixed replies, only the best-ranked of them is kept. The same answer is never given twice.
        """
        good = [o for o in outcomes if o.ok]
        grounded = [o for o in good if o.tool_items]
        if grounded:
            good = grounded
        elif good and self.synthesizer.model is None:
            good = good[:1]
        unique: list[SpecialistOutcome] = []
        seen: set[str] = set()
        for outcome in good:
            key = " ".join(outcome.answer.lower().split())
            if key not in seen:
                seen.add(key)
                unique.append(outcome)
        return unique

    async def _answer(self, query: str, state: ConversationState) -> TurnRecord:
        cfg = self.config
        experts, selection = await self.select(query, state)
        parts = await self._parts(query, state)
        trace: list[dict[str, Any]] = [selection]
        if parts:
            selection["reason"] = f"{len(parts)}-part question: each part to its own experts"
            selection["parts"] = [{"text": text, "agents": [a for _, a, _ in chosen]} for text, chosen in parts]
            per_part = await self._run_parts(parts, state)
            asked = [(text, chosen, outcomes) for (text, chosen), outcomes in zip(parts, per_part)]
        else:
            asked = [(query, experts, await self._run_experts(query, state, experts, stream=True))]
        said: list[tuple[str, SpecialistOutcome]] = []
        tool_items: dict[str, list[dict[str, Any]]] = {}
        groups: set[str] = set()
        seen: set[str] = set()
        for index, (_text, chosen, outcomes) in enumerate(asked):
            trace += [o.trace(type="expert", expert=g or None, score=sc, **({"part": index} if parts else {}))
                      for (g, _, sc), o in zip(chosen, outcomes)]
            group_of = {o.agent: g for (g, _, _), o in zip(chosen, outcomes)}
            for outcome in self._worth_saying(outcomes):
                tool_items.setdefault(outcome.agent, []).extend(outcome.tool_items)
                if group_of.get(outcome.agent):
                    groups.add(group_of[outcome.agent])
                key = " ".join(outcome.answer.lower().split())
                if key not in seen:
                    seen.add(key)
                    said.append((outcome.agent, outcome))
        route = {"groups": sorted(groups), "agents": list(dict.fromkeys(a for a, _ in said))}
        tool_items = {a: items for a, items in tool_items.items() if items}
        by_agent: dict[str, list[str]] = {}
        for agent, outcome in said:  # one expert answering two parts speaks once, both answers in order
            by_agent.setdefault(agent, []).append(outcome.answer)
        if len(by_agent) == 1:
            [(agent, answers)] = by_agent.items()
            answer, answered_by = " ".join(answers), agent
            trace.append({"type": "mix", "method": "single expert"})
        elif by_agent:
            answer, method = await self.synthesizer.combine(
                query, [(self._label(agent), " ".join(answers)) for agent, answers in by_agent.items()],
                state.recent(cfg.synthesis_recent_items))
            answered_by = "+".join(by_agent)
            trace.append({"type": "mix", "method": method})
        else:
            fallback = await self._consult(cfg.fallback_agent, state, query, timeout=cfg.expert_timeout, stream=True)
            trace.append(fallback.trace(type="fallback"))
            if fallback.ok:
                answer, answered_by = fallback.answer, fallback.agent
                route = {"groups": [], "agents": [fallback.agent]}
                if fallback.tool_items:
                    tool_items[fallback.agent] = fallback.tool_items
            else:
                answer, answered_by = cfg.fallback_message, self.agent_id
                route = dict(state.previous_route, answer_id=None)  # keep following the earlier experts
                trace.append({"type": "fallback_message"})
        return TurnRecord(query=query, answer=answer, answered_by=answered_by, route=route, trace=trace,
                          tool_items=tool_items)
