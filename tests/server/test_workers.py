"""`asdrp serve --workers 2` on the embedded SQLite default, driven over HTTP as a user drives it.

One conversation takes concurrent turns through two worker processes: every turn must be stored
whole, once, in order, and every turn's model must have seen the turn stored just before it. And a
worker killed with SIGKILL mid-turn leaves no half turn and no stuck conversation lock behind.

The agent is `tests.server.witness_agent`: its offline model answers `after: <previous user
message in its input> | pid <worker pid>`, so the stored history itself proves what each model saw
and which worker answered.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from tests.server.conftest import ServerProcess, config_with_agent

ANSWER = re.compile(r"^after: (?P<previous>.*) \| pid (?P<pid>\d+)$", re.DOTALL)


def witness_config(home: Path) -> Path:
    """The repository's agents plus `witness` on the default SQLite file, without recall (the window only)."""
    return config_with_agent(
        home,
        "witness",
        {
            "display_name": "WitnessAgent",
            "module": "tests.server.witness_agent",
            "function": "create_witness_agent",
            "default_instructions": "You report what you saw.",
            "session_memory": {"type": "sqlite", "database_path": "data/sessions/agents.db", "recall_items": 0},
        },
    )


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def worker_pids(url: str, *, want: int = 2, excluding: Iterable[int] = (), within_s: float = 120) -> set[int]:
    """Ask /health on fresh connections until `want` different worker pids (none in `excluding`) answer."""
    excluded = set(excluding)
    seen: set[int] = set()

    def ask(_: int) -> int | None:
        try:
            return int(httpx.get(f"{url}/health", timeout=10).json()["pid"])
        except httpx.HTTPError:
            return None  # a worker may be dying or starting

    deadline = time.monotonic() + within_s  # a safety net: a worker normally starts in about a second
    with ThreadPoolExecutor(max_workers=8) as pool:
        while time.monotonic() < deadline:
            seen.update(pid for pid in pool.map(ask, range(16)) if pid is not None and pid not in excluded)
            if len(seen) >= want:
                return seen
            time.sleep(0.1)
    raise AssertionError(f"only workers {seen} answered /health (excluding {excluded})")


def history(url: str, session_id: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{url}/sessions/{session_id}", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def check_history(items: list[dict[str, Any]], sent: list[str]) -> dict[str, dict[str, Any]]:
    """Every sent message stored once, each immediately followed by its answer, in order, and each
    answer naming the question stored just before its own. Returns question -> parsed answer."""
    assert len(items) == 2 * len(sent), [(i["role"], i["content"]) for i in items]
    seqs = [item["seq"] for item in items]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
    assert [item["role"] for item in items] == ["user", "assistant"] * len(sent)
    questions = [item["content"] for item in items[0::2]]
    assert sorted(questions) == sorted(sent), "a turn was lost, duplicated or altered"
    answers: dict[str, dict[str, Any]] = {}
    for k, (question, answer) in enumerate(zip(questions, (item["content"] for item in items[1::2]), strict=True)):
        parsed = ANSWER.match(answer)
        assert parsed is not None, answer
        expected = questions[k - 1] if k else "none"
        assert parsed["previous"] == expected, f"turn {k} ({question!r}) saw {parsed['previous']!r}, not {expected!r}"
        answers[question] = {"text": answer, "pid": int(parsed["pid"])}
    return answers


async def test_concurrent_turns_on_one_conversation_over_two_workers_are_whole_once_and_in_order(
    home: Path, server_process: Callable[..., ServerProcess]
) -> None:
    server = server_process(config=witness_config(home), args=("--workers", "2"))
    assert server.process is not None
    workers = worker_pids(server.url)
    assert server.process.pid not in workers
    session_id = "one-conversation"
    sent: list[str] = []
    replies: dict[str, str] = {}
    # One connection per turn, all at once: the kernel hands the connections to both workers.
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=server.url, timeout=120, limits=limits) as client:

        async def turn(text: str) -> None:
            response = await client.post("/agents/witness/chat", json={"input": text, "session_id": session_id})
            assert response.status_code == 200, response.text
            assert response.json()["metadata"]["session_id"] == session_id
            replies[text] = response.json()["response"]

        for round_ in range(4):  # normally one round; more only if one worker happened to accept every connection
            batch = [f"question {round_}.{i}" for i in range(32)]
            sent += batch
            await asyncio.gather(*(turn(text) for text in batch))
            answered_by = {int(ANSWER.match(reply)["pid"]) for reply in replies.values()}  # type: ignore[index]
            if len(answered_by) == 2:
                break
    assert answered_by == workers, f"turns answered by {answered_by}, workers {workers}"
    answers = check_history(history(server.url, session_id), sent)
    assert len(answers) == len(sent) >= 32
    for question, reply in replies.items():
        assert answers[question]["text"] == reply, "the caller got an answer other than the one stored"
    assert server.terminate() == 0, server.output()
    assert "Traceback" not in server.output(), server.output()


def test_a_worker_killed_mid_turn_leaves_no_half_turn_and_no_stuck_lock(
    home: Path, server_process: Callable[..., ServerProcess]
) -> None:
    pid_file = home / "serving.pid"
    server = server_process(
        config=witness_config(home), args=("--workers", "2"),
        env={"ASDRP_TEST_PID_FILE": str(pid_file), "ASDRP_TEST_SLOW_S": "120"},
    )
    assert server.process is not None
    worker_pids(server.url)
    url, session_id = server.url, "crash"
    sent = [f"before {i}" for i in range(3)]
    for text in sent:
        response = httpx.post(f"{url}/agents/witness/chat", json={"input": text, "session_id": session_id}, timeout=60)
        assert response.status_code == 200, response.text

    def slow_turn() -> httpx.Response:
        return httpx.post(
            f"{url}/agents/witness/chat", json={"input": "slow: never finished", "session_id": session_id}, timeout=150
        )

    with ThreadPoolExecutor(max_workers=1) as pool:
        in_flight = pool.submit(slow_turn)
        deadline = time.monotonic() + 60
        while not pid_file.exists():  # the model writes its pid, then sleeps: the turn holds the lock now
            assert time.monotonic() < deadline and not in_flight.done(), "the slow turn never reached its model"
            time.sleep(0.02)
        victim = int(pid_file.read_text())
        assert victim != server.process.pid and parent_of(victim) == server.process.pid
        os.kill(victim, signal.SIGKILL)
        try:
            outcome: Any = in_flight.result(timeout=60)
        except httpx.HTTPError as exc:
            outcome = exc
    assert not (isinstance(outcome, httpx.Response) and outcome.status_code == 200), outcome.text

    # uvicorn's supervisor replaces the dead worker: wait until two live workers, neither the victim, answer.
    survivors = worker_pids(url, excluding={victim})
    assert len(survivors) == 2 and victim not in survivors

    check_history(history(url, session_id), sent)  # the killed turn left nothing: 3 whole turns, no "slow:" item

    # The conversation is not stuck: a turn completes, on whichever worker (timeout only as a safety net) ...
    response = httpx.post(
        f"{url}/agents/witness/chat", json={"input": "after the crash", "session_id": session_id}, timeout=30
    )
    assert response.status_code == 200, response.text
    assert ANSWER.match(response.json()["response"])["previous"] == "before 2"  # type: ignore[index]
    sent.append("after the crash")

    # ... and concurrent turns on fresh connections go through both live workers, the new one included.
    def later(text: str) -> str:
        reply = httpx.post(f"{url}/agents/witness/chat", json={"input": text, "session_id": session_id}, timeout=60)
        assert reply.status_code == 200, reply.text
        return reply.json()["response"]

    answered_by: set[int] = set()
    with ThreadPoolExecutor(max_workers=16) as pool:
        for round_ in range(4):  # normally one round; more only if one worker happened to accept every connection
            batch = [f"later {round_}.{i}" for i in range(16)]
            sent += batch
            answered_by |= {int(ANSWER.match(reply)["pid"]) for reply in pool.map(later, batch)}  # type: ignore[index]
            if answered_by == survivors:
                break
    assert answered_by == survivors, f"turns answered by {answered_by}, live workers {survivors}"
    check_history(history(url, session_id), sent)
    assert server.terminate() == 0, server.output()
