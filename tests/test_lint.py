"""The repository passes `ruff check` with the configuration in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_ruff_check_is_clean() -> None:
    ruff = Path(sys.executable).parent / "ruff"
    assert ruff.exists(), f"ruff is not installed next to {sys.executable} (it is in the test extra)"
    done = subprocess.run([str(ruff), "check", "."], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"ruff check failed:\n{done.stdout}{done.stderr}"
