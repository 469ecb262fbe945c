"""`asdrp chat --server URL`: the REPL over HTTP against a real `asdrp serve` process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.server.conftest import REPO, ServerProcess


def chat(url: str, *args: str, stdin: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if k != "ASDRP_API_KEY"}
    environment = {**inherited, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "asdrp.cli", "chat", *args, "--server", url],
        input=stdin, env=environment, capture_output=True, text=True, timeout=120,
    )


def test_remote_chat_gets_a_session_id_and_continues_it(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, env={"ASDRP_API_KEYS": "k-alice:alice"}).start()
    try:
        first = chat(
            server.url, "moe", stdin="Where is Kyoto?\nWhat time is it there?\n", env={"ASDRP_API_KEY": "k-alice"}
        )
        assert first.returncode == 0, first.stderr
        lines = first.stdout.splitlines()
        session_id = lines[0].split()[1]
        assert session_id.startswith("s-")
        assert "Japan" in lines[1] and "Asia/Tokyo" in lines[2]
        again = chat(
            server.url, "chitchat", "--session", "mine", stdin="My name is Zorblax\n", env={"ASDRP_API_KEY": "k-alice"}
        )
        assert again.returncode == 0, again.stderr
        later = chat(
            server.url, "chitchat", "--session", "mine", stdin="What is my name?\n", env={"ASDRP_API_KEY": "k-alice"}
        )
        assert "Zorblax" in later.stdout
        refused = chat(server.url, "chitchat", stdin="hello\n", env={"ASDRP_API_KEY": "wrong"})
        assert refused.returncode == 2
        assert "401" in refused.stderr and "Traceback" not in refused.stderr
        unknown = chat(server.url, "nosuch", stdin="hello\n", env={"ASDRP_API_KEY": "k-alice"})
        assert unknown.returncode == 2 and "nosuch" in unknown.stderr
    finally:
        server.terminate()


def test_unreachable_server_is_one_line(tmp_path: Path) -> None:
    done = chat("http://127.0.0.1:9", "moe", stdin="hello\n")
    assert done.returncode == 2
    assert "cannot reach" in done.stderr and "Traceback" not in done.stderr
