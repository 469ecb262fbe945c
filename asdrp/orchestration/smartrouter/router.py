"""SmartRouter: interpret the turn in its conversation, decompose, route by capability, synthesize, judge.

Simple turns go straight to the best specialist; compound ones become sub-queries dispatched
concurrently in dependency order (a sub-query waits for, and is given, the answers it depends on),
each with its own timeout and retries, all under an overall timeout.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from asdrp.agents.agent_factory import AgentFactory
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
from asdrp.orchestration.smartrouter.config import SmartRouterConfig, load_smartrouter_config
from asdrp.orchestration.smartrouter.judge import Judge
from asdrp.orchestration.smartrouter.planner import LLMPlanner, Plan, RulePlanner, SubQuery
from asdrp.orchestration.synthesis import Synthesizer, synthesis_model


class SmartRouter(ConversationOrchestrator):
    """Routes each turn by capability, decomposing compound questions."""

    agent_id = "smartrouter"

    def __init__(self, factory: AgentFactory, config: SmartRouterConfig, *, wait_when_busy: bool | None = None) -> None:
        self.capabilities = {c.name: c for c in config.capabilities}
        memory = ConversationMemory.open(
            factory, self.agent_id, config.memory, sorted({c.agent for c in config.capabilities})
        )
        synth = synthesis_model(config.synthesis_model)
        super().__init__(
            factory, memory,
            wait_when_busy=config.memory.wait_when_busy if wait_when_busy is None else wait_when_busy,
            model=model_label(synth) if synth is not None else "offline",
        )
        self.config = config
        self.display_name = config.display_name
        self.description = config.description
        rules = RulePlanner(config.capabilities, config.default_capability, config.max_subqueries)
        # `llm` without a real model (offline provider) degrades to the rules: the trace says "rules".
        planner_model = synthesis_model(config.planner_model) if config.interpretation_method != "rules" else None
        self.planner: RulePlanner | LLMPlanner = (
            LLMPlanner(planner_model, config.capabilities, rules) if planner_model is not None else rules
        )
        judge_model = synthesis_model(config.synthesis_model) if config.judge_method != "rules" else None
        self.judge = Judge(judge_model)
        self.synthesizer = Synthesizer(synth, config.synthesis_recent_items)

    @classmethod
    async def create(
        cls, factory: AgentFactory | None = None, config_path: str | Path | None = None, *,
        wait_when_busy: bool | None = None,
    ) -> SmartRouter:
        """A SmartRouter on `factory` (default: the process-wide one) and smartrouter.yaml."""
        factory = factory if factory is not None else AgentFactory.instance()
        return cls(factory, load_smartrouter_config(config_path, factory), wait_when_busy=wait_when_busy)

    async def plan(self, query: str, state: ConversationState) -> Plan:
        """The interpretation of this turn (a follow-up inherits the previous turn's capabilities)."""
        previous = [c for c in state.previous_route.get("capabilities", []) if c in self.capabilities]
        return await self.planner.plan(query, previous, state.recent(self.config.synthesis_recent_items))

    async def _dispatch(self, plan: Plan, state: ConversationState) -> list[SpecialistOutcome]:
        """Run the sub-queries concurrently in dependency order under the overall timeout."""
        cfg = self.config
        tasks: dict[int, asyncio.Future[SpecialistOutcome]] = {}
        started = time.perf_counter()

        async def run(sub: SubQuery) -> SpecialistOutcome:
            extra: list[dict[str, Any]] = []
            for dep in sub.depends_on:
                other = await asyncio.shield(tasks[dep])
                if other.ok:
                    extra += [user_message(plan.subqueries[dep].text), assistant_message(other.answer)]
            agent = self.capabilities[sub.capability].agent
            # one sub-query: its answer is the turn's answer, so a streamed turn shows its tokens as they come
            return await self._consult(agent, state, sub.text, timeout=cfg.subquery_timeout, retries=cfg.retries,
                                       extra=extra, stream=len(plan.subqueries) == 1)

        for sub in plan.subqueries:  # dependencies point backwards, so they exist before their dependents
            tasks[sub.index] = asyncio.ensure_future(run(sub))
        done, pending = await asyncio.wait(list(tasks.values()), timeout=cfg.overall_timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        outcomes = []
        for sub in plan.subqueries:
            task = tasks[sub.index]
            if task in done:
                outcomes.append(task.result())
            else:
                agent = self.capabilities[sub.capability].agent
                outcomes.append(SpecialistOutcome(agent, "timeout", elapsed=time.perf_counter() - started,
                                                  error=f"{agent} was stopped by the overall timeout "
                                                        f"({cfg.overall_timeout:g}s)"))
        return outcomes

    async def _answer(self, query: str, state: ConversationState) -> TurnRecord:
        cfg = self.config
        plan = await self.plan(query, state)
        outcomes = await self._dispatch(plan, state)
        trace: list[dict[str, Any]] = [plan.trace()]
        trace += [o.trace(type="subquery", index=s.index, text=s.text, capability=s.capability,
                          depends_on=list(s.depends_on)) for s, o in zip(plan.subqueries, outcomes)]
        good = [(s, o) for s, o in zip(plan.subqueries, outcomes) if o.ok]
        tool_items: dict[str, list[dict[str, Any]]] = {}
        for _, o in good:
            tool_items.setdefault(o.agent, []).extend(o.tool_items)
        if len(good) == 1:
            answer, answered_by = good[0][1].answer, good[0][1].agent
        elif good:
            answer, method = await self.synthesizer.combine(
                query, [(self._label(o.agent), o.answer) for _, o in good], state.recent(cfg.synthesis_recent_items))
            answered_by = "+".join(dict.fromkeys(o.agent for _, o in good))
            trace.append({"type": "synthesis", "method": method})
        else:
            answer, answered_by = cfg.fallback_message, self.agent_id
        if good and cfg.judge_enabled:
            score, reason = await self.judge.score(query, answer, len(good), len(outcomes))
            passed = score >= cfg.judge_threshold
            trace.append({"type": "judge", "method": self.judge.method, "score": round(score, 4),
                          "threshold": cfg.judge_threshold, "passed": passed, "reason": reason})
            if not passed:
                answer, answered_by = cfg.fallback_message, self.agent_id
        if answered_by == self.agent_id:
            trace.append({"type": "fallback_message"})
        route = {"capabilities": list(dict.fromkeys(s.capability for s, _ in good)) or
                 state.previous_route.get("capabilities", []),
                 "agents": list(dict.fromkeys(o.agent for _, o in good))}
        return TurnRecord(query=query, answer=answer, answered_by=answered_by, route=route, trace=trace,
                          tool_items={a: items for a, items in tool_items.items() if items})
