"""Every caller mistake gets a 4xx in the one error shape, names the problem, and changes nothing stored."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.server.conftest import app_client, settings_for
from tests.server.test_chat import chat

JSON = {"Content-Type": "application/json"}
SEED_AGENTS = ("chitchat", "moe")

BAD_REQUESTS: list[tuple[str, dict[str, Any], int, str, str]] = [
    # (name, request kwargs, status, error_code, text the detail must contain)
    ("unknown agent", {"url": "/agents/nosuch/chat", "json": {"input": "hi"}}, 404, "unknown_agent", "geo"),
    ("session id with slash", {"json": {"input": "hi", "session_id": "a/b"}}, 422, "invalid_session_id", "a/b"),
    ("session id with dots", {"json": {"input": "hi", "session_id": "a..b"}}, 422, "invalid_session_id", "'..'"),
    ("session id too long", {"json": {"input": "hi", "session_id": "x" * 129}}, 422, "invalid_session_id", "128"),
    ("empty session id", {"json": {"input": "hi", "session_id": ""}}, 422, "invalid_session_id", "session id"),
    ("empty input", {"json": {"input": ""}}, 422, "empty_input", "empty"),
    ("blank input", {"json": {"input": "   \n "}}, 422, "empty_input", "empty"),
    ("oversized input", {"json": {"input": "x" * 20_001}}, 413, "input_too_large", "20000"),
    ("missing input", {"json": {"session_id": None}}, 422, "validation_error", "input"),
    ("input not a string", {"json": {"input": 42}}, 422, "validation_error", "input"),
    ("unknown field", {"json": {"input": "hi", "message": "hi"}}, 422, "validation_error", "message"),
    ("body is a list", {"json": ["hi"]}, 422, "validation_error", "JSON object"),
    ("body not JSON", {"content": b"{not json", "headers": JSON}, 400, "invalid_json", "not valid JSON"),
    ("text body", {"content": b"hello", "headers": {"Content-Type": "text/plain"}}, 415, "unsupported_media_type",
     "application/json"),
    ("form body", {"data": {"input": "hi"}}, 415, "unsupported_media_type", "application/json"),
]


async def snapshot(client: httpx.AsyncClient) -> list[Any]:
    listing = (await client.get("/sessions")).json()["sessions"]
    details = [(await client.get(f"/sessions/{s['session_id']}")).json() for s in listing]
    return [listing, details]


@pytest.fixture
async def seeded(client: httpx.AsyncClient) -> httpx.AsyncClient:
    for agent in SEED_AGENTS:
        response = await chat(client, agent, "My name is Zorblax", "existing")
        assert response.status_code == 200
    return client


@pytest.mark.parametrize("stream", [False, True], ids=["chat", "stream"])
@pytest.mark.parametrize(
    ("name", "request_kwargs", "status", "code", "mentions"), BAD_REQUESTS, ids=[r[0] for r in BAD_REQUESTS]
)
async def test_bad_chat_request_is_a_clear_4xx_and_changes_nothing(
    seeded: httpx.AsyncClient,
    stream: bool,
    name: str,
    request_kwargs: dict[str, Any],
    status: int,
    code: str,
    mentions: str,
) -> None:
    before = await snapshot(seeded)
    kwargs = dict(request_kwargs)
    url = kwargs.pop("url", "/agents/chitchat/chat")
    if stream:
        url += "/stream"
    response = await seeded.post(url, **kwargs)
    assert response.status_code == status, response.text
    payload = response.json()
    assert set(payload) == {"detail", "error_code"}
    assert payload["error_code"] == code
    assert mentions in payload["detail"]
    assert "Traceback" not in response.text
    assert await snapshot(seeded) == before


@pytest.mark.parametrize("bad_id", ["a..b", "has space", "x" * 129, "semi;colon"])
async def test_malformed_session_id_in_the_path_is_422(seeded: httpx.AsyncClient, bad_id: str) -> None:
    before = await snapshot(seeded)
    for method in ("GET", "DELETE"):
        response = await seeded.request(method, f"/sessions/{bad_id}")
        assert response.status_code == 422, response.text
        assert response.json()["error_code"] == "invalid_session_id"
    assert await snapshot(seeded) == before


async def test_input_limit_is_configurable(home: Any) -> None:
    async with app_client(settings_for(max_input_chars=10)) as client:
        assert (await chat(client, "chitchat", "x" * 10)).status_code == 200
        response = await chat(client, "chitchat", "x" * 11)
        assert response.status_code == 413 and "limit is 10" in response.json()["detail"]


async def test_unknown_routes_methods_and_bad_paging_use_the_error_shape(seeded: httpx.AsyncClient) -> None:
    missing = await seeded.get("/nothing/here")
    assert missing.status_code == 404 and missing.json()["error_code"] == "not_found"
    wrong_method = await seeded.put("/sessions/existing")
    assert wrong_method.status_code == 405 and wrong_method.json()["error_code"] == "method_not_allowed"
    bad_limit = await seeded.get("/sessions", params={"limit": 0})
    assert bad_limit.status_code == 422 and "limit" in bad_limit.json()["detail"]
    bad_cursor = await seeded.get("/sessions", params={"cursor": "garbage"})
    assert bad_cursor.status_code == 422 and bad_cursor.json()["error_code"] == "invalid_cursor"
    unknown = await seeded.get("/agents/nosuch")
    assert unknown.status_code == 404 and "geo" in unknown.json()["detail"]
