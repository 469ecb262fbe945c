"""Fixtures of the scenario suite: one app on the repository's configuration, a private data root
and a frozen clock, so expected times can be computed in the test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from asdrp.tools import clock
from tests.scenarios.expectations import FROZEN_NOW
from tests.server.conftest import app_client


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """The clock tools read `FROZEN_NOW` (they read the time through `clock._utcnow`)."""
    monkeypatch.setattr(clock, "_utcnow", lambda: FROZEN_NOW)
    return FROZEN_NOW


@pytest.fixture
async def scenario_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          frozen_clock: datetime) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client (ASGI transport) on the configured agents, offline, under tmp_path."""
    monkeypatch.setenv("ASDRP_HOME", str(tmp_path))
    monkeypatch.setenv("ASDRP_MODEL_PROVIDER", "offline")
    for name in ("OPENAI_API_KEY", "ASDRP_SESSION_URL", "ASDRP_API_KEYS", "ASDRP_CONFIG", "ASDRP_BUSY"):
        monkeypatch.delenv(name, raising=False)
    async with app_client() as client:
        yield client
