"""`/v1/conversations` and its items, with OpenAI's shapes; a conversation is one of the caller's sessions.

Its items are the session's history in every store that holds it (what `GET /sessions/{id}`
shows), so turns through `/agents/{id}/chat` and through `/v1` are one history. Items a client
adds go to the store that holds the conversation's latest turn (the orchestrators' store for a new
one). Any item can be deleted, as with OpenAI; every other item keeps its id (a store deletes in
place, it never renumbers). Beyond OpenAI, `GET /v1/conversations` lists the caller's conversations.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict

from asdrp.memory import ConversationKey, SessionStore
from asdrp.server.auth import current_user
from asdrp.server.errors import ApiError
from asdrp.server.v1.deps import CONVERSATION, conversation_object, find_conversation, get_state
from asdrp.server.v1.items import input_items, render_item
from asdrp.server.v1.state import TaggedItem, V1State, parse_item_id

router = APIRouter(prefix="/v1", tags=["v1 conversations"])

MAX_ITEMS_PER_REQUEST = 20
"""OpenAI's limit on the items one create call adds."""
METADATA_PAIRS, METADATA_KEY_CHARS, METADATA_VALUE_CHARS = 16, 64, 512


class ConversationCreate(BaseModel):
    model_config = ConfigDict(extra="allow")

    items: list[Any] | None = None
    metadata: dict[str, Any] | None = None


class ConversationUpdate(BaseModel):
    model_config = ConfigDict(extra="allow")

    metadata: dict[str, Any] | None


class ItemsCreate(BaseModel):
    model_config = ConfigDict(extra="allow")

    items: list[Any]


def checked_metadata(metadata: dict[str, Any] | None) -> dict[str, str]:
    """OpenAI's metadata rule: at most 16 string pairs, keys <= 64 and values <= 512 characters."""
    if metadata is None:
        return {}
    if len(metadata) > METADATA_PAIRS:
        raise ApiError(400, "invalid_metadata", f"metadata holds {len(metadata)} pairs; at most {METADATA_PAIRS}.")
    for key, value in metadata.items():
        if not isinstance(value, str):
            raise ApiError(400, "invalid_metadata", f"metadata[{key!r}] must be a string.")
        if len(key) > METADATA_KEY_CHARS or len(value) > METADATA_VALUE_CHARS:
            raise ApiError(
                400, "invalid_metadata",
                f"metadata[{key[:64]!r}]: keys hold at most {METADATA_KEY_CHARS} characters, "
                f"values at most {METADATA_VALUE_CHARS}.",
            )
    return dict(metadata)


def checked_items(raw: list[Any], where: str) -> list[dict[str, Any]]:
    if len(raw) > MAX_ITEMS_PER_REQUEST:
        raise ApiError(400, "too_many_items", f"{where} holds {len(raw)} items; at most {MAX_ITEMS_PER_REQUEST}.")
    return input_items(raw, where)


async def append_items(
    state: V1State, user: str, cid: str, items: list[dict[str, Any]]
) -> list[TaggedItem]:
    """Append `items` to the conversation in one transaction, under its turn lock; the items as stored."""
    if not items:
        return []
    found = await state.history(user, cid)
    store: SessionStore = state.home
    if found is not None and found[1]:
        store = state.stores[found[1][-1].store_index]  # where the latest turn was answered
    index = state.store_index(store)
    key = ConversationKey(user, cid)
    async with store.lock(key):
        known = await store.read(key)
        after = known[-1].seq if known else 0
        await store.append(key, items, agent=None)
        written = await store.read(key, after_seq=after)
    return [TaggedItem(index, stored) for stored in written]


def item_list(data: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else "",
        "last_id": data[-1]["id"] if data else "",
        "has_more": has_more,
    }


@router.post("/conversations")
async def create_conversation(
    body: ConversationCreate, user: str = Depends(current_user), state: V1State = Depends(get_state)
) -> dict[str, Any]:
    """A new conversation (an asdrp session of the caller), optionally with initial items and metadata."""
    metadata = checked_metadata(body.metadata)
    items = checked_items(body.items or [], "items")
    cid = f"conv_{uuid.uuid4().hex}"
    record = {"created_at": time.time(), "metadata": metadata}
    await state.put_record(user, CONVERSATION, cid, record, session_id=cid)
    await append_items(state, user, cid, items)
    return conversation_object(cid, record)


@router.get("/conversations")
async def list_conversations(
    limit: int = Query(20, ge=1, le=100),
    cursor: str | None = Query(None, max_length=4096, description="`next_cursor` of the previous page."),
    user: str = Depends(current_user),
    state: V1State = Depends(get_state),
) -> dict[str, Any]:
    """The caller's conversations (their sessions), most recently active first — beyond OpenAI's API."""
    infos, next_cursor = await state.directory.list_for_user(user, limit=limit, cursor=cursor)
    data = []
    for info in infos:
        record = await state.get_record(user, CONVERSATION, info.session_id) or {"created_at": info.created_at}
        conversation = conversation_object(info.session_id, record)
        conversation.update(title=info.title, updated_at=int(info.updated_at), item_count=info.item_count,
                            agent_id=info.agent_id)
        data.append(conversation)
    page = item_list(data, next_cursor is not None)
    page["next_cursor"] = next_cursor
    return page


@router.get("/conversations/{conversation_id}")
async def retrieve_conversation(
    conversation_id: str, user: str = Depends(current_user), state: V1State = Depends(get_state)
) -> dict[str, Any]:
    cid, record = await find_conversation(state, user, conversation_id)
    return conversation_object(cid, record)


@router.post("/conversations/{conversation_id}")
async def update_conversation(
    conversation_id: str, body: ConversationUpdate, user: str = Depends(current_user),
    state: V1State = Depends(get_state),
) -> dict[str, Any]:
    """Replace the conversation's metadata."""
    cid, record = await find_conversation(state, user, conversation_id)
    record = {**record, "metadata": checked_metadata(body.metadata)}
    await state.put_record(user, CONVERSATION, cid, record, session_id=cid)
    return conversation_object(cid, record)


@router.delete("/conversations/{conversation_id}")
async def delete_conversation(
    conversation_id: str, user: str = Depends(current_user), state: V1State = Depends(get_state)
) -> dict[str, Any]:
    """Delete the conversation: its history in every store (as `DELETE /sessions/{id}`) and its metadata."""
    cid, _ = await find_conversation(state, user, conversation_id)
    await state.directory.delete(user, cid)  # its metadata and responses go with it (V1Records)
    await state.delete_record(user, CONVERSATION, cid)  # a conversation that never had an item has no session
    return {"id": cid, "object": "conversation.deleted", "deleted": True}


@router.post("/conversations/{conversation_id}/items")
async def create_items(
    conversation_id: str, body: ItemsCreate, user: str = Depends(current_user), state: V1State = Depends(get_state)
) -> dict[str, Any]:
    """Append up to 20 items, in one transaction; the list of the items as stored (with their ids)."""
    cid, _ = await find_conversation(state, user, conversation_id)
    written = await append_items(state, user, cid, checked_items(body.items, "items"))
    return item_list([render_item(tagged) for tagged in written], False)


async def _items(state: V1State, user: str, cid: str) -> list[TaggedItem]:
    found = await state.history(user, cid)
    return found[1] if found is not None else []


@router.get("/conversations/{conversation_id}/items")
async def list_items(
    conversation_id: str,
    limit: int = Query(20, ge=1, le=100),
    order: Literal["asc", "desc"] = Query("desc"),
    after: str | None = Query(None, max_length=200, description="An item id: the page starts after it."),
    user: str = Depends(current_user),
    state: V1State = Depends(get_state),
) -> dict[str, Any]:
    """The conversation's items, newest first by default, paged with `after` (an item id) and `has_more`.

    Oldest-first pages of a conversation held in one store (the usual case) read only the page
    from the store, so reading a long history page by page costs the same per page throughout;
    other pages are cut from the merged history.
    """
    cid, _ = await find_conversation(state, user, conversation_id)
    if order == "asc":
        page = await _ascending_page(state, user, cid, after, limit)
        if page is not None:
            return page
    items = await _items(state, user, cid)
    if order == "desc":
        items.reverse()
    start = 0
    if after is not None:
        position = next((i for i, tagged in enumerate(items) if tagged.id == after), None)
        if position is None:
            raise ApiError(400, "invalid_cursor", f"after={after[:80]!r} is not an item of this conversation.")
        start = position + 1
    page = items[start:start + limit]
    return item_list([render_item(tagged) for tagged in page], start + limit < len(items))


async def _ascending_page(
    state: V1State, user: str, cid: str, after: str | None, limit: int
) -> dict[str, Any] | None:
    """The page read straight from the one store holding the conversation (None when several hold it)."""
    key = ConversationKey(user, cid)
    infos = await asyncio.gather(*(store.info(key) for store in state.stores))
    holders = [index for index, info in enumerate(infos) if info is not None]
    if len(holders) > 1:
        return None
    if not holders:
        return item_list([], False)
    index = holders[0]
    after_seq = 0
    if after is not None:
        parsed = parse_item_id(after)
        if parsed is None or parsed[0] != index:
            raise ApiError(400, "invalid_cursor", f"after={after[:80]!r} is not an item of this conversation.")
        after_seq = parsed[1]
    batch = await state.stores[index].read(key, after_seq=after_seq, limit=limit + 1)
    return item_list([render_item(TaggedItem(index, stored)) for stored in batch[:limit]], len(batch) > limit)


async def _find_item(state: V1State, user: str, conversation_id: str, wanted: str) -> tuple[str, list[TaggedItem], int]:
    cid, _ = await find_conversation(state, user, conversation_id)
    items = await _items(state, user, cid)
    if parse_item_id(wanted) is not None:
        for position, tagged in enumerate(items):
            if tagged.id == wanted:
                return cid, items, position
    raise ApiError(404, "item_not_found", f"No item {wanted[:80]!r} in conversation {cid!r}.")


@router.get("/conversations/{conversation_id}/items/{item_id}")
async def retrieve_item(
    conversation_id: str, item_id: str, user: str = Depends(current_user), state: V1State = Depends(get_state)
) -> dict[str, Any]:
    _, items, position = await _find_item(state, user, conversation_id, item_id)
    return render_item(items[position])


@router.delete("/conversations/{conversation_id}/items/{item_id}")
async def delete_item(
    conversation_id: str, item_id: str, user: str = Depends(current_user), state: V1State = Depends(get_state)
) -> dict[str, Any]:
    """Delete one item, wherever it is in the history; OpenAI answers with the conversation.

    Deleting a tool call deletes its outputs too, and the reverse (`SessionStore.delete_item`): the
    Responses API refuses a history that holds only one of them. The id names the store and the seq,
    so the merged history is never read.
    """
    cid, record = await find_conversation(state, user, conversation_id)
    parsed = parse_item_id(item_id)
    if parsed is not None and parsed[0] < len(state.stores) and parsed[1] > 0:
        store, key = state.stores[parsed[0]], ConversationKey(user, cid)
        async with store.lock(key):  # between turns: a running turn may still write this call's output
            deleted = await store.delete_item(key, parsed[1])
        if deleted:
            return conversation_object(cid, record)
    raise ApiError(404, "item_not_found", f"No item {item_id[:80]!r} in conversation {cid!r}.")
