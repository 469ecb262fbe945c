"""Every tool turns into an SDK function tool whose parameters carry descriptions, because the
offline model picks tools and fills arguments from those names and descriptions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from agents import function_tool

from asdrp.tools import calculator, clock, finance, geo

TOOLS: list[Callable[..., Any]] = [
    geo.geocode, geo.reverse_geocode, geo.distance_between, geo.places_near,
    clock.current_time, clock.convert_time,
    finance.loan_payment, finance.amortization_schedule, finance.compound_growth,
    finance.npv, finance.irr, finance.percentage_change,
    calculator.calculate,
]


@pytest.mark.parametrize("tool", TOOLS, ids=lambda t: t.__name__)
def test_tool_schema_describes_every_parameter(tool: Callable[..., Any]) -> None:
    schema = function_tool(tool)
    assert schema.description
    properties = schema.params_json_schema["properties"]
    assert properties
    assert all(prop.get("description") for prop in properties.values())
