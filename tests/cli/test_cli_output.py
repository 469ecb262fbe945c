"""What `asdrp chat` and `asdrp serve` print, as a user sees it: markdown rendered, the session line first,
the start-up banner once. Real subprocesses; a pseudo-terminal where the behaviour depends on one."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from pathlib import Path

from tests.cli.conftest import ASDRP, asdrp
from tests.server.conftest import ServerProcess

PROMPT = "you> "


def run_on_terminal(env: dict[str, str], args: list[str], lines: list[str], timeout: float = 90) -> str:
    """Run `asdrp ARGS` on a pseudo-terminal (so it prompts as for a person), typing each line after a prompt.

    Returns everything it printed, in order; the session ends with /exit after the last line.
    """
    leader, follower = pty.openpty()
    process = subprocess.Popen([ASDRP, *args], stdin=follower, stdout=follower, stderr=follower, env=env,
                               close_fds=True)
    os.close(follower)
    output = ""
    pending = [*lines, "/exit"]
    sent = 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(leader, 4096).decode(errors="replace")
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
                if pending and output.count(PROMPT) > sent:  # a new prompt: type the next line
                    os.write(leader, (pending.pop(0) + "\n").encode())
                    sent += 1
            elif process.poll() is not None:
                break
        else:
            raise AssertionError(f"asdrp did not finish:\n{output}")
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        os.close(leader)
    return output.replace("\r\n", "\n")


def test_in_process_chat_renders_markdown_instead_of_printing_asterisks(env: dict[str, str]) -> None:
    done = asdrp(env, "chat", "moe", "--session", "md1",
                 stdin="How far is Paris from London and what time is it in Tokyo?\n")
    assert done.returncode == 0, done.stderr
    assert "**" not in done.stdout, done.stdout
    answer = done.stdout.split("\n", 1)[1]
    assert answer.startswith("moe> "), done.stdout
    assert "km" in answer and "Tokyo" in answer


def test_sessions_show_renders_answers_as_chat_does(env: dict[str, str]) -> None:
    asked = asdrp(env, "chat", "moe", "--session", "md2",
                  stdin="How far is Paris from London and what time is it in Tokyo?\n")
    assert asked.returncode == 0, asked.stderr
    shown = asdrp(env, "sessions", "show", "md2")
    assert shown.returncode == 0, shown.stderr
    assert "**" not in shown.stdout and "km" in shown.stdout, shown.stdout
    exported = asdrp(env, "sessions", "export", "md2", "--format", "markdown")
    assert exported.returncode == 0 and "km" in exported.stdout  # the export stays markdown source


def test_terminal_chat_prints_the_session_line_before_the_first_prompt_and_styles_bold(
    env: dict[str, str]
) -> None:
    output = run_on_terminal(env, ["chat", "moe"], ["How far is Paris from London and what time is it in Tokyo?"])
    assert output.index("session: s-") < output.index(PROMPT), output
    assert "**" not in output, output
    assert "\x1b[1m" in output, "a terminal gets bold text for the markdown's **...**"


def test_remote_chat_prints_the_session_line_before_the_first_prompt(env: dict[str, str], tmp_path: Path) -> None:
    server = ServerProcess(tmp_path).start()
    try:
        output = run_on_terminal(env, ["chat", "chitchat", "--server", server.url], ["My name is Zorblax"])
        assert output.index("session: s-") < output.index(PROMPT), output
        assert "Zorblax" in output
        piped = asdrp(env, "chat", "moe", "--server", server.url,
                      stdin="How far is Paris from London and what time is it in Tokyo?\n")
        assert piped.returncode == 0, piped.stderr
        assert piped.stdout.startswith("session: s-") and "**" not in piped.stdout, piped.stdout
        unknown = asdrp(env, "chat", "nosuch", "--server", server.url, stdin="hello\n")
        assert unknown.returncode == 2 and "nosuch" in unknown.stderr and unknown.stdout == ""
    finally:
        server.terminate()


def test_serve_prints_the_local_mode_banner_once(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, env={"ASDRP_LOG_LEVEL": "info"}).start()
    assert server.terminate() == 0
    assert server.output().count("local mode") == 1, server.output()
