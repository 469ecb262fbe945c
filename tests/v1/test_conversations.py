"""The Conversations API with the official client: a conversation is one of the caller's sessions."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from tests.server.conftest import ServerProcess
from tests.v1.conftest import ALICE_KEY

ALICE = {"Authorization": f"Bearer {ALICE_KEY}"}


def texts(items: list[Any]) -> list[str]:
    return ["".join(getattr(part, "text", "") for part in item.content) for item in items]


def test_create_retrieve_update_delete(alice: OpenAI) -> None:
    created = alice.conversations.create(
        items=[{"role": "user", "content": "My name is Quill"}], metadata={"topic": "names"}
    )
    assert created.id.startswith("conv_") and created.metadata == {"topic": "names"}
    assert alice.conversations.retrieve(created.id).metadata == {"topic": "names"}
    updated = alice.conversations.update(created.id, metadata={"topic": "renamed", "n": "2"})
    assert updated.metadata == {"topic": "renamed", "n": "2"}
    assert alice.conversations.retrieve(created.id).metadata == {"topic": "renamed", "n": "2"}
    deleted = alice.conversations.delete(created.id)
    assert deleted.deleted and deleted.id == created.id
    with pytest.raises(openai.NotFoundError):
        alice.conversations.retrieve(created.id)


def test_items_create_list_page_retrieve_and_delete_any(alice: OpenAI) -> None:
    conversation = alice.conversations.create()
    batch = alice.conversations.items.create(
        conversation.id, items=[{"role": "user", "content": f"message {n}"} for n in range(5)]
    )
    assert [item.id for item in batch.data] == [batch.first_id, *[i.id for i in batch.data[1:-1]], batch.last_id]
    ids = [item.id for item in batch.data]
    assert len(set(ids)) == 5

    ascending = alice.conversations.items.list(conversation.id, order="asc", limit=2)
    assert texts(ascending.data) == ["message 0", "message 1"] and ascending.has_more
    assert ascending.first_id == ids[0] and ascending.last_id == ids[1]
    following = alice.conversations.items.list(conversation.id, order="asc", limit=2, after=ascending.last_id)
    assert texts(following.data) == ["message 2", "message 3"]
    every = [item.id for item in alice.conversations.items.list(conversation.id, order="asc", limit=2)]
    assert every == ids  # the client follows has_more / last_id through every page
    newest_first = alice.conversations.items.list(conversation.id, limit=3)
    assert texts(newest_first.data) == ["message 4", "message 3", "message 2"]

    item = alice.conversations.items.retrieve(ids[2], conversation_id=conversation.id)
    assert item.id == ids[2] and texts([item]) == ["message 2"]
    deleted = alice.conversations.items.delete(ids[1], conversation_id=conversation.id)  # a middle item
    assert deleted.id == conversation.id and deleted.object == "conversation"
    listed = alice.conversations.items.list(conversation.id, order="asc")
    assert [i.id for i in listed] == [ids[0], *ids[2:]]  # the others keep their ids
    assert texts(listed.data) == ["message 0", "message 2", "message 3", "message 4"]
    for gone in (
        lambda: alice.conversations.items.retrieve(ids[1], conversation_id=conversation.id),
        lambda: alice.conversations.items.delete(ids[1], conversation_id=conversation.id),
        lambda: alice.conversations.items.delete("item_0_0", conversation_id=conversation.id),
        lambda: alice.conversations.items.delete("item_99_1", conversation_id=conversation.id),
        lambda: alice.conversations.items.delete("msg_1", conversation_id=conversation.id),
    ):
        with pytest.raises(openai.NotFoundError):
            gone()
    alice.conversations.items.delete(ids[4], conversation_id=conversation.id)  # the newest
    assert [i.id for i in alice.conversations.items.list(conversation.id, order="asc")] == [ids[0], ids[2], ids[3]]
    following = alice.conversations.items.list(conversation.id, order="asc", limit=1, after=ids[0])
    assert [i.id for i in following.data] == [ids[2]]  # paging steps over the deleted item
    added = alice.conversations.items.create(conversation.id, items=[{"role": "user", "content": "message 5"}])
    assert added.data[0].id not in ids


def test_an_item_of_another_user_cannot_be_deleted_through_their_own_conversation(alice: OpenAI, bob: OpenAI) -> None:
    mine = alice.conversations.create(items=[{"role": "user", "content": "alice's note"}])
    item_id = alice.conversations.items.list(mine.id).data[0].id
    theirs = bob.conversations.create(items=[{"role": "user", "content": "bob's note"}])
    with pytest.raises(openai.NotFoundError):
        bob.conversations.items.delete(item_id, conversation_id=theirs.id)
    with pytest.raises(openai.NotFoundError):
        bob.conversations.items.delete(item_id, conversation_id=mine.id)
    assert [i.id for i in alice.conversations.items.list(mine.id)] == [item_id]
    assert texts(bob.conversations.items.list(theirs.id).data) == ["bob's note"]


def test_a_conversation_is_a_session_shared_with_our_chat_api(v1_server: ServerProcess, alice: OpenAI) -> None:
    conversation = alice.conversations.create(items=[{"role": "user", "content": "My name is Orrin"}])
    reply = httpx.post(
        f"{v1_server.url}/agents/moe/chat", json={"input": "What is my name?", "session_id": conversation.id},
        headers=ALICE, timeout=60,
    )
    assert reply.status_code == 200 and "Orrin" in reply.json()["response"]
    items = alice.conversations.items.list(conversation.id, order="asc")
    assert texts(items.data) == ["My name is Orrin", "What is my name?", reply.json()["response"]]
    assert [item.role for item in items.data] == ["user", "user", "assistant"]
    sessions = httpx.get(f"{v1_server.url}/sessions", headers=ALICE, timeout=30).json()["sessions"]
    assert conversation.id in [s["session_id"] for s in sessions]
    listed = httpx.get(f"{v1_server.url}/v1/conversations", headers=ALICE, timeout=30).json()
    assert conversation.id in [c["id"] for c in listed["data"]]
    # a session started by our own API is a conversation too
    started = httpx.post(f"{v1_server.url}/agents/moe/chat", json={"input": "hello"}, headers=ALICE, timeout=60)
    session_id = started.json()["metadata"]["session_id"]
    assert len(alice.conversations.items.list(session_id).data) == 2


def test_item_ids_are_stable_between_reads(alice: OpenAI) -> None:
    conversation = alice.conversations.create(items=[{"role": "user", "content": "one"}])
    first = [i.id for i in alice.conversations.items.list(conversation.id)]
    alice.conversations.items.create(conversation.id, items=[{"role": "user", "content": "two"}])
    second = [i.id for i in alice.conversations.items.list(conversation.id, order="asc")]
    assert second[0] == first[0] and len(second) == 2


def test_another_users_conversation_is_not_found_on_every_route(alice: OpenAI, bob: OpenAI) -> None:
    conversation = alice.conversations.create(items=[{"role": "user", "content": "alice's secret"}])
    item_id = alice.conversations.items.list(conversation.id).data[0].id
    response = alice.responses.create(model="chitchat", input="hello there")
    attempts = [
        lambda: bob.conversations.retrieve(conversation.id),
        lambda: bob.conversations.update(conversation.id, metadata={"x": "y"}),
        lambda: bob.conversations.delete(conversation.id),
        lambda: bob.conversations.items.list(conversation.id),
        lambda: bob.conversations.items.create(conversation.id, items=[{"role": "user", "content": "hi"}]),
        lambda: bob.conversations.items.retrieve(item_id, conversation_id=conversation.id),
        lambda: bob.conversations.items.delete(item_id, conversation_id=conversation.id),
        lambda: bob.responses.create(model="moe", input="hi", conversation=conversation.id),
        lambda: bob.responses.retrieve(response.id),
        lambda: bob.responses.delete(response.id),
        lambda: bob.responses.create(model="moe", input="hi", previous_response_id=response.id),
    ]
    for attempt in attempts:
        with pytest.raises(openai.NotFoundError):
            attempt()
    assert texts(alice.conversations.items.list(conversation.id).data) == ["alice's secret"]
    assert alice.responses.retrieve(response.id).id == response.id


def test_deleting_the_session_deletes_the_conversation_its_metadata_and_responses(
    v1_server: ServerProcess, alice: OpenAI
) -> None:
    conversation = alice.conversations.create(metadata={"secret": "plans"})
    response = alice.responses.create(model="moe", input="My name is Hesper", conversation=conversation.id)
    chained = alice.responses.create(model="moe", input="hello")
    deleted = httpx.delete(f"{v1_server.url}/sessions/{conversation.id}", headers=ALICE, timeout=30)
    assert deleted.status_code == 204
    with pytest.raises(openai.NotFoundError):
        alice.conversations.retrieve(conversation.id)
    with pytest.raises(openai.NotFoundError):
        alice.responses.retrieve(response.id)
    assert alice.responses.retrieve(chained.id).id == chained.id  # another conversation's response stays


def test_a_conversation_answered_from_two_stores_pages_as_one_history(v1_server: ServerProcess, alice: OpenAI) -> None:
    conversation = alice.conversations.create()
    alice.responses.create(model="moe", input="My name is Tobiah", conversation=conversation.id)  # moe.db
    specialist = httpx.post(  # the same session id answered by a specialist: agents.db
        f"{v1_server.url}/agents/chitchat/chat", json={"input": "hello", "session_id": conversation.id},
        headers=ALICE, timeout=60,
    )
    assert specialist.status_code == 200
    paged = list(alice.conversations.items.list(conversation.id, order="asc", limit=1))
    whole = alice.conversations.items.list(conversation.id, order="asc", limit=100).data
    assert [i.id for i in paged] == [i.id for i in whole] and len({i.id for i in whole}) == len(whole) >= 4
    assert texts(whole)[:2][0] == "My name is Tobiah" and texts(whole)[2] == "hello"
    assert len({i.id.split("_")[1] for i in whole}) == 2  # two stores
