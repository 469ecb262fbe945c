"""A bad store stops start-up with one line; a store failing at run time costs only its own conversations."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server.conftest import AGENTS_YAML, REPO, app_client


@pytest.mark.parametrize("name", ["agents.db", "moe_tools.db", "idempotency.db"])
def test_a_store_path_that_is_a_directory_stops_start_up_with_one_line(home: Path, name: str) -> None:
    (home / "data" / "sessions" / name).mkdir(parents=True)
    env = {**os.environ, "ASDRP_HOME": str(home), "ASDRP_CONFIG": str(AGENTS_YAML), "PYTHONPATH": str(REPO)}
    env.pop("ASDRP_API_KEYS", None)
    done = subprocess.run([sys.executable, "-m", "asdrp.cli", "serve", "--port", "0"],
                          env=env, capture_output=True, text=True, timeout=60, cwd=str(home))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert name in lines[0] and "is a directory" in lines[0] and "Traceback" not in done.stderr


def test_an_unreadable_store_file_stops_start_up_with_one_line(home: Path) -> None:
    sessions = home / "data" / "sessions"
    sessions.mkdir(parents=True)
    (sessions / "moe.db").write_bytes(b"this is not a database" * 100)
    env = {**os.environ, "ASDRP_HOME": str(home), "ASDRP_CONFIG": str(AGENTS_YAML), "PYTHONPATH": str(REPO)}
    env.pop("ASDRP_API_KEYS", None)
    done = subprocess.run([sys.executable, "-m", "asdrp.cli", "serve", "--port", "0"],
                          env=env, capture_output=True, text=True, timeout=60, cwd=str(home))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "moe.db" in lines[0], done.stderr


async def test_a_store_down_at_run_time_costs_only_its_conversations(home: Path) -> None:
    async with app_client() as client:
        for agent, session_id in (("chitchat", "in-agents"), ("moe", "in-moe")):
            response = await client.post(f"/agents/{agent}/chat", json={"input": "hello", "session_id": session_id})
            assert response.status_code == 200, response.text
        factory = client.app.state.services.factory  # type: ignore[attr-defined]
        await factory.session_store("chitchat").close()  # agents.db goes away (closed = unavailable)

        listing = await client.get("/sessions")
        assert listing.status_code == 200, listing.text
        assert [s["session_id"] for s in listing.json()["sessions"]] == ["in-moe"]
        assert listing.json()["unavailable_stores"] == ["sqlite:agents.db"]

        assert (await client.get("/sessions/in-moe")).status_code == 200
        down = await client.get("/sessions/in-agents")
        assert down.status_code == 503 and "agents.db" in down.json()["detail"]
        assert "/" not in down.json()["detail"].split("agents.db")[0][-20:]  # no server path is shown
        again = await client.post("/agents/moe/chat", json={"input": "again", "session_id": "in-moe"})
        assert again.status_code == 200
        assert (await client.delete("/sessions/in-moe")).status_code == 204
        assert (await client.delete("/sessions")).status_code == 503  # "delete my data" is not complete


async def test_a_locked_file_does_not_stall_the_healthy_ones(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Turns waiting on a locked agents.db hold only agents.db's own thread: moe.db keeps answering."""
    monkeypatch.setattr("asdrp.memory.stores.sqlite.BUSY_TIMEOUT_MS", 20_000)
    async with app_client() as client:
        for agent, session_id in (("chitchat", "warm"), ("moe", "healthy")):
            assert (await client.post(f"/agents/{agent}/chat",
                                      json={"input": "hello", "session_id": session_id})).status_code == 200
        locker = sqlite3.connect(home / "data" / "sessions" / "agents.db", isolation_level=None, timeout=0)
        locker.execute("BEGIN IMMEDIATE")
        try:
            waiting = [
                asyncio.create_task(client.post("/agents/chitchat/chat", json={"input": "hi", "session_id": f"w{n}"}))
                for n in range(12)
            ]
            await asyncio.sleep(0.2)
            read = await client.get("/sessions/healthy")
            turn = await client.post("/agents/moe/chat", json={"input": "still there?", "session_id": "healthy"})
            assert read.status_code == 200 and turn.status_code == 200
            assert not all(task.done() for task in waiting)  # answered while agents.db was still locked
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        done = await asyncio.gather(*waiting)
        assert {response.status_code for response in done} == {200}
