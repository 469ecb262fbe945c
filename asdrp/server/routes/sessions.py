"""`GET /sessions`, `GET /sessions/{id}`, `DELETE /sessions/{id}`, `DELETE /sessions`: the caller's own conversations.

Every lookup is keyed by the authenticated user, so another user's conversation is simply not
there (404), whatever its id.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response

from asdrp.memory.ids import validate_session_id
from asdrp.memory.records import SessionInfo, StoredItem
from asdrp.memory.rows import item_text
from asdrp.server.auth import current_user
from asdrp.server.errors import ApiError
from asdrp.server.schemas import DeletedSessions, ErrorResponse, SessionDetail, SessionItem, SessionList, SessionSummary
from asdrp.server.services import ServerServices, get_services

router = APIRouter(tags=["sessions"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse},
    404: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
}


def render_item(stored: StoredItem) -> SessionItem:
    return SessionItem(
        role=stored.role,
        content=item_text(stored.item),
        agent=stored.agent,
        created_at=stored.created_at,
        type=str(stored.item.get("type", "message")),
        seq=stored.seq,
    )


def summarize(info: SessionInfo) -> SessionSummary:
    return SessionSummary(
        session_id=info.session_id,
        agent_id=info.agent_id,
        title=info.title,
        created_at=info.created_at,
        updated_at=info.updated_at,
        item_count=info.item_count,
    )


@router.get("/sessions", response_model=SessionList, responses=_ERRORS)
async def list_sessions(
    limit: int = Query(50, ge=1, le=200, description="Page size."),
    cursor: str | None = Query(None, max_length=4096, description="`next_cursor` of the previous page."),
    user: str = Depends(current_user),
    services: ServerServices = Depends(get_services),
) -> SessionList:
    """The caller's conversations, most recently active first, cursor-paged."""
    infos, next_cursor = await services.directory().list_for_user(user, limit=limit, cursor=cursor)
    return SessionList(sessions=[summarize(info) for info in infos], next_cursor=next_cursor)


@router.get("/sessions/{session_id}", response_model=SessionDetail, responses=_ERRORS)
async def get_session(
    session_id: str, user: str = Depends(current_user), services: ServerServices = Depends(get_services)
) -> SessionDetail:
    """One conversation's full history, oldest first; 404 if the caller has no such conversation."""
    validate_session_id(session_id)
    found = await services.directory().get(user, session_id)
    if found is None:
        raise ApiError(404, "session_not_found", f"No session {session_id!r} for this user.")
    info, items = found
    return SessionDetail(
        session_id=session_id,
        agent_id=info.agent_id,
        title=info.title,
        created_at=info.created_at,
        updated_at=info.updated_at,
        items=[render_item(item) for item in items],
    )


@router.delete("/sessions/{session_id}", status_code=204, response_class=Response, responses=_ERRORS)
async def delete_session(
    session_id: str, user: str = Depends(current_user), services: ServerServices = Depends(get_services)
) -> Response:
    """Delete the caller's conversation and its whole history (every store); 404 if there is none."""
    validate_session_id(session_id)
    if not await services.directory().delete(user, session_id):
        raise ApiError(404, "session_not_found", f"No session {session_id!r} for this user.")
    return Response(status_code=204)


@router.delete("/sessions", response_model=DeletedSessions, responses=_ERRORS)
async def delete_all_sessions(
    user: str = Depends(current_user), services: ServerServices = Depends(get_services)
) -> DeletedSessions:
    """Delete every conversation of the caller, in every store (the caller's own data, nobody else's)."""
    return DeletedSessions(deleted=await services.directory().delete_user(user))
