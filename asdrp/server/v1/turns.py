"""One turn for `/v1`: the same responder call, metrics, locks and Idempotency-Key as `POST /agents/{id}/chat`.

Responses and Chat Completions differ only in their wire format; both hand the turn to
`Responder.route_query` / `stream_query` (which lock the conversation and record the turn once,
atomically) inside `services.turn` (the metrics), exactly like our own chat routes.

With an `Idempotency-Key` a handler claims the key before it places the turn (placing may fork or
seed a session, which a replay must not repeat), tells the claim where the turn went
(`claim.begin`), and records the response it sends (`claim.complete`); a retry gets that response
again (`Idempotent-Replayed: true`), as a complete stream when it asked for one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi.responses import JSONResponse, StreamingResponse

from asdrp.memory import ConversationKey, SessionStore
from asdrp.memory.rows import message_text
from asdrp.orchestration.base import Responder, RouteResult, StreamEvent
from asdrp.server.idempotency import REPLAYED_HEADER, Claim, Recover, Replay, request_fingerprint
from asdrp.server.routes.chat import IdempotencyKey, _close, _holding, stream_error
from asdrp.server.services import ServerServices
from asdrp.server.v1.items import is_message

close_stream = _close
"""Close a responder's stream quietly (the chat route's one rule for it)."""

STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
"""Headers of every streamed `/v1` answer: no caching, no proxy buffering."""

IDEMPOTENCY_KEY = IdempotencyKey
"""The `Idempotency-Key` header parameter (the chat routes' one declaration of it)."""


def claim_turn(
    services: ServerServices, user: str, key: str | None, endpoint: str, agent_id: str, payload: dict[str, Any],
    text: str, recover: Recover,
) -> Claim:
    """The request's claim on its Idempotency-Key (a no-op claim without one).

    The fingerprint is the whole request body with the answering agent, so the same key with any
    other field changed (stream included, as for `/chat` vs `/chat/stream`) is refused. The claim
    starts on a session of its own; the handler moves it with `claim.begin` once the turn is placed.
    """
    assert services.idempotency is not None
    return services.idempotency.claim(
        user, key, fingerprint=request_fingerprint(endpoint, agent_id, payload), session_id=None, input_text=text,
        recover=recover,
    )


def replayed(
    replay: Replay, stream: bool, frames: Callable[[dict[str, Any]], AsyncIterator[bytes]]
) -> JSONResponse | StreamingResponse:
    """A stored answer sent again, marked `Idempotent-Replayed`: to a streamed request as `frames(body)`,
    a complete stream (the stored body is what a non-streamed request gets, so either can be rebuilt)."""
    headers = {REPLAYED_HEADER: "true"}
    if stream:
        return StreamingResponse(frames(replay.body), media_type="text/event-stream",
                                 headers={**headers, **STREAM_HEADERS})
    return JSONResponse(replay.body, status_code=replay.status, headers=headers)


async def answer(
    services: ServerServices, responder: Responder, text: str, session_id: str, user: str, mode: str
) -> RouteResult:
    """Run one turn, counted and timed under `mode` in the metrics."""
    with services.turn(responder.agent_id, mode, user, session_id):
        return await responder.route_query(text, session_id=session_id, user=user)


async def open_stream(
    services: ServerServices, responder: Responder, text: str, session_id: str, user: str, mode: str, claim: Claim
) -> tuple[StreamEvent | None, AsyncIterator[StreamEvent]]:
    """Start a streamed turn and take its first event; from here the stream holds `claim` until it ends.

    A turn that fails before any output (busy conversation, store down) raises its ApiError here,
    so the client gets a real status (409, 503) rather than a 200 stream carrying an error.
    """
    stream = _holding(claim, responder.stream_query(text, session_id=session_id, user=user))
    try:
        first: StreamEvent | None = await anext(stream)
    except StopAsyncIteration:
        first = None
    except BaseException:
        services.metrics.turns.labels(agent_id=responder.agent_id, mode=mode, outcome="error").inc()
        await close_stream(stream)
        raise
    if first is not None and first.type == "error":
        services.metrics.turns.labels(agent_id=responder.agent_id, mode=mode, outcome="error").inc()
        await close_stream(stream)
        raise stream_error(first, responder.agent_id, session_id)
    return first, stream


async def answer_seq(store: SessionStore, key: ConversationKey, after_seq: int, answer_text: str) -> int | None:
    """The seq of the turn's answer among the items written after `after_seq` (the newest match).

    Used to know where a response ends in its session, so `previous_response_id` can tell a
    continuation of the chain's tip from a branch. None when nothing was written (stateless).
    """
    items = await store.read(key, after_seq=after_seq)
    if not items:
        return None
    wanted = answer_text.strip()
    for stored in reversed(items):
        if is_message(stored.item) and stored.item.get("role") == "assistant":
            if message_text(stored.item).strip() == wanted:
                return stored.seq
    return items[-1].seq
