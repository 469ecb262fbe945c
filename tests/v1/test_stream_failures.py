"""A turn that fails while streaming ends `/v1` streams the OpenAI way: `response.failed`, an error chunk.

In-process, with a responder that says a few words and then fails; a turn that fails before any
output is a real status instead (409 for a busy conversation), like our own stream route.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from asdrp.memory.errors import SessionBusyError
from asdrp.orchestration.base import RouteResult, StreamEvent
from tests.server.conftest import FakeCatalog, app_client, settings_for


class FailingResponder:
    """Streams two words, then fails (or, with `busy`, fails before any output as a busy conversation)."""

    agent_id = "gated"

    def __init__(self, busy: bool = False) -> None:
        self.busy = busy

    async def route_query(self, query: str, session_id: str | None = None, user: str | None = None) -> RouteResult:
        raise RuntimeError("secret internal detail")

    async def stream_query(
        self, query: str, session_id: str | None = None, user: str | None = None
    ) -> AsyncIterator[StreamEvent]:
        if self.busy:
            error = SessionBusyError("busy")
            yield StreamEvent("error", str(error), exception=error)
            return
        yield StreamEvent("token", "Half ")
        yield StreamEvent("token", "an answer")
        yield StreamEvent("error", "RuntimeError: secret internal detail", exception=RuntimeError("secret"))


def catalog_with(responder: FailingResponder) -> FakeCatalog:
    catalog = FakeCatalog()
    catalog.responder = responder  # type: ignore[assignment]
    return catalog


def events(body: str) -> list[dict[str, Any]]:
    return [json.loads(line[len("data: "):]) for line in body.splitlines() if line.startswith("data: {")]


async def test_a_failed_stream_ends_with_error_and_response_failed(home: Path) -> None:
    async with app_client(settings_for(), catalog=catalog_with(FailingResponder())) as client:
        reply = await client.post("/v1/responses", json={"model": "gated", "input": "hi", "stream": True})
        assert reply.status_code == 200
        kinds = [event["type"] for event in events(reply.text)]
        assert kinds[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                             "response.content_part.added"]
        assert kinds[-2:] == ["error", "response.failed"] and kinds.count("response.output_text.delta") == 2
        failed = events(reply.text)[-1]["response"]
        assert failed["status"] == "failed" and "secret" not in json.dumps(failed)
        assert failed["error"]["code"] == "internal_error"


async def test_a_failed_chat_completion_stream_ends_with_an_error_chunk(home: Path) -> None:
    async with app_client(settings_for(), catalog=catalog_with(FailingResponder())) as client:
        reply = await client.post("/v1/chat/completions", json={
            "model": "gated", "stream": True, "messages": [{"role": "user", "content": "hi"}]})
        chunks = events(reply.text)
        assert chunks[-1]["error"]["code"] == "internal_error" and "[DONE]" not in reply.text


async def test_a_busy_conversation_before_any_output_is_a_409_in_openai_shape(home: Path) -> None:
    async with app_client(settings_for(), catalog=catalog_with(FailingResponder(busy=True))) as client:
        for path, body in (("/v1/responses", {"model": "gated", "input": "hi", "stream": True}),
                           ("/v1/chat/completions", {"model": "gated", "stream": True,
                                                     "messages": [{"role": "user", "content": "hi"}]})):
            reply = await client.post(path, json=body)
            assert reply.status_code == 409
            assert reply.json()["error"]["code"] == "session_busy"
            assert reply.json()["error"]["type"] == "conflict_error"


async def test_a_failed_turn_is_a_500_without_internal_detail(home: Path) -> None:
    async with app_client(settings_for(), catalog=catalog_with(FailingResponder())) as client:
        reply = await client.post("/v1/responses", json={"model": "gated", "input": "hi"})
        assert reply.status_code == 500
        assert reply.json()["error"]["type"] == "server_error" and "secret" not in reply.text
