"""The `asdrp` console script, run as a real subprocess the way a user runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import asdrp


def test_agents_lists_agents_with_their_session_memory(env: dict[str, str]) -> None:
    done = asdrp(env, "agents")
    assert done.returncode == 0, done.stderr
    for name in ("geo", "clock", "finance", "calculator", "chitchat", "support", "api_agent", "moe", "smartrouter"):
        assert name in done.stdout
    assert "support.db" in done.stdout
    assert "stateless" in done.stdout


def test_chat_prints_session_answers_and_continues_after_restart(env: dict[str, str], tmp_path: Path) -> None:
    first = asdrp(env, "chat", "geo", "--session", "s1", stdin="Where is Kyoto?\n")
    assert first.returncode == 0, first.stderr
    assert "s1" in first.stdout.splitlines()[0]
    assert "Kyoto" in first.stdout and "Japan" in first.stdout
    second = asdrp(env, "chat", "chitchat", "--session", "s2", stdin="My name is Zorblax\n/exit\nnot read\n")
    assert second.returncode == 0, second.stderr
    third = asdrp(env, "chat", "chitchat", "--session", "s2", stdin="What is my name?\n")
    assert "Zorblax" in third.stdout
    assert (tmp_path / "data" / "sessions").is_dir()


def test_chat_with_db_option_keeps_the_conversation_in_that_file(env: dict[str, str], tmp_path: Path) -> None:
    db = tmp_path / "data" / "mine.db"
    asdrp(env, "chat", "chitchat", "--session", "s1", "--db", str(db), stdin="My name is Zorblax\n")
    assert db.exists()
    assert (
        "Zorblax"
        in asdrp(env, "chat", "chitchat", "--session", "s1", "--db", str(db), stdin="What is my name?\n").stdout
    )
    other = asdrp(env, "chat", "chitchat", "--session", "s1", stdin="What is my name?\n")
    assert "Zorblax" not in other.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("chat", "nosuchagent"), "Unknown agent 'nosuchagent'"),
        (("chat", "geo", "--session", "../etc/passwd"), "session id"),
        (("chat", "geo", "--session", "x" * 129), "session id"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(env: dict[str, str], args: tuple[str, ...], message: str) -> None:
    done = asdrp(env, *args, stdin="hello\n")
    assert done.returncode == 2
    assert message.lower() in done.stderr.lower()
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_broken_yaml_is_reported_with_the_file_name(env: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("agents: [unclosed\n", encoding="utf-8")
    done = asdrp({**env, "ASDRP_CONFIG": str(broken)}, "agents")
    assert done.returncode == 2
    assert str(broken) in done.stderr and "malformed YAML" in done.stderr
    assert "Traceback" not in done.stderr
