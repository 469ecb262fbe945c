"""The sessions API: list (newest first, cursor-paged), read, delete — the caller's own only."""

from __future__ import annotations

import httpx

from tests.server.test_chat import chat


async def test_sessions_list_read_and_delete(client: httpx.AsyncClient) -> None:
    ids = []
    for index, agent in enumerate(["chitchat", "geo", "moe"]):
        response = await chat(client, agent, f"Hello number {index}")
        ids.append(response.json()["metadata"]["session_id"])
    listing = (await client.get("/sessions")).json()
    assert [s["session_id"] for s in listing["sessions"]] == list(reversed(ids))
    assert listing["next_cursor"] is None
    newest = listing["sessions"][0]
    assert newest["agent_id"] == "moe" and newest["title"] == "Hello number 2" and newest["item_count"] >= 2
    assert newest["updated_at"] >= newest["created_at"]

    page1 = (await client.get("/sessions", params={"limit": 2})).json()
    page2 = (await client.get("/sessions", params={"limit": 2, "cursor": page1["next_cursor"]})).json()
    assert [s["session_id"] for s in page1["sessions"] + page2["sessions"]] == list(reversed(ids))
    assert page2["next_cursor"] is None

    detail = (await client.get(f"/sessions/{ids[0]}")).json()
    assert detail["session_id"] == ids[0] and detail["agent_id"] == "chitchat"
    roles = [item["role"] for item in detail["items"]]
    assert roles[0] == "user" and roles[-1] == "assistant"
    assert detail["items"][0]["content"] == "Hello number 0"
    assert {"role", "content", "agent", "created_at"} <= set(detail["items"][0])

    deleted = await client.delete(f"/sessions/{ids[0]}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert (await client.get(f"/sessions/{ids[0]}")).status_code == 404
    assert (await client.delete(f"/sessions/{ids[0]}")).status_code == 404
    assert ids[0] not in [s["session_id"] for s in (await client.get("/sessions")).json()["sessions"]]
    again = await chat(client, "chitchat", "What did I ask first?", ids[0])
    assert "Hello number 0" not in again.json()["response"]


async def test_a_specialist_tool_turn_is_readable_in_the_history(client: httpx.AsyncClient) -> None:
    response = await chat(client, "geo", "Where is Kyoto?")
    session_id = response.json()["metadata"]["session_id"]
    items = (await client.get(f"/sessions/{session_id}")).json()["items"]
    kinds = [item["type"] for item in items]
    assert "function_call" in kinds and "function_call_output" in kinds
    assert items[-1]["role"] == "assistant" and "Kyoto" in items[-1]["content"]
