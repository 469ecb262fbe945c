"""`/v1` turns with an Idempotency-Key, and `/v1` deletes that leave nothing behind, through the official client.

A retry of `POST /v1/responses` or `/v1/chat/completions` with the same key returns the first answer
(same id, same output; as a complete stream when streamed) and stores nothing new, also after a
restart; the same key with another body is a `BadRequestError` naming the key. Deleting a
conversation through `/v1` deletes the orchestrators' side memory and the idempotency records of
its turns too, as `DELETE /sessions/{id}` does.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from asdrp.server.idempotency import IDEMPOTENCY_HEADER, REPLAYED_HEADER, Claim, records_namespace
from asdrp.server.v1.state import records_user
from tests.server.conftest import ServerProcess, app_client
from tests.shared_stores.test_complete_deletion import Namespace, nonzero
from tests.v1.conftest import ALICE_KEY, KEYS_ENV, async_openai_client, openai_client

ALICE = {"Authorization": f"Bearer {ALICE_KEY}"}


def key(name: str) -> dict[str, str]:
    """A fresh Idempotency-Key header (tests share one server, so keys must not collide)."""
    return {IDEMPOTENCY_HEADER: f"{name}-{uuid.uuid4().hex}"}


def session_ids(server: ServerProcess) -> set[str]:
    listed = httpx.get(f"{server.url}/sessions", headers=ALICE, params={"limit": 200}, timeout=30).json()
    return {s["session_id"] for s in listed["sessions"]}


def session_items(server: ServerProcess, session_id: str) -> list[dict[str, Any]]:
    detail = httpx.get(f"{server.url}/sessions/{session_id}", headers=ALICE, timeout=30)
    assert detail.status_code == 200, detail.text
    return detail.json()["items"]


def registry_rows(home: Path, user_id: str, column: str, value: str) -> int:
    """Conversations of the internal namespace `user_id` whose `column` names `value`, in every SQLite file.

    Idempotency records are titled with their conversation's id, `/v1` records carry it as their
    agent id: that is how a delete finds them, and how this test does.
    """
    count = 0
    for path in sorted((home / "data" / "sessions").glob("*.db")):
        with sqlite3.connect(path) as db:
            count += db.execute(
                f"SELECT count(*) FROM sessions WHERE user_id = ? AND {column} = ?", (user_id, value)
            ).fetchone()[0]
    return count


async def test_deleting_a_conversation_through_v1_deletes_its_side_memory_and_idempotency_records(
    v1_server: ServerProcess, v1_home: Path, alice: OpenAI
) -> None:
    kept, doomed = alice.conversations.create().id, alice.conversations.create().id
    for cid in (kept, doomed):
        alice.responses.create(model="moe", input="Where is Kyoto?", conversation=cid, extra_headers=key("geo"))
        alice.responses.create(model="smartrouter", conversation=cid, extra_headers=key("loan"),
                               input="What is the monthly payment on a 200000 loan at 5% over 30 years?")
        ours = httpx.post(f"{v1_server.url}/agents/moe/chat", json={"input": "What time is it there?",
                          "session_id": cid}, headers={**ALICE, **key("ours")}, timeout=60)
        assert ours.status_code == 200, ours.text
    space = Namespace("sqlite", v1_home)
    before = nonzero(await space.records("alice", doomed))
    assert {"moe_tools.db", "smartrouter_tools.db"} <= {family.split(":")[0] for family in before}, before
    assert registry_rows(v1_home, records_namespace("alice"), "title", doomed) == 3  # one per keyed turn
    assert registry_rows(v1_home, records_user("alice"), "agent_id", doomed) >= 2  # its metadata and responses

    assert alice.conversations.delete(doomed).deleted

    assert nonzero(await space.records("alice", doomed)) == {}
    assert registry_rows(v1_home, records_namespace("alice"), "title", doomed) == 0
    assert registry_rows(v1_home, records_user("alice"), "agent_id", doomed) == 0
    assert nonzero(await space.records("alice", kept)) == before, "the other conversation keeps its records"
    assert registry_rows(v1_home, records_namespace("alice"), "title", kept) == 3


def test_a_retried_response_is_the_first_one_and_stores_nothing_new(v1_server: ServerProcess, alice: OpenAI) -> None:
    cid = alice.conversations.create().id
    headers = key("resp")
    first = alice.responses.create(model="moe", input="My name is Thessaly", conversation=cid, extra_headers=headers)
    items = alice.conversations.items.list(cid, order="asc").data

    raw = alice.responses.with_raw_response.create(
        model="moe", input="My name is Thessaly", conversation=cid, extra_headers=headers
    )
    assert raw.headers[REPLAYED_HEADER] == "true"
    again = raw.parse()
    assert again.id == first.id and again.output_text == first.output_text
    assert again.model_dump() == first.model_dump()
    assert alice.conversations.items.list(cid, order="asc").data == items
    assert alice.responses.retrieve(first.id).id == first.id

    with pytest.raises(openai.BadRequestError) as refused:
        alice.responses.create(model="moe", input="My name is Ophelia", conversation=cid, extra_headers=headers)
    assert refused.value.code == "idempotency_key_reused" and IDEMPOTENCY_HEADER in refused.value.message
    with pytest.raises(openai.BadRequestError):  # a streamed request is another request
        alice.responses.create(model="moe", input="My name is Thessaly", conversation=cid, extra_headers=headers,
                               stream=True)
    assert alice.conversations.items.list(cid, order="asc").data == items


def test_a_retried_chained_response_does_not_fork_again(v1_server: ServerProcess, alice: OpenAI) -> None:
    """Chaining from an older response forks a session: the retry must replay, not fork a second one."""
    root = alice.responses.create(model="moe", input="My name is Alder")
    alice.responses.create(model="moe", input="My name is Birch", previous_response_id=root.id)
    headers = key("branch")
    branch = alice.responses.create(model="moe", input="What is my name?", previous_response_id=root.id,
                                    extra_headers=headers)
    sessions = session_ids(v1_server)
    again = alice.responses.create(model="moe", input="What is my name?", previous_response_id=root.id,
                                   extra_headers=headers)
    assert again.id == branch.id and "Alder" in again.output_text
    assert session_ids(v1_server) == sessions


def test_a_streamed_response_is_replayed_as_a_complete_stream(v1_server: ServerProcess, alice: OpenAI) -> None:
    cid = alice.conversations.create().id
    headers = key("stream")
    first = list(alice.responses.create(model="moe", input="Where is Lisbon?", conversation=cid, stream=True,
                                        extra_headers=headers))
    items = alice.conversations.items.list(cid, order="asc").data
    replayed = list(alice.responses.create(model="moe", input="Where is Lisbon?", conversation=cid, stream=True,
                                           extra_headers=headers))
    frame = [event.type for event in first if event.type != "response.output_text.delta"]
    assert [event.type for event in replayed] == [*frame[:4], "response.output_text.delta", *frame[4:]]
    assert [event.sequence_number for event in replayed] == list(range(len(replayed)))
    completed = replayed[-1].response
    assert completed.model_dump() == first[-1].response.model_dump()
    deltas = "".join(event.delta for event in replayed if event.type == "response.output_text.delta")
    assert deltas == completed.output_text and "Lisbon" in deltas
    assert alice.conversations.items.list(cid, order="asc").data == items


async def test_a_retry_storm_answers_once(v1_server: ServerProcess, alice: OpenAI) -> None:
    cid = alice.conversations.create().id
    headers = key("storm")
    async with async_openai_client(v1_server, ALICE_KEY) as client:
        responses = await asyncio.gather(*(
            client.responses.create(model="moe", input="Where is Kyoto?", conversation=cid, extra_headers=headers)
            for _ in range(8)
        ))
    assert len({response.id for response in responses}) == 1
    assert [item.role for item in alice.conversations.items.list(cid, order="asc").data] == ["user", "assistant"]


def test_a_retried_chat_completion_is_the_first_one_and_never_forks(v1_server: ServerProcess, alice: OpenAI) -> None:
    chat_id = str(uuid.uuid4())
    headers = {"X-OpenWebUI-Chat-Id": chat_id, **key("chat")}
    messages = [{"role": "user", "content": "My name is Ingrid"}]
    raw = alice.chat.completions.with_raw_response.create(model="moe", messages=messages, extra_headers=headers)
    first, session_id = raw.parse(), raw.headers["x-asdrp-session-id"]
    items, sessions = session_items(v1_server, session_id), session_ids(v1_server)

    # without the key this resent request would be a fork (the stored session holds the answer by now)
    retried = alice.chat.completions.with_raw_response.create(model="moe", messages=messages, extra_headers=headers)
    assert retried.headers[REPLAYED_HEADER] == "true" and "x-asdrp-forked-from" not in retried.headers
    assert retried.parse().model_dump() == first.model_dump()
    assert session_items(v1_server, session_id) == items and session_ids(v1_server) == sessions

    with pytest.raises(openai.BadRequestError) as refused:
        alice.chat.completions.create(model="moe", messages=[{"role": "user", "content": "My name is Olga"}],
                                      extra_headers=headers)
    assert refused.value.code == "idempotency_key_reused"
    assert session_items(v1_server, session_id) == items


def test_a_streamed_chat_completion_is_replayed_as_chunks(v1_server: ServerProcess, alice: OpenAI) -> None:
    """Stateless (no chat id): nothing is stored, the first time or on the retry, yet the retry replays."""
    headers = key("chunks")
    messages = [{"role": "user", "content": "Where is Lima?"}]
    sessions = session_ids(v1_server)
    first = list(alice.chat.completions.create(model="moe", messages=messages, stream=True, extra_headers=headers))
    replayed = list(alice.chat.completions.create(model="moe", messages=messages, stream=True, extra_headers=headers))
    assert {chunk.id for chunk in replayed} == {first[0].id}
    assert replayed[0].choices[0].delta.role == "assistant" and replayed[-1].choices[0].finish_reason == "stop"
    text = "".join(chunk.choices[0].delta.content or "" for chunk in first)
    assert "".join(chunk.choices[0].delta.content or "" for chunk in replayed) == text and "Lima" in text
    assert session_ids(v1_server) == sessions


def test_a_retry_after_a_restart_replays_the_first_answer(tmp_path: Path) -> None:
    headers, chat_headers = key("restart"), key("restart-chat")
    first_server = ServerProcess(tmp_path, env=KEYS_ENV).start()
    try:
        with openai_client(first_server, ALICE_KEY) as client:
            cid = client.conversations.create().id
            response = client.responses.create(model="moe", input="My name is Ada", conversation=cid,
                                               extra_headers=headers)
            completion = client.chat.completions.create(
                model="chitchat", messages=[{"role": "user", "content": "My name is Ada"}], extra_headers=chat_headers
            )
            items = client.conversations.items.list(cid, order="asc").data
    finally:
        assert first_server.terminate() == 0

    second_server = ServerProcess(tmp_path, env=KEYS_ENV).start()
    try:
        with openai_client(second_server, ALICE_KEY) as client:
            again = client.responses.with_raw_response.create(model="moe", input="My name is Ada", conversation=cid,
                                                              extra_headers=headers)
            assert again.headers[REPLAYED_HEADER] == "true"
            assert again.parse().model_dump() == response.model_dump()
            repeated = client.chat.completions.create(
                model="chitchat", messages=[{"role": "user", "content": "My name is Ada"}], extra_headers=chat_headers
            )
            assert repeated.model_dump() == completion.model_dump()
            assert client.conversations.items.list(cid, order="asc").data == items
    finally:
        second_server.terminate()


async def test_a_turn_stored_before_a_crash_is_replayed_not_answered_again(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process fails after the turn is stored and before its answer is recorded: the retry finds
    the turn in the conversation and answers with it (a response of a new id: the first never reached
    the client), and the conversation holds the turn once."""
    original = Claim.complete

    async def crash(self: Claim, status: int, body: dict[str, Any]) -> None:
        raise RuntimeError("killed between the turn and its record")

    async with app_client() as http:
        client = AsyncOpenAI(base_url="http://127.0.0.1/v1", api_key="local", http_client=http, max_retries=0)
        cid = (await client.conversations.create()).id
        headers = key("crash")
        monkeypatch.setattr(Claim, "complete", crash)
        with pytest.raises(openai.InternalServerError):
            await client.responses.create(model="moe", input="Remember the code 4711", conversation=cid,
                                          extra_headers=headers)
        items = (await client.conversations.items.list(cid, order="asc")).data
        assert [item.role for item in items] == ["user", "assistant"]

        monkeypatch.setattr(Claim, "complete", original)
        raw = await client.responses.with_raw_response.create(
            model="moe", input="Remember the code 4711", conversation=cid, extra_headers=headers
        )
        assert raw.headers[REPLAYED_HEADER] == "true"
        assert raw.parse().output_text == items[-1].content[0].text
        assert (await client.conversations.items.list(cid, order="asc")).data == items
