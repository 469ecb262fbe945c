"""`asdrp serve --workers N`: several uvicorn worker processes on one port, started as a user starts them."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import asdrp
from tests.server.conftest import ServerProcess


def answering_pid(url: str) -> int:
    """The pid in one `/health` answer, on a fresh connection (so the kernel may hand it to any worker)."""
    response = httpx.get(f"{url}/health", timeout=30)
    assert response.status_code == 200
    return int(response.json()["pid"])


def test_two_workers_answer_from_two_processes_and_the_banner_is_printed_once(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, args=("--workers", "2")).start()
    try:
        assert server.process is not None
        pids: set[int] = set()
        deadline = time.monotonic() + 90  # the second worker may still be starting when the first answers
        with ThreadPoolExecutor(max_workers=8) as pool:
            while len(pids) < 2 and time.monotonic() < deadline:
                pids.update(pool.map(lambda _: answering_pid(server.url), range(32)))
        assert len(pids) == 2, f"only {pids} answered:\n{server.output()}"
        assert server.process.pid not in pids  # the parent supervises; the workers serve
        chat = httpx.post(f"{server.url}/agents/chitchat/chat", json={"input": "Hello", "session_id": "w1"}, timeout=60)
        assert chat.status_code == 200 and chat.json()["metadata"]["session_id"] == "w1"
    finally:
        code = server.terminate()
    assert code == 0, server.output()
    assert server.output().count("local mode") == 1, server.output()
    assert "with 2 worker processes" in server.output()


def test_workers_from_the_environment_are_used(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, env={"ASDRP_WORKERS": "2"}).start()
    try:
        pids: set[int] = set()
        deadline = time.monotonic() + 90
        with ThreadPoolExecutor(max_workers=8) as pool:
            while len(pids) < 2 and time.monotonic() < deadline:
                pids.update(pool.map(lambda _: answering_pid(server.url), range(32)))
        assert len(pids) == 2, server.output()
    finally:
        assert server.terminate() == 0, server.output()


@pytest.mark.parametrize(
    ("args", "environment", "named"),
    [
        (("--workers", "0"), {}, "--workers"),
        (("--workers", "65"), {}, "--workers"),
        ((), {"ASDRP_WORKERS": "100"}, "ASDRP_WORKERS"),
        ((), {"ASDRP_WORKERS": "many"}, "ASDRP_WORKERS"),
    ],
)
def test_a_bad_worker_count_is_one_line_naming_it(
    env: dict[str, str], args: tuple[str, ...], environment: dict[str, str], named: str
) -> None:
    done = asdrp({**env, **environment}, "serve", "--port", "0", *args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0] and "Traceback" not in done.stderr, done.stderr
    assert (args[-1] if args else environment["ASDRP_WORKERS"]) in lines[0]
