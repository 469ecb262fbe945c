"""Helpers for the offline model tests: small local tools, a tiny place finder, input builders.

The tools here are deliberately not asdrp.tools: these tests prove the model's rules, not the
real tools, and must not change when those tools' wording does.
"""

from __future__ import annotations

import re
from typing import Any

from agents import Agent, FunctionTool, ModelSettings, Runner, function_tool
from agents.items import ModelResponse
from agents.models.interface import ModelTracing
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage

from asdrp.models import OfflineModel

KNOWN_PLACES = ("Times Square", "New York", "Kyoto", "Paris", "London", "Tokyo", "Berlin")


def tiny_place_finder(text: str) -> list[str]:
    """Known places in order of appearance, longest first at a position (like the gazetteer)."""
    hits = []
    for place in sorted(KNOWN_PLACES, key=len, reverse=True):
        for match in re.finditer(rf"\b{re.escape(place)}\b", text):
            if not any(start <= match.start() < end for start, end, _ in hits):
                hits.append((match.start(), match.end(), place))
    return [place for _, _, place in sorted(hits)]


def loan_payment(principal: float, annual_rate_percent: float, years: int,
                 payments_per_year: int = 12) -> dict[str, Any]:
    """Monthly payment of a fixed-rate loan.

    Args:
        principal: the amount borrowed
        annual_rate_percent: annual interest rate in percent, e.g. 5 for 5%
        years: loan term in years
        payments_per_year: payments per year, 12 for monthly
    """
    return {"summary": f"LOAN principal={principal} rate={annual_rate_percent} years={years}",
            "payment": 1.0}


def compound_growth(principal: float, annual_rate_percent: float, years: int) -> dict[str, Any]:
    """How an investment grows with compound interest.

    Args:
        principal: the starting investment
        annual_rate_percent: yearly growth rate in percent
        years: how many years it grows
    """
    return {"summary": f"GROWTH principal={principal} rate={annual_rate_percent} years={years}"}


def geocode(place: str) -> dict[str, Any]:
    """Find where a place is: its coordinates, country and population.

    Args:
        place: the place name, e.g. Kyoto
    """
    return {"summary": f"{place} is a city at 1°N, 2°E."}


def current_time(place: str) -> dict[str, Any]:
    """The current local time in a place.

    Args:
        place: the city or place name
    """
    return {"summary": f"It is 14:05 in {place}."}


def calculate(expression: str) -> dict[str, Any]:
    """Evaluate an arithmetic expression.

    Args:
        expression: the arithmetic expression, e.g. 2 + 2
    """
    return {"summary": f"{expression} = 4"}


def failing_lookup(place: str) -> dict[str, Any]:
    """Look up the weather forecast for a place.

    Args:
        place: the place name
    """
    raise ValueError(f"no forecast data for {place!r}")


def tools(*functions: Any) -> list[FunctionTool]:
    return [function_tool(f) for f in functions]


FINANCE = tools(loan_payment, compound_growth)
GEO_CLOCK = tools(geocode, current_time)
ALL = tools(loan_payment, compound_growth, geocode, current_time, calculate)


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "assistant", "status": "completed",
            "id": "msg_x", "content": [{"type": "output_text", "text": text, "annotations": []}]}


def call(name: str, arguments: str, call_id: str = "call_1") -> dict[str, Any]:
    return {"type": "function_call", "name": name, "arguments": arguments, "call_id": call_id}


def output(text: str, call_id: str = "call_1") -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": call_id, "output": text}


async def respond(input_: str | list[Any], tool_list: list[FunctionTool] | None = None,
                  instructions: str | None = "You are a test assistant. Be brief.") -> ModelResponse:
    """Drive the offline model directly, as the runner would."""
    return await OfflineModel().get_response(
        instructions, input_, ModelSettings(), list(tool_list or []), None, [],
        ModelTracing.DISABLED, previous_response_id=None, conversation_id=None, prompt=None)


def reply_text(response: ModelResponse) -> str:
    [item] = response.output
    assert isinstance(item, ResponseOutputMessage), f"expected text, got {item!r}"
    return "".join(part.text for part in item.content)  # type: ignore[union-attr]


def tool_call(response: ModelResponse) -> ResponseFunctionToolCall:
    [item] = response.output
    assert isinstance(item, ResponseFunctionToolCall), f"expected a tool call, got {item!r}"
    return item


def agent(tool_list: list[FunctionTool] | None = None, instructions: str = "You are a test assistant.") -> Agent:
    return Agent(name="Tester", instructions=instructions, model=OfflineModel(), tools=list(tool_list or []))


async def converse(an_agent: Agent, messages: list[str]) -> tuple[list[str], list[Any]]:
    """Run a multi-turn conversation through Runner.run; return the answers and the final items."""
    items: list[Any] = []
    answers = []
    for message in messages:
        result = await Runner.run(an_agent, items + [user(message)])
        answers.append(str(result.final_output))
        items = result.to_input_list()
    return answers, items


def calls_in(items: list[Any]) -> list[dict[str, Any]]:
    return [i for i in items if isinstance(i, dict) and i.get("type") == "function_call"]
