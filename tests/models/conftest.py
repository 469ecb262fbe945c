"""Fixtures for the offline model tests."""

from __future__ import annotations

import pytest

from asdrp.models.offline_rules import arguments
from tests.models.helpers import tiny_place_finder


@pytest.fixture(autouse=True)
def place_finder(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests do not depend on the real gazetteer (another module's data and wording)."""
    monkeypatch.setattr(arguments, "find_place_names", tiny_place_finder)
