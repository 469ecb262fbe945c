"""The `asdrp` console script as a user runs it: a real subprocess on a private ASDRP_HOME."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ASDRP = shutil.which("asdrp", path=str(Path(sys.executable).parent)) or "asdrp"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of one `asdrp` run: the shipped agents YAML, the offline model, no shared store."""
    environment = {**os.environ, "ASDRP_HOME": str(tmp_path), "ASDRP_CONFIG": str(REPO / "config" / "open_agents.yaml")}
    for name in ("OPENAI_API_KEY", "ASDRP_SESSION_URL", "ASDRP_API_KEYS", "ASDRP_WORKERS"):
        environment.pop(name, None)
    return environment


def asdrp(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run `asdrp ARGS` to completion with `stdin`; stdout and stderr captured as text."""
    return subprocess.run(
        [ASDRP, *args], input=stdin, env=env, capture_output=True, text=True, timeout=120, check=False
    )
