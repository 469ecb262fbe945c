"""Benchmark: median latency of one MoE and one SmartRouter turn at 1, 100 and 1,000 turns of history.

Also reports how much of a two-expert MoE turn is spent outside the experts' own runs (selection,
context building, mixing, memory writes). Offline model, file SQLite under a temporary
ASDRP_HOME. Run: `.venv/bin/python bench/orchestrators.py [--samples N]`. Never part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LENGTHS = (1, 100, 1000)
QUERY = "What time is it in Lima?"
TWO_EXPERTS = "Where is Kyoto and what time is it there?"
FILLER = [
    ("Where is Kyoto?", "Kyoto is a city in Japan at 35.02°N, 135.75°E with population 1,463,723.", "geo"),
    ("What is a 200000 loan at 5% over 30 years per month?",
     "A 200,000 loan at 5% over 30 years costs 1,073.64 per month.", "finance"),
    ("My favourite colour is teal", "Noted: your favourite colour is teal.", "chitchat"),
    ("What time is it in Oslo?", "It is 09:30 in Oslo, Norway (Europe/Oslo, UTC+01:00).", "clock"),
]


async def prefill(orchestrator, key, turns: int) -> None:
    """Write `turns` realistic turns (with tool memory) straight into the orchestrator's memory."""
    from asdrp.orchestration.memory import TurnRecord

    for n in range(turns):
        query, answer, agent = FILLER[n % len(FILLER)]
        tools = {agent: [
            {"type": "function_call", "call_id": f"call_{n}", "name": "lookup", "arguments": '{"q": "x"}'},
            {"type": "function_call_output", "call_id": f"call_{n}", "output": answer},
        ]}
        await orchestrator.memory.record_turn(key, TurnRecord(query, answer, agent, {"agents": [agent]}, [], tools))


async def measure(orchestrator, sid: str, query: str, samples: int) -> tuple[float, float]:
    """(median turn ms, median ms outside the experts' runs)."""
    totals, outside = [], []
    for _ in range(samples):
        started = time.perf_counter()
        result = await orchestrator.route_query(query, sid)
        total = (time.perf_counter() - started) * 1000
        experts = [e["elapsed_ms"] for e in result.trace if e.get("type") in ("expert", "subquery")]
        totals.append(total)
        outside.append(total - max(experts, default=0.0))
    return statistics.median(totals), statistics.median(outside)


async def main(samples: int) -> None:
    home = tempfile.mkdtemp(prefix="asdrp-bench-")
    os.environ["ASDRP_HOME"] = home
    os.environ["ASDRP_MODEL_PROVIDER"] = "offline"
    os.environ.pop("ASDRP_SESSION_URL", None)
    sys.path.insert(0, str(REPO))
    from asdrp.agents.agent_factory import AgentFactory
    from asdrp.memory import ConversationKey
    from asdrp.orchestration.moe import MoEOrchestrator
    from asdrp.orchestration.smartrouter import SmartRouter

    factory = AgentFactory(config_path=REPO / "config" / "open_agents.yaml")
    orchestrators = {"MoE": await MoEOrchestrator.create(factory, REPO / "config" / "moe.yaml"),
                     "SmartRouter": await SmartRouter.create(factory, REPO / "config" / "smartrouter.yaml")}
    for orchestrator in orchestrators.values():  # warm up: imports, gazetteer, time-zone data
        await orchestrator.route_query(TWO_EXPERTS, "warmup")

    rows = []
    for name, orchestrator in orchestrators.items():
        base = None
        for length in LENGTHS:
            sid = f"bench-{length}"
            await prefill(orchestrator, ConversationKey("local", sid), length - 1)
            median, _ = await measure(orchestrator, sid, QUERY, samples)
            base = base or median
            rows.append((name, f"{length:,}", f"{median:.1f}", f"{median / base:.2f}x"))
    print(f"\nOne turn, offline model, median of {samples} (file SQLite)")
    print(f"{'orchestrator':<13}{'turns':>7}{'median ms':>11}{'vs 1 turn':>11}")
    for row in rows:
        print(f"{row[0]:<13}{row[1]:>7}{row[2]:>11}{row[3]:>11}")

    moe = orchestrators["MoE"]
    print(f"\nTwo-expert MoE turn ({TWO_EXPERTS!r}), median of {samples}")
    print(f"{'turns':>7}{'turn ms':>10}{'outside experts ms':>20}{'share':>8}")
    for length in (1, 1000):
        sid = f"two-{length}"
        await prefill(moe, ConversationKey("local", sid), length - 1)
        total, outside = await measure(moe, sid, TWO_EXPERTS, samples)
        print(f"{length:>7,}{total:>10.1f}{outside:>20.1f}{outside / total:>8.0%}")
    await factory.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=15, help="measured turns per row (median reported)")
    asyncio.run(main(parser.parse_args().samples))
