"""Time to first token: a specialist streamed directly against the same specialist through MoE and SmartRouter.

Every agent's model is the offline model paced like a real LLM: each streamed delta (a word of
text, a tool call's arguments) takes `--token-ms` (20 ms), and a non-streamed call takes that per
delta it would have sent. The question goes to one specialist whichever way it is asked, so the
orchestrators add only their routing and memory; before real streaming their first token came
when the whole answer was done (the "answer" column is that time).

    .venv/bin/python bench/stream_ttft.py [--runs 20] [--token-ms 20] [--question "What time is it in Tokyo?"]

Target: TTFT via moe and smartrouter <= the specialist's own TTFT + 50 ms.
Not a test: it prints a table and never runs in the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "config" / "open_agents.yaml"


def paced_model_class(token_s: float) -> type:
    """The offline model, `token_s` per streamed delta (and per delta it would send, when not streamed)."""
    from asdrp.models import OfflineModel

    class PacedOfflineModel(OfflineModel):
        async def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            async for event in super().stream_response(*args, **kwargs):
                if str(getattr(event, "type", "")).endswith(".delta"):
                    await asyncio.sleep(token_s)
                yield event

        async def get_response(self, *args: Any, **kwargs: Any) -> Any:
            deltas = 0
            async for event in super().stream_response(*args, **kwargs):
                deltas += str(getattr(event, "type", "")).endswith(".delta")
            await asyncio.sleep(token_s * deltas)
            return await super().get_response(*args, **kwargs)

    return PacedOfflineModel


async def measure(responder: Any, question: str, runs: int, label: str) -> tuple[list[float], list[float]]:
    """(first-token times, whole-answer times) in seconds over `runs` new conversations."""
    first_times, totals = [], []
    for run in range(runs):
        started = time.perf_counter()
        first = None
        async for event in responder.stream_query(question, session_id=f"ttft-{label}-{run}", user="local"):
            if event.type == "token" and first is None:
                first = time.perf_counter() - started
            elif event.type == "error":
                raise SystemExit(f"{label}: {event.content}")
        totals.append(time.perf_counter() - started)
        first_times.append(first if first is not None else totals[-1])
    return first_times, totals


async def main_async(runs: int, token_ms: float, question: str, specialist: str) -> None:
    from asdrp.agents.agent_factory import AgentFactory
    from asdrp.orchestration.catalog import ResponderCatalog

    factory = AgentFactory(CONFIG)
    catalog = ResponderCatalog(factory)
    model_class = paced_model_class(token_ms / 1000)
    for name in factory.agent_names():
        agent = await factory.get_agent(name)
        agent.model = model_class()  # the factory caches agents: every caller now gets the paced model
    rows = []
    try:
        for label in (specialist, "moe", "smartrouter"):
            responder = catalog.get(label)
            await measure(responder, question, 2, f"warm-{label}")
            first_times, totals = await measure(responder, question, runs, label)
            rows.append((label, statistics.median(first_times), max(first_times), statistics.median(totals)))
        answered = await catalog.get("moe").route_query(question, user="local")
        experts = [e["agent"] for e in answered.trace if e.get("type") == "expert"]
    finally:
        await catalog.aclose()
        await factory.aclose()
    print(f"\n{question!r}: {runs} new conversations each, offline model paced at {token_ms:g} ms per delta; "
          f"moe's expert(s): {', '.join(experts)}\n")
    header = f"{'responder':<14}{'TTFT p50 ms':>13}{'TTFT max ms':>13}{'answer p50 ms':>15}{'TTFT - specialist':>19}"
    print(header)
    print("-" * len(header))
    base = rows[0][1]
    for label, first, worst, total in rows:
        print(f"{label:<14}{first * 1000:>13.1f}{worst * 1000:>13.1f}{total * 1000:>15.1f}"
              f"{(first - base) * 1000:>+18.1f}")
    worst_gap = max(first - base for _, first, _, _ in rows[1:])
    print(f"\nworst orchestrator TTFT - specialist TTFT = {worst_gap * 1000:+.1f} ms (target <= +50 ms); "
          "without real streaming an orchestrator's TTFT was its whole answer time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--token-ms", type=float, default=20.0)
    parser.add_argument("--question", default="What time is it in Tokyo?")
    parser.add_argument("--specialist", default="clock", help="the specialist the question goes to")
    args = parser.parse_args()
    os.environ.pop("OPENAI_API_KEY", None)
    os.environ["ASDRP_MODEL_PROVIDER"] = "offline"
    os.environ["ASDRP_HOME"] = tempfile.mkdtemp(prefix="asdrp-ttft-")
    asyncio.run(main_async(args.runs, args.token_ms, args.question, args.specialist))


if __name__ == "__main__":
    main()
