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
from contextlib import aclosing
from typing import Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, StreamingResponse

from asdrp.memory.ids import validate_session_id
from asdrp.orchestration.base import RouteResult, StreamEvent
from asdrp.server.auth import current_user
from asdrp.server.errors import ApiError, classify
from asdrp.server.idempotency import (
    IDEMPOTENCY_HEADER,
    KEY_PATTERN,
    MAX_KEY_LENGTH,
    REPLAYED_HEADER,
    Claim,
    chat_body,
    request_fingerprint,
)
from asdrp.server.schemas import ChatRequest, ChatResponse, ErrorResponse, operation_link
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

_TURN_SESSION = "$response.body#/metadata/session_id"
_TURN_LINKS: dict[str, Any] = {
    "GetSession": operation_link(
        "GET", "/sessions/{session_id}", "The conversation this turn went to, with the turn in it.",
        {"session_id": _TURN_SESSION},
    ),
    "DeleteSession": operation_link(
        "DELETE", "/sessions/{session_id}", "Delete the conversation this turn went to.", {"session_id": _TURN_SESSION}
    ),
    "ContinueChat": operation_link(
        "POST", "/agents/{agent_id}/chat", "The next message of the same conversation.",
        {"agent_id": "$request.path.agent_id"}, {"input": "And then?", "session_id": _TURN_SESSION},
    ),
    "ContinueChatStream": operation_link(
        "POST", "/agents/{agent_id}/chat/stream", "The next message of the same conversation, streamed.",
        {"agent_id": "$request.path.agent_id"}, {"input": "And then?", "session_id": _TURN_SESSION},
    ),
}
"""Where a turn's answer leads: its `metadata.session_id` names the conversation to read, delete or continue."""

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
    log.error("turn of %s/%s failed (incident %s): %s", agent_id, session_id, incident, event.content,
              exc_info=event.exception)
    return ApiError(500, "internal_error", f"The answer failed (incident {incident}); it has been logged.")


async def responder_events(first: StreamEvent | None, stream: AsyncIterator[StreamEvent]) -> AsyncIterator[StreamEvent]:
    """`first`, then the rest of a responder's stream; a stream that raises ends with an `error` event.

    Every streaming endpoint (ours and `/v1`) reads a turn through this, so a failing responder is
    reported one way everywhere: as the `error` event `stream_error` maps to a status.
    """
    event = first
    while event is not None:
        yield event
        if event.type != "token":
            return
        try:
            event = await anext(stream)
        except StopAsyncIteration:
            return
        except Exception as exc:
            yield StreamEvent("error", str(exc), exception=exc)
            return


def result_metadata(result: RouteResult, duration_s: float) -> dict[str, Any]:
    return {
        "session_id": result.session_id,
        "agent_id": result.agent_id,
        "session_enabled": result.session_enabled,
        "model": result.model,
        "duration_ms": round(duration_s * 1000, 2),
    }


IdempotencyKey = Header(
    None,
    alias=IDEMPOTENCY_HEADER,
    max_length=MAX_KEY_LENGTH,
    description=f"Any unique string per turn (1-{MAX_KEY_LENGTH} printable ASCII characters): a retry with the "
    "same key returns the first answer and stores nothing new (for a day); the same key with a different request "
    "is 422.",
    json_schema_extra={"pattern": KEY_PATTERN},
)


def claim_turn(
    services: ServerServices, user: str, key: str | None, endpoint: str, agent_id: str, body: ChatRequest, text: str
) -> Claim:
    """The request's claim on its Idempotency-Key (a no-op claim without one)."""
    assert services.idempotency is not None
    return services.idempotency.claim(
        user,
        key,
        fingerprint=request_fingerprint(endpoint, agent_id.lower(), body.model_dump(mode="json")),
        session_id=body.session_id,
        input_text=text,
        recover=lambda answer, session_id: chat_body(answer, session_id, agent_id),
    )


@router.post(
    "/agents/{agent_id}/chat", response_model=ChatResponse, responses={**_ERRORS, 200: {"links": _TURN_LINKS}}
)
async def chat(
    agent_id: str,
    body: ChatRequest,
    user: str = Depends(current_user),
    services: ServerServices = Depends(get_services),
    idempotency_key: str | None = IdempotencyKey,
) -> ChatResponse | JSONResponse:
    """Answer one message. Omit `session_id` to start a conversation; send it back to continue."""
    responder = services.catalog.get(agent_id)
    text = checked_input(body.input, services.settings.max_input_chars)
    if body.session_id is not None:
        validate_session_id(body.session_id)
    async with claim_turn(services, user, idempotency_key, "chat", responder.agent_id, body, text) as claim:
        if claim.replay is not None:
            return JSONResponse(claim.replay.body, status_code=claim.replay.status, headers={REPLAYED_HEADER: "true"})
        started = time.perf_counter()
        with services.turn(responder.agent_id, "chat", user, claim.session_id):
            result = await responder.route_query(text, session_id=claim.session_id, user=user)
        response = ChatResponse(
            response=result.answer,
            trace=result.trace,
            metadata=result_metadata(result, time.perf_counter() - started),  # type: ignore[arg-type]
        )
        await claim.complete(200, response.model_dump(mode="json"))
    return response


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
    idempotency_key: str | None = IdempotencyKey,
) -> StreamingResponse:
    """Stream one answer as SSE: `metadata` (session id) first, `token` deltas, then `done` or `error`."""
    responder = services.catalog.get(agent_id)
    text = checked_input(body.input, services.settings.max_input_chars)
    if body.session_id is not None:
        validate_session_id(body.session_id)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    # The claim is held until the stream ends (see `_holding`), so a retry waits for this turn.
    claim = claim_turn(services, user, idempotency_key, "chat/stream", responder.agent_id, body, text)
    await claim.__aenter__()
    try:
        if claim.replay is not None:
            await claim.__aexit__(None, None, None)
            replay_headers = {**headers, REPLAYED_HEADER: "true"}
            return StreamingResponse(
                _replayed(claim.replay.body), media_type="text/event-stream", headers=replay_headers
            )
        session_id = claim.session_id
        stream = _holding(claim, responder.stream_query(text, session_id=session_id, user=user))
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
    except BaseException:
        await claim.__aexit__(None, None, None)
        raise
    base = {"session_id": session_id, "agent_id": responder.agent_id}
    return StreamingResponse(
        _events(services, responder.agent_id, user, session_id, first, stream, base, started, claim),
        media_type="text/event-stream",
        headers=headers,
    )


async def _holding(claim: Claim, stream: AsyncIterator[StreamEvent]) -> AsyncIterator[StreamEvent]:
    """The responder's stream, releasing the turn's Idempotency-Key claim when it ends.

    Tied to the stream the handler has already started, not to the response body: a client that
    leaves before the body starts never runs the body's cleanup, but a started generator is always
    closed (by `_close`, or by the loop's finaliser when it is dropped).
    """
    try:
        async for event in stream:
            yield event
    finally:
        try:
            await _close(stream)
        finally:
            await claim.__aexit__(None, None, None)


async def _replayed(body: dict[str, Any]) -> AsyncIterator[bytes]:
    """The stored answer of an idempotent retry as the stream the first request got (one token)."""
    metadata = dict(body.get("metadata") or {})
    base = {"session_id": metadata.get("session_id"), "agent_id": metadata.get("agent_id")}
    yield sse("metadata", "", base)
    yield sse("token", str(body.get("response", "")))
    yield sse("done", str(body.get("response", "")), {**metadata, "trace": body.get("trace", [])})


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
    claim: Claim,
) -> AsyncIterator[bytes]:
    """The SSE body; a disconnect closes the responder's stream, which never commits half a turn."""
    finished = False
    try:
        with services.turn(agent_id, "stream", user, session_id) as outcome:
            yield sse("metadata", "", base)
            async with aclosing(responder_events(first, stream)) as events:
                async for event in events:
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
                        answer = result.answer if result is not None else event.content
                        await claim.complete(200, {"response": answer, "trace": metadata.pop("trace", []),
                                                   "metadata": metadata})
                        metadata["trace"] = result.trace if result is not None else []
                        yield sse("done", answer, metadata)
                    elif event.type == "error":
                        outcome.outcome = "error"
                        failure = stream_error(event, agent_id, session_id)
                        services.metrics.error(failure.error_code)
                        finished = True
                        yield sse("error", failure.detail, {**base, "error_code": failure.error_code})
            if not finished:
                outcome.outcome = "error"
                services.metrics.error("stream_incomplete")
                yield sse("error", "The answer ended without a result.", {**base, "error_code": "stream_incomplete"})
    finally:
        await _close(stream)
