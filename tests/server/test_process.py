"""The real server process: restart keeps conversations, SIGTERM finishes in-flight turns, bad config."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.server.conftest import REPO, ServerProcess, config_with_agent


def slow_config(home: Path) -> Path:
    """The repository's agents plus a slow test agent (the orchestrators' experts stay available)."""
    return config_with_agent(
        home,
        "slow",
        {
            "display_name": "SlowAgent",
            "module": "tests.server.slow_agent",
            "function": "create_slow_agent",
            "default_instructions": "You answer slowly.",
            "session_memory": {"type": "sqlite", "database_path": "data/sessions/agents.db"},
        },
    )


def test_restart_keeps_the_conversation_and_its_listing(server_process: Callable[..., ServerProcess]) -> None:
    first = server_process()
    ids = {}
    for agent in ("chitchat", "moe"):
        response = httpx.post(f"{first.url}/agents/{agent}/chat", json={"input": "My name is Zorblax"}, timeout=60)
        assert response.status_code == 200, response.text
        ids[agent] = response.json()["metadata"]["session_id"]
    assert first.terminate() == 0

    second = server_process()
    listed = [s["session_id"] for s in httpx.get(f"{second.url}/sessions", timeout=30).json()["sessions"]]
    assert set(ids.values()) <= set(listed)
    for agent, session_id in ids.items():
        response = httpx.post(
            f"{second.url}/agents/{agent}/chat",
            json={"input": "What is my name?", "session_id": session_id},
            timeout=60,
        )
        assert "Zorblax" in response.json()["response"], (agent, response.text)


def test_sigterm_finishes_the_turn_in_flight_and_closes_cleanly(
    home: Path, server_process: Callable[..., ServerProcess]
) -> None:
    server = server_process(config=slow_config(home), env={"ASDRP_TEST_SLOW_S": "2", "ASDRP_SHUTDOWN_DEADLINE_S": "20"})
    result: dict[str, Any] = {}

    def ask() -> None:
        result["response"] = httpx.post(
            f"{server.url}/agents/slow/chat", json={"input": "My name is Zorblax", "session_id": "inflight"}, timeout=60
        )

    thread = threading.Thread(target=ask)
    thread.start()
    deadline_checks = 0
    while deadline_checks < 300:  # wait until the turn is really in flight
        metrics = httpx.get(f"{server.url}/metrics", timeout=10).text
        if "asdrp_active_turns 1.0" in metrics:
            break
        deadline_checks += 1
        threading.Event().wait(0.02)
    assert server.terminate() == 0, server.output()
    thread.join(60)
    response = result["response"]
    assert response.status_code == 200, response.text
    assert "Zorblax" in response.json()["response"]
    assert "Traceback" not in server.output()

    restarted = server_process()
    items = httpx.get(f"{restarted.url}/sessions/inflight", timeout=30).json()["items"]
    assert [item["role"] for item in items] == ["user", "assistant"]


def test_client_disconnect_mid_stream_leaves_no_half_written_turn(
    home: Path, server_process: Callable[..., ServerProcess]
) -> None:
    server = server_process(config=slow_config(home), env={"ASDRP_TEST_SLOW_S": "1"})
    with httpx.Client(timeout=30) as client:
        with client.stream(
            "POST", f"{server.url}/agents/slow/chat/stream", json={"input": "Hello", "session_id": "gone"}
        ) as response:
            assert response.status_code == 200
            first = next(response.iter_lines())
            assert first.startswith("data: ") and '"metadata"' in first
        # the connection is closed here, while the slow model is still thinking
    with httpx.Client(timeout=30) as client:
        ok = client.post(f"{server.url}/agents/slow/chat", json={"input": "My name is Zorblax", "session_id": "gone"})
        assert ok.status_code == 200
        items = client.get(f"{server.url}/sessions/gone").json()["items"]
    roles = [item["role"] for item in items]
    assert roles in (["user", "assistant"], ["user", "assistant", "user", "assistant"]), roles
    assert roles[-2:] == ["user", "assistant"] and items[-1]["content"]


def test_broken_yaml_stops_start_up_with_one_line(home: Path) -> None:
    bad = home / "bad.yaml"
    bad.write_text("agents:\n  geo: [unclosed\n")
    env = {**os.environ, "ASDRP_HOME": str(home), "ASDRP_CONFIG": str(bad), "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "asdrp.cli", "serve", "--port", "0"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad.yaml" in lines[0] and "Traceback" not in done.stderr


def test_local_mode_refuses_a_public_host_and_says_why(home: Path) -> None:
    env = {**os.environ, "ASDRP_HOME": str(home), "PYTHONPATH": str(REPO)}
    env.pop("ASDRP_API_KEYS", None)
    done = subprocess.run(
        [sys.executable, "-m", "asdrp.cli", "serve", "--host", "0.0.0.0", "--port", "0"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2 and "local mode" in done.stderr and "Traceback" not in done.stderr
