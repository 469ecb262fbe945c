"""`POST /agents/{agent_id}/chat` and `/chat/stream`: one turn of a conversation.

The handler validates, picks the responder (specialist or orchestrator) and the session id
(generated when omitted, so the reply always says which conversation it went to), and hands the
turn to the responder, which serializes turns per conversation and records them atomically.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from asdrp.memory.ids import new_session_id, validate_session_id
from asdrp.orchestration.base import RouteResult, StreamEvent
from asdrp.server.auth import current_user
from asdrp.server.errors import ApiError, classify
from asdrp.server.schemas import ChatRequest, ChatResponse, ErrorResponse
from asdrp.server.services import ServerServices, get_services

log = logging.getLogger("asdrp.server")


async def require_json(request: Request) -> None:
    """415 unless the body is declared JSON: a form or text body is a client bug worth naming."""
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        shown = media or "none"
        raise ApiError(415, "unsupported_media_type", f"Content-Type must be application/json, got {shown}.")


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (400, 401, 404, 409, 413, 415, 422, 503)
}

router = APIRouter(tags=["chat"], dependencies=[Depends(require_json)])


def checked_input(text: str, max_chars: int) -> str:
    """The input if it is non-blank and within the configured limit."""
    if not text.strip():
        raise ApiError(422, "empty_input", "The input is empty: send the message text in the \"input\" field.")
    if len(text) > max_chars:
        raise ApiError(
            413,
            "input_too_large",
            f"The input is {len(text)} characters; the limit is {max_chars} (ASDRP_MAX_INPUT_CHARS).",
        )
    return text


def stream_error(event: StreamEvent, agent_id: str, session_id: str) -> ApiError:
    """The client-facing error of a responder's `error` event.

    Domain errors (busy conversation, store down, bad id, unknown agent) keep their status and
    message; anything else becomes a logged internal error so no internal detail reaches the client.
    """
    if event.exception is not None:
        mapped = classify(event.exception)
        if mapped is not None:
            return mapped
    incident = uuid.uuid4().hex[:12]
    log.error("turn of %s/%s failed (incident %s): %s", agent_id, session_id, incident, event.content)
    return ApiError(500, "internal_error", f"The answer failed (incident {incident}); it has been logged.")


def result_metadata(result: RouteResult, duration_s: float) -> dict[str, Any]:
    return {
        "session_id": result.session_id,
        "agent_id": result.agent_id,
        "session_enabled": result.session_enabled,
        "model": result.model,
        "duration_ms": round(duration_s * 1000, 2),
    }


@router.post("/agents/{agent_id}/chat", response_model=ChatResponse, responses=_ERRORS)
async def chat(
    agent_id: str,
    body: ChatRequest,
    user: str = Depends(current_user),
    services: ServerServices = Depends(get_services),
) -> ChatResponse:
    """Answer one message. Omit `session_id` to start a conversation; send it back to continue."""
    responder = services.catalog.get(agent_id)
    text = checked_input(body.input, services.settings.max_input_chars)
    session_id = validate_session_id(body.session_id) if body.session_id is not None else new_session_id()
    started = time.perf_counter()
    with services.turn(responder.agent_id, "chat", user, session_id):
        result = await responder.route_query(text, session_id=session_id, user=user)
    return ChatResponse(
        response=result.answer,
        trace=result.trace,
        metadata=result_metadata(result, time.perf_counter() - started),  # type: ignore[arg-type]
    )


def sse(kind: str, content: str = "", metadata: dict[str, Any] | None = None) -> bytes:
    """One Server-Sent Event frame carrying the contract's `{"type", "content", "metadata"}`."""
    payload = json.dumps({"type": kind, "content": content, "metadata": metadata or {}}, ensure_ascii=False)
    return f"data: {payload}\n\n".encode()


@router.post(
    "/agents/{agent_id}/chat/stream",
    responses={**_ERRORS, 200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events."}},
    response_class=StreamingResponse,
)
async def chat_stream(
    agent_id: str,
    body: ChatRequest,
    user: str = Depends(current_user),
    services: ServerServices = Depends(get_services),
) -> StreamingResponse:
    """Stream one answer as SSE: `metadata` (session id) first, `token` deltas, then `done` or `error`."""
    responder = services.catalog.get(agent_id)
    text = checked_input(body.input, services.settings.max_input_chars)
    session_id = validate_session_id(body.session_id) if body.session_id is not None else new_session_id()
    stream = responder.stream_query(text, session_id=session_id, user=user)
    started = time.perf_counter()
    # Take the first event before answering: a busy conversation or a store that is down then
    # gets its proper status (409/503) instead of a 200 stream that only carries an error.
    try:
        first: StreamEvent | None = await anext(stream)
    except StopAsyncIteration:
        first = None
    except BaseException as exc:
        services.metrics.turns.labels(agent_id=responder.agent_id, mode="stream", outcome="error").inc()
        await _close(stream)
        raise exc
    if first is not None and first.type == "error":
        # failed before any output (busy conversation, store down...): a real status, not a 200 stream
        services.metrics.turns.labels(agent_id=responder.agent_id, mode="stream", outcome="error").inc()
        await _close(stream)
        raise stream_error(first, responder.agent_id, session_id)
    base = {"session_id": session_id, "agent_id": responder.agent_id}
    return StreamingResponse(
        _events(services, responder.agent_id, user, session_id, first, stream, base, started),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _close(stream: AsyncIterator[StreamEvent]) -> None:
    closer = getattr(stream, "aclose", None)
    if closer is not None:
        try:
            await closer()
        except Exception:  # closing after a failure must not hide the failure
            log.debug("closing a failed stream raised", exc_info=True)


async def _events(
    services: ServerServices,
    agent_id: str,
    user: str,
    session_id: str,
    first: StreamEvent | None,
    stream: AsyncIterator[StreamEvent],
    base: dict[str, Any],
    started: float,
) -> AsyncIterator[bytes]:
    """The SSE body; a disconnect closes the responder's stream, which never commits half a turn."""
    finished = False
    try:
        with services.turn(agent_id, "stream", user, session_id) as outcome:
            yield sse("metadata", "", base)
            event = first
            while event is not None:
                if event.type == "token":
                    if event.content:
                        yield sse("token", event.content)
                elif event.type == "done":
                    result = event.result
                    metadata = dict(base)
                    if result is not None:
                        metadata.update(result_metadata(result, time.perf_counter() - started))
                        metadata["session_id"] = session_id
                        metadata["trace"] = result.trace
                    finished = True
                    yield sse("done", result.answer if result is not None else event.content, metadata)
                    break
                elif event.type == "error":
                    outcome.outcome = "error"
                    failure = stream_error(event, agent_id, session_id)
                    services.metrics.error(failure.error_code)
                    finished = True
                    yield sse("error", failure.detail, {**base, "error_code": failure.error_code})
                    break
                try:
                    event = await anext(stream)
                except StopAsyncIteration:
                    event = None
                except Exception as exc:
                    outcome.outcome = "error"
                    mapped = classify(exc)
                    if mapped is None:
                        incident = uuid.uuid4().hex[:12]
                        log.exception("stream of %s/%s failed (incident %s)", agent_id, session_id, incident)
                        mapped = ApiError(
                            500, "internal_error", f"The answer failed (incident {incident}); it has been logged."
                        )
                    services.metrics.error(mapped.error_code)
                    finished = True
                    yield sse("error", mapped.detail, {**base, "error_code": mapped.error_code})
                    break
            if not finished:
                outcome.outcome = "error"
                services.metrics.error("stream_incomplete")
                yield sse("error", "The answer ended without a result.", {**base, "error_code": "stream_incomplete"})
    finally:
        await _close(stream)
