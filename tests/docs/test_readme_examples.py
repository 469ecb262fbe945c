"""The Python examples of README.md and docs/*.md run as written, offline, and each answers its own question.

An example that runs but prints an answer to some other question (the README once followed
"How far is the nearest subway?" with the list of places near Times Square again) is a broken
example: every block is matched to the question it asks and to what its printed answer must say.
A block that asks several questions matches several entries and must print every answer; a new
Python block without an entry in EXPECTED fails, so no example goes unchecked.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from asdrp.agents.agent_factory import AgentFactory
from tests.server.conftest import ServerProcess

REPO = Path(__file__).resolve().parents[2]
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SHIPPED_CONFIG = REPO / "config" / "open_agents.yaml"

EXPECTED: dict[str, list[str]] = {
    # a phrase only that block contains -> patterns its printed output must match (case-insensitive)
    'input="How far is it from Osaka?"': [r"Osaka", r"Kyoto", r"\d+(\.\d+)? km"],
    '"What time is it there?", session_id=first.session_id': [r"Kyoto", r"\b\d{1,2}:\d{2}\b", r"Asia/Tokyo"],
    '"How far is Paris from London and what time is it in Tokyo?"': [
        r"Paris.*London.*\d+(\.\d+)? km", r"Tokyo.*\b\d{1,2}:\d{2}\b",
    ],
    'reply("ada", "t1", "What is my name?")': [r"\bAda\b"],
    'factory.open_session("chitchat", "support-chat", user="bob")': [r"don't know|do not know|not told|haven't told"],
    '"What is 6 * 7?"': [r"\b42\b"],
    '"My name is Quixotl."': [r"Quixotl"],
    'session.recall("12 * 7", limit=3)': [r"^\d+ \['user'", r"84"],
    'input="What is my name?", conversation=conversation.id': [r"\bAda\b", r"Paris.*\b\d{1,2}:\d{2}\b"],
    'Runner.run(agent, "My name is Grace.", session=session)': [r"\bGrace\b"],
}
SERVER_URL = "http://127.0.0.1:8000"
"""Examples that talk to this URL run against a real `asdrp serve` (the README's `ASDRP_API_KEYS=key1:ada`)."""
FORBIDDEN = {
    # what each answer must NOT say: the other question's answer, or the wrong person
    'factory.open_session("chitchat", "support-chat", user="bob")': [r"Alice"],
}


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", path.read_text(encoding="utf-8"), flags=re.S | re.M)


def examples() -> list[Any]:
    found = []
    for path in DOCUMENTS:
        for index, block in enumerate(python_blocks(path)):
            found.append(pytest.param(block, id=f"{path.relative_to(REPO)}#{index + 1}"))
    return found


def test_the_readme_links_only_to_files_in_the_repository() -> None:
    for path in DOCUMENTS:
        for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+://", target) or target.startswith("#"):
                continue
            resolved = (path.parent / target.split("#")[0]).resolve()
            assert resolved.is_relative_to(REPO) and resolved.exists(), f"{path.name} links to {target}"


def test_every_example_has_an_expected_answer() -> None:
    blocks = [param.values[0] for param in examples()]
    assert blocks, "no Python examples found"
    for block in blocks:
        assert any(key in block for key in EXPECTED), f"example has no EXPECTED entry:\n{block}"


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each example as on a fresh clone: its own data directory, the shipped config, the offline model."""
    monkeypatch.setenv("ASDRP_HOME", str(tmp_path))
    monkeypatch.setenv("ASDRP_CONFIG", str(SHIPPED_CONFIG))
    for name in ("OPENAI_API_KEY", "ASDRP_SESSION_URL", "ASDRP_MOE_CONFIG", "ASDRP_SMARTROUTER_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    AgentFactory.reset_instance()
    yield tmp_path
    AgentFactory.reset_instance()


@pytest.fixture(scope="module")
def readme_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The server the `/v1` examples address, started once, on the shipped config, in key mode."""
    server = ServerProcess(
        tmp_path_factory.mktemp("readme-server"), env={"ASDRP_API_KEYS": "key1:ada"}, config=SHIPPED_CONFIG
    ).start()
    yield server
    server.terminate()


@pytest.mark.parametrize("block", examples())
async def test_example_runs_and_answers_its_own_question(
    block: str, isolated: Path, request: pytest.FixtureRequest
) -> None:
    keys = [key for key in EXPECTED if key in block]
    if SERVER_URL in block:  # only the examples that need it start the server
        block = block.replace(SERVER_URL, request.getfixturevalue("readme_server").url)
    code = compile(block, "<example>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        pending = eval(code, {"__name__": "__example__"})
        if pending is not None:
            await pending
    output = printed.getvalue()
    assert output.strip(), "the example prints nothing to check"
    for pattern in (pattern for key in keys for pattern in EXPECTED[key]):
        assert re.search(pattern, output, flags=re.I | re.S | re.M), f"{pattern!r} not in the answer:\n{output}"
    for pattern in (pattern for key in keys for pattern in FORBIDDEN.get(key, [])):
        assert not re.search(pattern, output, flags=re.I | re.S), f"{pattern!r} should not be in:\n{output}"
