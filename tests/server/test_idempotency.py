"""Idempotent turns: a retry with the same Idempotency-Key returns the first answer and stores nothing new
(storms, restarts, a locked side file, a crash between the turn and its record); a reused key is 422."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from asdrp.server.idempotency import IDEMPOTENCY_HEADER, REPLAYED_HEADER, Claim
from tests.server.conftest import ServerProcess, app_client, parse_sse


async def history(client: httpx.AsyncClient, session_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/sessions/{session_id}")
    assert response.status_code == 200, response.text
    return response.json()["items"]


def without_timing(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "metadata": {k: v for k, v in body["metadata"].items() if k != "duration_ms"}}


async def test_a_retry_returns_the_first_answer_and_stores_nothing_new(client: httpx.AsyncClient) -> None:
    headers = {IDEMPOTENCY_HEADER: "turn-1"}
    first = await client.post("/agents/chitchat/chat", json={"input": "My name is Zorblax"}, headers=headers)
    assert first.status_code == 200, first.text
    session_id = first.json()["metadata"]["session_id"]
    items = await history(client, session_id)

    again = await client.post("/agents/chitchat/chat", json={"input": "My name is Zorblax"}, headers=headers)
    assert again.status_code == 200 and again.headers[REPLAYED_HEADER] == "true"
    assert again.json() == first.json()
    assert await history(client, session_id) == items

    other = await client.post("/agents/chitchat/chat", json={"input": "Something else"}, headers=headers)
    assert other.status_code == 422 and other.json()["error_code"] == "idempotency_key_reused"
    elsewhere = await client.post("/agents/geo/chat", json={"input": "My name is Zorblax"}, headers=headers)
    assert elsewhere.status_code == 422
    bad = await client.post("/agents/chitchat/chat", json={"input": "hi"}, headers={IDEMPOTENCY_HEADER: "x" * 300})
    assert bad.status_code == 422
    assert await history(client, session_id) == items

    # without a key every request is a new turn, as before
    plain = await client.post("/agents/chitchat/chat", json={"input": "hello", "session_id": session_id})
    assert plain.status_code == 200 and REPLAYED_HEADER not in plain.headers
    assert len(await history(client, session_id)) > len(items)


async def test_a_streamed_turn_is_replayed_as_a_stream(client: httpx.AsyncClient) -> None:
    headers = {IDEMPOTENCY_HEADER: "stream-1"}
    body = {"input": "My favourite colour is teal", "session_id": "streamed"}
    first = parse_sse((await client.post("/agents/moe/chat/stream", json=body, headers=headers)).text)
    items = await history(client, "streamed")
    replayed = await client.post("/agents/moe/chat/stream", json=body, headers=headers)
    assert replayed.status_code == 200 and replayed.headers[REPLAYED_HEADER] == "true"
    events = parse_sse(replayed.text)
    assert [e["type"] for e in events] == ["metadata", "token", "done"]
    assert events[-1]["content"] == first[-1]["content"]
    assert events[-1]["metadata"]["session_id"] == "streamed" == events[0]["metadata"]["session_id"]
    assert await history(client, "streamed") == items


async def test_a_retry_storm_answers_once(client: httpx.AsyncClient) -> None:
    headers = {IDEMPOTENCY_HEADER: "storm"}
    responses = await asyncio.gather(*(
        client.post("/agents/moe/chat", json={"input": "Where is Kyoto?"}, headers=headers) for _ in range(16)
    ))
    assert {r.status_code for r in responses} == {200}
    answers = {r.json()["response"] for r in responses}
    sessions = {r.json()["metadata"]["session_id"] for r in responses}
    assert len(answers) == 1 and len(sessions) == 1
    items = await history(client, sessions.pop())
    assert [item["content"] for item in items if item["role"] == "user"] == ["Where is Kyoto?"]
    assert sum(REPLAYED_HEADER in r.headers for r in responses) == 15


async def test_a_turn_stored_before_a_crash_is_replayed_not_answered_again(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process dies after the transcript is written and before the answer is recorded: the
    client sees a failure, and its retry finds the turn in the transcript."""
    original = Claim.complete

    async def crash(self: Claim, status: int, body: dict[str, Any]) -> None:
        raise RuntimeError("killed between the turn and its record")

    monkeypatch.setattr(Claim, "complete", crash)
    body = {"input": "Remember that the code is 4711", "session_id": "crashy"}
    headers = {IDEMPOTENCY_HEADER: "crash-1"}
    failed = await client.post("/agents/moe/chat", json=body, headers=headers)
    assert failed.status_code == 500
    items = await history(client, "crashy")
    assert [item["content"] for item in items if item["role"] == "user"] == [body["input"]]

    monkeypatch.setattr(Claim, "complete", original)
    retried = await client.post("/agents/moe/chat", json=body, headers=headers)
    assert retried.status_code == 200 and retried.headers[REPLAYED_HEADER] == "true"
    assert retried.json()["response"] == items[-1]["content"]
    assert retried.json()["metadata"]["session_id"] == "crashy"
    assert await history(client, "crashy") == items


async def test_a_locked_side_file_does_not_fail_a_stored_turn(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """moe_tools.db locked by another process: the transcript is written, so the turn is answered
    (200), and a retry with its key replays it: the conversation holds it once."""
    monkeypatch.setattr("asdrp.memory.stores.sqlite.BUSY_TIMEOUT_MS", 200)
    async with app_client() as client:
        warm = await client.post("/agents/moe/chat", json={"input": "Where is Kyoto?", "session_id": "warm"})
        assert warm.status_code == 200
        tools_db = home / "data" / "sessions" / "moe_tools.db"
        assert tools_db.exists()
        locker = sqlite3.connect(tools_db, isolation_level=None, timeout=0)
        locker.execute("BEGIN IMMEDIATE")
        try:
            body = {"input": "Where is Lima?", "session_id": "locked"}
            headers = {IDEMPOTENCY_HEADER: "locked-1"}
            first = await client.post("/agents/moe/chat", json=body, headers=headers)
            assert first.status_code == 200, first.text
            retried = await client.post("/agents/moe/chat", json=body, headers=headers)
            assert retried.status_code == 200 and retried.json() == first.json()
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        items = await history(client, "locked")
        assert [item["content"] for item in items if item["role"] == "user"] == ["Where is Lima?"]


def test_a_retry_after_a_restart_replays_the_first_answer(server_process: Callable[..., ServerProcess]) -> None:
    headers = {IDEMPOTENCY_HEADER: "restart-1"}
    first_server = server_process()
    first = httpx.post(f"{first_server.url}/agents/chitchat/chat", json={"input": "My name is Ada"},
                       headers=headers, timeout=60)
    assert first.status_code == 200, first.text
    session_id = first.json()["metadata"]["session_id"]
    assert first_server.terminate() == 0

    second_server = server_process()
    items = httpx.get(f"{second_server.url}/sessions/{session_id}", timeout=30).json()["items"]
    again = httpx.post(f"{second_server.url}/agents/chitchat/chat", json={"input": "My name is Ada"},
                       headers=headers, timeout=60)
    assert again.status_code == 200 and again.headers[REPLAYED_HEADER] == "true"
    assert without_timing(again.json()) == without_timing(first.json())
    assert httpx.get(f"{second_server.url}/sessions/{session_id}", timeout=30).json()["items"] == items


async def test_deleting_the_conversation_forgets_its_keys(client: httpx.AsyncClient) -> None:
    headers = {IDEMPOTENCY_HEADER: "forget-1"}
    body = {"input": "My name is Zorblax", "session_id": "forgotten"}
    assert (await client.post("/agents/chitchat/chat", json=body, headers=headers)).status_code == 200
    assert (await client.delete("/sessions/forgotten")).status_code == 204
    again = await client.post("/agents/chitchat/chat", json=body, headers=headers)
    assert again.status_code == 200 and REPLAYED_HEADER not in again.headers  # answered anew: nothing kept


def test_a_server_killed_mid_turn_then_retried_stores_the_turn_once(
    home: Path, server_process: Callable[..., ServerProcess]
) -> None:
    """kill -9 while the turn is being answered: the key's record stays pending; after a restart the
    retry finds no stored turn, answers it, and a second retry replays that answer."""
    import signal
    import threading

    from tests.server.test_process import slow_config

    config = slow_config(home)
    headers = {IDEMPOTENCY_HEADER: "killed-1"}
    body = {"input": "My name is Zorblax", "session_id": "killed"}
    first = server_process(config=config, env={"ASDRP_TEST_SLOW_S": "30"})

    def doomed() -> None:
        try:
            httpx.post(f"{first.url}/agents/slow/chat", json=body, headers=headers, timeout=60)
        except httpx.HTTPError:
            pass  # the server dies under it

    thread = threading.Thread(target=doomed)
    thread.start()
    for _ in range(500):
        if "asdrp_active_turns 1.0" in httpx.get(f"{first.url}/metrics", timeout=10).text:
            break
        threading.Event().wait(0.02)
    assert first.process is not None
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(30)
    thread.join(60)

    second = server_process(config=config, env={"ASDRP_TEST_SLOW_S": "0"})
    answered = httpx.post(f"{second.url}/agents/slow/chat", json=body, headers=headers, timeout=60)
    assert answered.status_code == 200 and REPLAYED_HEADER not in answered.headers, answered.text
    replayed = httpx.post(f"{second.url}/agents/slow/chat", json=body, headers=headers, timeout=60)
    assert replayed.status_code == 200 and replayed.headers[REPLAYED_HEADER] == "true"
    assert replayed.json()["response"] == answered.json()["response"]
    items = httpx.get(f"{second.url}/sessions/killed", timeout=30).json()["items"]
    assert [item["content"] for item in items if item["role"] == "user"] == [body["input"]]


@pytest.mark.parametrize("key", ["caf\u00e9", "tab\there", "\x7f", "x" * 256])
async def test_a_malformed_key_is_refused_and_nothing_is_stored(client: httpx.AsyncClient, key: str) -> None:
    """Printable ASCII, at most 255 characters: anything else is named as the problem, not answered."""
    body = {"input": "My name is Zorblax", "session_id": "malformed-key"}
    response = await client.post(
        "/agents/chitchat/chat", json=body, headers=[(IDEMPOTENCY_HEADER.encode(), key.encode("latin-1"))]
    )
    assert response.status_code == 422, response.text
    assert IDEMPOTENCY_HEADER in response.json()["detail"] or "idempotency" in response.text.lower()
    assert (await client.get("/sessions/malformed-key")).status_code == 404
