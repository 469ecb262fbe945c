"""Chat Completions as Open WebUI and LibreChat use it: the whole history resent every turn."""

from __future__ import annotations

import uuid

import httpx
from openai import OpenAI

from tests.server.conftest import ServerProcess
from tests.v1.conftest import ALICE_KEY

ALICE = {"Authorization": f"Bearer {ALICE_KEY}"}


def session_items(server: ServerProcess, session_id: str, headers: dict[str, str] = ALICE) -> list[tuple[str, str]]:
    detail = httpx.get(f"{server.url}/sessions/{session_id}", headers=headers, timeout=30)
    assert detail.status_code == 200, detail.text
    return [(item["role"], item["content"]) for item in detail.json()["items"]]


def session_ids(server: ServerProcess, headers: dict[str, str] = ALICE) -> set[str]:
    listed = httpx.get(f"{server.url}/sessions", headers=headers, params={"limit": 200}, timeout=30).json()
    return {s["session_id"] for s in listed["sessions"]}


def ask(client: OpenAI, messages: list[dict[str, str]], chat_id: str) -> tuple[str, dict[str, str]]:
    raw = client.chat.completions.with_raw_response.create(
        model="moe", messages=messages, extra_headers={"X-OpenWebUI-Chat-Id": chat_id}
    )
    completion = raw.parse()
    return completion.choices[0].message.content or "", dict(raw.headers)


def test_without_a_conversation_id_a_request_is_stateless(v1_server: ServerProcess, alice: OpenAI) -> None:
    before = session_ids(v1_server)
    completion = alice.chat.completions.create(
        model="moe",
        messages=[
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "My name is Tamsin"},
            {"role": "assistant", "content": "Hello Tamsin."},
            {"role": "user", "content": "What is my name?"},
        ],
    )
    assert completion.object == "chat.completion" and "Tamsin" in completion.choices[0].message.content
    assert completion.choices[0].finish_reason == "stop"
    assert session_ids(v1_server) == before


def test_open_webui_flow_stores_a_resent_history_once_and_forks_an_edited_one(
    v1_server: ServerProcess, alice: OpenAI
) -> None:
    chat_id = str(uuid.uuid4())
    first, headers = ask(alice, [{"role": "user", "content": "My name is Ingrid"}], chat_id)
    session_id = headers["x-asdrp-session-id"]
    history = [{"role": "user", "content": "My name is Ingrid"}, {"role": "assistant", "content": first}]
    second, headers = ask(alice, [*history, {"role": "user", "content": "What is my name?"}], chat_id)
    assert "Ingrid" in second and headers["x-asdrp-session-id"] == session_id
    assert "x-asdrp-forked-from" not in headers
    stored = session_items(v1_server, session_id)
    assert [role for role, _ in stored] == ["user", "assistant", "user", "assistant"]  # the history once

    edited = [{"role": "user", "content": "My name is Ottilie"}, {"role": "assistant", "content": first}]
    third, headers = ask(alice, [*edited, {"role": "user", "content": "What is my name?"}], chat_id)
    fork = headers["x-asdrp-session-id"]
    assert fork != session_id and headers["x-asdrp-forked-from"] == session_id
    assert "Ottilie" in third
    assert session_items(v1_server, session_id) == stored  # the original is untouched
    assert [text for _, text in session_items(v1_server, fork)][:1] == ["My name is Ottilie"]

    # continuing either branch finds its own session again
    back, headers = ask(alice, [*history, {"role": "user", "content": "What is my name?"},
                                {"role": "assistant", "content": second},
                                {"role": "user", "content": "Say my name again"}], chat_id)
    assert headers["x-asdrp-session-id"] == session_id


def test_conversation_id_from_the_configurable_header_and_from_metadata(
    v1_server: ServerProcess, alice: OpenAI
) -> None:
    for extra in ({"extra_headers": {"X-Conversation-Id": f"lc-{uuid.uuid4().hex}"}},
                  {"metadata": {"conversation_id": f"md-{uuid.uuid4().hex}"}}):
        raw = alice.chat.completions.with_raw_response.create(
            model="chitchat", messages=[{"role": "user", "content": "My name is Leopold"}], **extra
        )
        session_id = raw.headers["x-asdrp-session-id"]
        assert len(session_items(v1_server, session_id)) == 2


def test_streamed_chunks_end_with_done_and_make_the_answer(v1_server: ServerProcess, alice: OpenAI) -> None:
    chat_id = str(uuid.uuid4())
    chunks = list(alice.chat.completions.create(
        model="moe", messages=[{"role": "user", "content": "Where is Lisbon?"}], stream=True,
        extra_headers={"X-OpenWebUI-Chat-Id": chat_id},
    ))
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert "Lisbon" in text
    with httpx.stream("POST", f"{v1_server.url}/v1/chat/completions", headers=ALICE, timeout=60,
                      json={"model": "moe", "stream": True, "messages": [{"role": "user", "content": "hi"}]}) as raw:
        body = "".join(raw.iter_text())
    assert body.rstrip().endswith("data: [DONE]")


def test_a_trusted_forwarded_user_header_names_the_user(v1_server: ServerProcess, alice: OpenAI) -> None:
    chat_id = str(uuid.uuid4())
    raw = alice.chat.completions.with_raw_response.create(
        model="moe", messages=[{"role": "user", "content": "My name is Carys"}],
        extra_headers={"X-OpenWebUI-Chat-Id": chat_id, "X-Forwarded-User": "carys"},
    )
    session_id = raw.headers["x-asdrp-session-id"]
    assert session_id not in session_ids(v1_server)  # not alice's
    missing = httpx.get(f"{v1_server.url}/sessions/{session_id}", headers=ALICE, timeout=30)
    assert missing.status_code == 404
