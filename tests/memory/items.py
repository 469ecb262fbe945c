"""Builders of SDK input items (Responses format) for the memory tests."""

from __future__ import annotations

from typing import Any


def user_msg(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def assistant_msg(text: str) -> dict[str, Any]:
    return {
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def call(call_id: str, name: str = "lookup", arguments: str = "{}") -> dict[str, Any]:
    return {"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments}


def output(call_id: str, text: str = "ok") -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": call_id, "output": text}


def tool_turn(n: int) -> list[dict[str, Any]]:
    """A four-item turn: question, tool call, tool result, answer."""
    return [user_msg(f"question {n}"), call(f"c{n}"), output(f"c{n}", f"result {n}"), assistant_msg(f"answer {n}")]


def texts(items: list[dict[str, Any]]) -> list[str]:
    """A short label per item, to compare sequences readably in assertions."""
    labels = []
    for item in items:
        if item.get("role") == "user":
            labels.append(item["content"])
        elif item.get("role") == "assistant":
            labels.append(item["content"][0]["text"])
        else:
            labels.append(f"{item['type']}:{item['call_id']}")
    return labels


def no_orphan_outputs(items: list[dict[str, Any]]) -> bool:
    calls = {item["call_id"] for item in items if item.get("type") == "function_call"}
    return all(item["call_id"] in calls for item in items if item.get("type") == "function_call_output")
