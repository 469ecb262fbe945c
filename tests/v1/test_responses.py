"""The Responses API through the official client: turns, follow-ups, chains, forks, streaming."""

from __future__ import annotations

import httpx
import openai
import pytest
from openai import OpenAI

from tests.server.conftest import ServerProcess
from tests.v1.conftest import ALICE_KEY, async_openai_client

ALICE = {"Authorization": f"Bearer {ALICE_KEY}"}

STREAM_ORDER = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


def session_ids(server: ServerProcess) -> set[str]:
    sessions = httpx.get(f"{server.url}/sessions", headers=ALICE, params={"limit": 200}, timeout=30).json()
    return {s["session_id"] for s in sessions["sessions"]}


@pytest.mark.parametrize("model", ["moe", "smartrouter"])
def test_two_turn_follow_up_through_a_conversation(alice: OpenAI, model: str) -> None:
    conversation = alice.conversations.create()
    first = alice.responses.create(model=model, input="My name is Thessaly", conversation=conversation.id)
    assert first.status == "completed" and first.model == model and first.output_text
    second = alice.responses.create(model=model, input="What is my name?", conversation={"id": conversation.id})
    assert "Thessaly" in second.output_text
    assert second.conversation is not None and second.conversation.id == conversation.id
    items = alice.conversations.items.list(conversation.id, order="asc").data
    assert [item.role for item in items] == ["user", "assistant", "user", "assistant"]


@pytest.mark.parametrize("model", ["moe", "smartrouter"])
def test_two_turn_follow_up_through_previous_response_id(alice: OpenAI, model: str) -> None:
    first = alice.responses.create(model=model, input="My favorite color is teal")
    second = alice.responses.create(model=model, input="What is my favorite color?", previous_response_id=first.id)
    assert "teal" in second.output_text
    assert second.previous_response_id == first.id
    third = alice.responses.create(model=model, input="My name is Corvin", previous_response_id=second.id)
    fourth = alice.responses.create(model=model, input="What is my name?", previous_response_id=third.id)
    assert "Corvin" in fourth.output_text


def test_chaining_from_an_older_response_forks_instead_of_rewriting(alice: OpenAI) -> None:
    first = alice.responses.create(model="moe", input="My name is Alder")
    later = alice.responses.create(model="moe", input="My name is Birch", previous_response_id=first.id)
    branch = alice.responses.create(model="moe", input="What is my name?", previous_response_id=first.id)
    assert "Alder" in branch.output_text and "Birch" not in branch.output_text
    on_tip = alice.responses.create(model="moe", input="What is my name?", previous_response_id=later.id)
    assert "Birch" in on_tip.output_text


def test_a_stored_response_can_be_retrieved_and_deleted(alice: OpenAI) -> None:
    created = alice.responses.create(model="chitchat", input="hello", metadata={"k": "v"}, instructions="Be brief.")
    fetched = alice.responses.retrieve(created.id)
    assert fetched.id == created.id and fetched.output_text == created.output_text
    assert fetched.metadata == {"k": "v"} and fetched.instructions == "Be brief."
    assert alice.responses.delete(created.id) is None
    with pytest.raises(openai.NotFoundError):
        alice.responses.retrieve(created.id)


def test_store_false_leaves_no_response_and_no_session(v1_server: ServerProcess, alice: OpenAI) -> None:
    before = session_ids(v1_server)
    created = alice.responses.create(model="moe", input="My name is Nobody", store=False)
    assert created.output_text
    with pytest.raises(openai.NotFoundError):
        alice.responses.retrieve(created.id)
    assert session_ids(v1_server) == before


def test_input_items_before_the_question_join_the_conversation(alice: OpenAI) -> None:
    conversation = alice.conversations.create()
    reply = alice.responses.create(
        model="moe",
        conversation=conversation.id,
        input=[
            {"role": "user", "content": "My name is Ysolde"},
            {"role": "assistant", "content": "Nice to meet you."},
            {"role": "user", "content": [{"type": "input_text", "text": "What is my name?"}]},
        ],
    )
    assert "Ysolde" in reply.output_text
    assert len(alice.conversations.items.list(conversation.id).data) == 4


def test_conversation_and_previous_response_id_together_is_a_bad_request(alice: OpenAI) -> None:
    conversation = alice.conversations.create()
    first = alice.responses.create(model="moe", input="hello")
    with pytest.raises(openai.BadRequestError):
        alice.responses.create(model="moe", input="hi", conversation=conversation.id, previous_response_id=first.id)


def test_streaming_sends_openais_event_order_and_the_deltas_make_the_answer(alice: OpenAI) -> None:
    conversation = alice.conversations.create(items=[{"role": "user", "content": "My name is Marisol"}])
    events = list(alice.responses.create(
        model="moe", input="What is my name?", conversation=conversation.id, stream=True
    ))
    kinds = [event.type for event in events]
    assert [kind for kind in kinds if kind != "response.output_text.delta"] == STREAM_ORDER
    assert kinds.count("response.output_text.delta") >= 1
    assert [event.sequence_number for event in events] == list(range(len(events)))
    text = "".join(event.delta for event in events if event.type == "response.output_text.delta")
    done = next(event for event in events if event.type == "response.output_text.done")
    completed = events[-1].response
    assert text == done.text == completed.output_text and "Marisol" in text
    assert alice.responses.retrieve(completed.id).output_text == text
    assert len(alice.conversations.items.list(conversation.id).data) == 3


async def test_async_client_streams_and_chains(v1_server: ServerProcess) -> None:
    async with async_openai_client(v1_server, ALICE_KEY) as client:
        first = await client.responses.create(model="smartrouter", input="My name is Peregrine")
        stream = await client.responses.create(
            model="smartrouter", input="What is my name?", previous_response_id=first.id, stream=True
        )
        deltas = []
        completed = None
        async for event in stream:
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
            elif event.type == "response.completed":
                completed = event.response
        assert completed is not None and "".join(deltas) == completed.output_text
        assert "Peregrine" in completed.output_text



def test_the_session_of_a_response_is_named_and_listed(v1_server: ServerProcess, alice: OpenAI) -> None:
    raw = alice.responses.with_raw_response.create(model="moe", input="My name is Sorrel")
    session_id = raw.headers["x-asdrp-session-id"]
    assert session_id in session_ids(v1_server)
    follow = alice.responses.with_raw_response.create(
        model="moe", input="What is my name?", previous_response_id=raw.parse().id
    )
    assert follow.headers["x-asdrp-session-id"] == session_id and "Sorrel" in follow.parse().output_text
