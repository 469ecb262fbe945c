"""The CLI's one error path, and `--max-age` durations through the one duration parser, as a user meets them."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from asdrp.cli.app import error_line
from tests.cli.conftest import asdrp


@pytest.mark.parametrize("value", ["10x", "soon", "0", "-3d", "12 hours"])
def test_a_bad_max_age_is_one_line_naming_the_value(env: dict[str, str], value: str) -> None:
    done = asdrp(env, "sessions", "prune", "--max-age", value)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "--max-age" in lines[0] and repr(value) in lines[0]
    assert done.stdout == ""  # refused before any store was touched


@pytest.mark.parametrize("value", ["90", "90s", "15m", "12h", "30d", "2w", "1.5h"])
def test_every_duration_form_is_accepted(env: dict[str, str], value: str) -> None:
    done = asdrp(env, "sessions", "prune", "--max-age", value)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("pruned: 0 conversation(s) expired")


def test_max_age_expires_only_conversations_idle_longer_than_it(env: dict[str, str]) -> None:
    said = asdrp(env, "chat", "chitchat", "--session", "old-one", stdin="My name is Zorblax\n")
    assert said.returncode == 0, said.stderr
    kept = asdrp(env, "sessions", "prune", "--max-age", "2w")
    assert kept.returncode == 0 and "0 conversation(s) expired" in kept.stdout, kept.stderr
    assert "old-one" in asdrp(env, "sessions", "list").stdout
    time.sleep(1.5)  # the conversation is now idle for longer than one second
    expired = asdrp(env, "sessions", "prune", "--max-age", "1s")
    assert expired.returncode == 0 and "1 conversation(s) expired" in expired.stdout, expired.stderr
    assert "No conversations" in asdrp(env, "sessions", "list").stdout


def test_an_unwritable_output_file_is_one_line_not_a_traceback(env: dict[str, str], tmp_path: Path) -> None:
    done = asdrp(env, "sessions", "export", "-o", str(tmp_path / "no" / "such" / "dir" / "all.jsonl"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("asdrp: error:") and "all.jsonl" in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_options_that_cannot_go_together_are_refused_in_one_line(env: dict[str, str], tmp_path: Path) -> None:
    done = asdrp(env, "chat", "geo", "--server", "http://127.0.0.1:9", "--db", str(tmp_path / "x.db"), stdin="hi\n")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "--server" in done.stderr


def test_a_multi_line_message_is_folded_into_one_line() -> None:
    assert error_line(ValueError("first\n  second\n\n")) == "asdrp: error: first; second"
    assert error_line(OSError()) == "asdrp: error: OSError"
