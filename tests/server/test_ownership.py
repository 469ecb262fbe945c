"""API keys map to users; a conversation belongs to its user, even when another uses the same id."""

from __future__ import annotations

import httpx
import pytest

from tests.server.conftest import ALICE_KEY, BOB_KEY
from tests.server.test_chat import chat

ALICE = {"X-API-Key": ALICE_KEY}
BOB = {"X-API-Key": BOB_KEY}


@pytest.mark.parametrize("agent", ["chitchat", "moe"])
async def test_bob_can_never_read_continue_or_delete_alices_session(
    keyed_client: httpx.AsyncClient, agent: str
) -> None:
    first = await chat(keyed_client, agent, "My name is Alice Liddell", "shared-id", headers=ALICE)
    assert first.status_code == 200, first.text
    assert (await keyed_client.get("/sessions/shared-id", headers=BOB)).status_code == 404
    assert (await keyed_client.delete("/sessions/shared-id", headers=BOB)).status_code == 404
    assert (await keyed_client.get("/sessions", headers=BOB)).json()["sessions"] == []
    bobs = await chat(keyed_client, agent, "What is my name?", "shared-id", headers=BOB)
    assert bobs.status_code == 200 and bobs.json()["metadata"]["session_id"] == "shared-id"
    assert "Alice" not in bobs.json()["response"]
    alices = await chat(keyed_client, agent, "What is my name?", "shared-id", headers=ALICE)
    assert "Alice" in alices.json()["response"]
    alice_items = (await keyed_client.get("/sessions/shared-id", headers=ALICE)).json()["items"]
    assert sum(1 for item in alice_items if item["role"] == "user") == 2
    bob_items = (await keyed_client.get("/sessions/shared-id", headers=BOB)).json()["items"]
    assert [item["content"] for item in bob_items if item["role"] == "user"] == ["What is my name?"]


async def test_missing_or_unknown_api_key_is_401_in_the_error_shape(keyed_client: httpx.AsyncClient) -> None:
    for headers in ({}, {"X-API-Key": "wrong"}):
        for method, path in (
            ("GET", "/agents"), ("GET", "/sessions"), ("GET", "/sessions/s1"), ("DELETE", "/sessions/s1")
        ):
            response = await keyed_client.request(method, path, headers=headers)
            assert response.status_code == 401, (method, path)
            assert set(response.json()) == {"detail", "error_code"}
        response = await chat(keyed_client, "chitchat", "hello", headers=headers)
        assert response.status_code == 401
    assert (await keyed_client.get("/health")).json()["mode"] == "api_keys"
