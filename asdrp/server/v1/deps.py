"""Dependencies the `/v1` routes share: the app's `V1State` and `V1Settings`, and the caller's conversations."""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI, Request

from asdrp.memory import ConversationKey, validate_session_id
from asdrp.memory.errors import InvalidSessionIdError
from asdrp.server.errors import ApiError
from asdrp.server.v1.settings import V1Settings
from asdrp.server.v1.state import V1State

CONVERSATION = "conv"
"""Record kind of a conversation's metadata."""


def v1_state(app: FastAPI) -> V1State:
    """The app's `/v1` state, built on first use (the catalog builds its orchestrators lazily)."""
    state: V1State | None = getattr(app.state, "v1", None)
    if state is None:
        state = app.state.v1 = V1State(app.state.services)
    return state


async def get_state(request: Request) -> V1State:
    """FastAPI dependency: the app's `/v1` state."""
    return v1_state(request.app)


async def get_v1_settings(request: Request) -> V1Settings:
    return request.app.state.v1_settings


def conversation_id(value: str) -> str:
    """A conversation id is a session id: 404 (not 422) for one that cannot exist, as OpenAI answers."""
    try:
        return validate_session_id(value)
    except InvalidSessionIdError:
        raise ApiError(404, "conversation_not_found", f"No conversation {value[:80]!r}.") from None


async def find_conversation(state: V1State, user: str, value: str) -> tuple[str, dict[str, Any]]:
    """(id, conversation object fields) of the caller's conversation; 404 for anyone else's or none.

    A conversation exists when `/v1` created it (a record) or when the caller has a session of that
    id (started by `/agents/{id}/chat`, the CLI or the web page).
    """
    cid = conversation_id(value)
    record = await state.get_record(user, CONVERSATION, cid)
    if record is None:
        infos = [await store.info(ConversationKey(user, cid)) for store in state.stores]
        present = [info for info in infos if info is not None]
        if not present:
            raise ApiError(404, "conversation_not_found", f"No conversation {cid!r}.")
        record = {"created_at": min(info.created_at for info in present), "metadata": {}}
    return cid, record


def conversation_object(cid: str, record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": cid,
        "object": "conversation",
        "created_at": int(record.get("created_at", time.time())),
        "metadata": record.get("metadata") or {},
    }

