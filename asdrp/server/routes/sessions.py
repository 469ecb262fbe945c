"""`GET /sessions`, `GET /sessions/{id}`, `DELETE /sessions/{id}`, `DELETE /sessions`: the caller's own conversations.

Every lookup is keyed by the authenticated user, so another user's conversation is simply not
there (404), whatever its id.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Response

from asdrp.memory.ids import ID_RULE, ID_SCHEMA_PATTERN, MAX_ID_LENGTH, validate_session_id
from asdrp.memory.records import SessionInfo, StoredItem
from asdrp.memory.rows import item_text
from asdrp.server.auth import current_user
from asdrp.server.errors import ApiError
from asdrp.server.schemas import (
    DeletedSessions,
    ErrorResponse,
    SessionDetail,
    SessionItem,
    SessionList,
    SessionSummary,
    operation_link,
)
from asdrp.server.services import ServerServices, get_services

router = APIRouter(tags=["sessions"])

CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"
"""A cursor is unpadded URL-safe base64 (its content is opaque): anything else is refused before decoding."""

HISTORY_PAGE_MAX = 1000
"""Most items one `GET /sessions/{id}` returns (and its default): bounds a response, not a history."""

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse},
    404: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
}


_FIRST_LISTED = "$response.body#/sessions/0/session_id"
_LIST_LINKS: dict[str, Any] = {
    "GetSession": operation_link(
        "GET", "/sessions/{session_id}", "The history of the first conversation listed.", {"session_id": _FIRST_LISTED}
    ),
    "DeleteSession": operation_link(
        "DELETE", "/sessions/{session_id}", "Delete the first conversation listed.", {"session_id": _FIRST_LISTED}
    ),
    "NextPage": operation_link(
        "GET", "/sessions", "The next (older) page, while `next_cursor` is not null.",
        {"cursor": "$response.body#/next_cursor", "limit": "$request.query.limit"},
    ),
}
_DETAIL_LINKS: dict[str, Any] = {
    "NextPage": operation_link(
        "GET", "/sessions/{session_id}", "The next items of the history, while `next_cursor` is not null.",
        {"session_id": "$response.body#/session_id", "cursor": "$response.body#/next_cursor",
         "limit": "$request.query.limit"},
    ),
    "DeleteSession": operation_link(
        "DELETE", "/sessions/{session_id}", "Delete this conversation.", {"session_id": "$response.body#/session_id"}
    ),
}
_DELETED_LINKS: dict[str, Any] = {
    "GetDeletedSession": operation_link(
        "GET", "/sessions/{session_id}", "The deleted conversation: 404 from now on.",
        {"session_id": "$request.path.session_id"},
    ),
}
"""Where each answer leads: a listed or read conversation to its history, the next page, or its deletion."""


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


@router.get("/sessions", response_model=SessionList, responses={**_ERRORS, 200: {"links": _LIST_LINKS}})
async def list_sessions(
    limit: int = Query(50, ge=1, le=200, description="Page size."),
    cursor: str | None = Query(
        None, max_length=4096, pattern=CURSOR_PATTERN, description="`next_cursor` of the previous page."
    ),
    user: str = Depends(current_user),
    services: ServerServices = Depends(get_services),
) -> SessionList:
    """The caller's conversations, most recently active first, cursor-paged."""
    directory = services.directory()
    infos, next_cursor = await directory.list_for_user(user, limit=limit, cursor=cursor)
    return SessionList(
        sessions=[summarize(info) for info in infos], next_cursor=next_cursor, unavailable_stores=directory.unavailable
    )


SessionIdPath = Path(
    description=f"The conversation. Rule: {ID_RULE}.",
    json_schema_extra={"pattern": ID_SCHEMA_PATTERN, "minLength": 1, "maxLength": MAX_ID_LENGTH},
)
"""The path's session id: its rule stated in the schema, enforced (and named in the 422) by validate_session_id."""


@router.get(
    "/sessions/{session_id}", response_model=SessionDetail, responses={**_ERRORS, 200: {"links": _DETAIL_LINKS}}
)
async def get_session(
    session_id: str = SessionIdPath,
    limit: int = Query(
        HISTORY_PAGE_MAX, ge=1, le=HISTORY_PAGE_MAX, description="Items per page (a shorter history comes whole)."
    ),
    cursor: str | None = Query(
        None, max_length=4096, pattern=CURSOR_PATTERN, description="`next_cursor` of the previous page."
    ),
    user: str = Depends(current_user),
    services: ServerServices = Depends(get_services),
) -> SessionDetail:
    """One conversation's history in the order it was written, cursor-paged; 404 if the caller has none."""
    validate_session_id(session_id)
    found = await services.directory().page(user, session_id, limit=limit, cursor=cursor)
    if found is None:
        raise ApiError(404, "session_not_found", f"No session {session_id!r} for this user.")
    info, items, next_cursor = found
    return SessionDetail(
        session_id=session_id,
        agent_id=info.agent_id,
        title=info.title,
        created_at=info.created_at,
        updated_at=info.updated_at,
        items=[render_item(item) for item in items],
        next_cursor=next_cursor,
    )


@router.delete(
    "/sessions/{session_id}",
    status_code=204,
    response_class=Response,
    responses={**_ERRORS, 204: {"description": "Deleted.", "links": _DELETED_LINKS}},
)
async def delete_session(
    session_id: str = SessionIdPath,
    user: str = Depends(current_user),
    services: ServerServices = Depends(get_services),
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
