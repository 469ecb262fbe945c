"""`asdrp sessions list|show|delete|export` work on the same stores as the server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server.conftest import AGENTS_YAML, REPO


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    return {**os.environ, "ASDRP_HOME": str(home), "ASDRP_CONFIG": str(AGENTS_YAML), "PYTHONPATH": str(REPO)}


def asdrp(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "asdrp.cli", *args], input=stdin, env=env,
                          capture_output=True, text=True, timeout=120)


async def test_sessions_commands_see_what_the_server_wrote(home: Path, env: dict[str, str]) -> None:
    from tests.server.conftest import app_client

    async with app_client() as client:
        for agent, sid in (("chitchat", "cli-one"), ("moe", "cli-two")):
            response = await client.post(
                f"/agents/{agent}/chat", json={"input": "My name is Zorblax", "session_id": sid}
            )
            assert response.status_code == 200
        await client.post("/agents/geo/chat", json={"input": "Where is Kyoto?", "session_id": "cli-geo"})

    listed = asdrp(env, "sessions", "list")
    assert listed.returncode == 0, listed.stderr
    for sid in ("cli-one", "cli-two", "cli-geo"):
        assert sid in listed.stdout
    assert "My name is Zorblax" in listed.stdout
    assert "No conversations" in asdrp(env, "sessions", "list", "--user", "bob").stdout

    shown = asdrp(env, "sessions", "show", "cli-one")
    assert shown.returncode == 0 and "you> My name is Zorblax" in shown.stdout and "Zorblax!" in shown.stdout

    exported = asdrp(env, "sessions", "export", "cli-geo", "--format", "jsonl")
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    assert lines[0]["type"] == "session" and lines[0]["session_id"] == "cli-geo"
    assert [line["role"] for line in lines[1:]][0] == "user"
    assert any(line["item"].get("type") == "function_call" for line in lines[1:])
    markdown = asdrp(env, "sessions", "export", "cli-two", "--format", "markdown")
    assert (
        markdown.returncode == 0
        and markdown.stdout.startswith("# My name is Zorblax")
        and "**You**" in markdown.stdout
    )

    deleted = asdrp(env, "sessions", "delete", "cli-one")
    assert deleted.returncode == 0, deleted.stderr
    assert "cli-one" not in asdrp(env, "sessions", "list").stdout
    missing = asdrp(env, "sessions", "show", "cli-one")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "cli-one" in missing.stderr


@pytest.mark.parametrize("args", [["show", "a..b"], ["delete", "bad/id"], ["export", "cli-x", "--format", "pdf"]])
def test_sessions_commands_refuse_bad_input_in_one_line(env: dict[str, str], args: list[str]) -> None:
    done = asdrp(env, "sessions", *args)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
