"""`POST /v1/responses`, `GET` and `DELETE /v1/responses/{id}`: a turn in OpenAI's Responses format.

`model` names the agent or orchestrator. Where the turn goes:
- `conversation`: that conversation (one of the caller's sessions);
- `previous_response_id`: the session the previous response was answered in when that response is
  still its newest turn (a chain), else a fork — a new session holding the history up to that
  response — so branching from an older response never rewrites what came after it;
- neither: a new session; with `store: false` that session is deleted after the turn (stateless).
Input items before the last user message are added to the session first; the last user message
is the turn. A stored response (`store`, the default) is kept as a record of its owner, so it
survives restarts and is a 404 for everyone else. The session a turn went to is named in the
`X-Asdrp-Session-Id` header (it is one of the caller's `/sessions`). `instructions` are echoed,
not applied: an agent answers with its configured instructions (and an orchestrator has several
specialists). An `Idempotency-Key` makes a retry return the first response (same id and output)
without a new turn; a streamed request's retry gets that response as a complete event stream.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict

from asdrp.memory import ConversationKey, SessionStore, validate_session_id
from asdrp.memory.errors import InvalidSessionIdError
from asdrp.memory.rows import estimate_tokens_of_text
from asdrp.orchestration.base import Responder, StreamEvent
from asdrp.server.auth import current_user
from asdrp.server.errors import ApiError
from asdrp.server.idempotency import Claim
from asdrp.server.routes.chat import checked_input, responder_events, stream_error
from asdrp.server.services import ServerServices, get_services
from asdrp.server.v1.chat_completions import SESSION_HEADER
from asdrp.server.v1.conversations import checked_metadata
from asdrp.server.v1.deps import find_conversation, get_state
from asdrp.server.v1.items import input_items, split_turn
from asdrp.server.v1.state import V1State
from asdrp.server.v1.turns import (
    IDEMPOTENCY_KEY,
    STREAM_HEADERS,
    answer,
    answer_seq,
    claim_turn,
    close_stream,
    open_stream,
    replayed,
)

router = APIRouter(prefix="/v1", tags=["v1 responses"])

RESPONSE = "resp"
"""Record kind of a stored response."""


class ResponseCreate(BaseModel):
    """The fields of OpenAI's request that asdrp acts on; others (temperature, tools...) are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str
    input: str | list[Any]
    conversation: str | dict[str, Any] | None = None
    previous_response_id: str | None = None
    instructions: str | None = None
    metadata: dict[str, Any] | None = None
    store: bool = True
    stream: bool = False


@dataclass
class Placement:
    """Where a response's turn runs and how its record is kept."""

    session_id: str
    store: SessionStore | None
    conversation: str | None = None
    after_seq: int = 0
    """The session's last seq known before the turn (0 for a new session): the turn's items follow it."""
    ephemeral: bool = False
    """Delete the session after the turn (store=false without a conversation or chain)."""
    context: list[dict[str, Any]] = field(default_factory=list)


def usage(input_text: str, output_text: str) -> dict[str, Any]:
    """Token counts by asdrp's one estimate (no tokenizer: the offline model has none)."""
    prompt, completion = estimate_tokens_of_text(input_text), estimate_tokens_of_text(output_text)
    return {
        "input_tokens": prompt, "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": completion, "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + completion,
    }


def output_message(message_id: str, text: str, status: str = "completed") -> dict[str, Any]:
    parts = [{"type": "output_text", "text": text, "annotations": []}] if status == "completed" else []
    return {"type": "message", "id": message_id, "status": status, "role": "assistant", "content": parts}


@dataclass
class ResponseDraft:
    """The fields of one response object, filled in as the turn proceeds."""

    id: str
    model: str
    body: ResponseCreate
    metadata: dict[str, str]
    conversation: str | None
    created_at: float = field(default_factory=time.time)
    message_id: str = field(default_factory=lambda: f"msg_{uuid.uuid4().hex}")

    def render(
        self, status: str, text: str | None = None, *, error: dict[str, Any] | None = None,
        input_text: str = "",
    ) -> dict[str, Any]:
        output = [output_message(self.message_id, text)] if text is not None else []
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "model": self.model,
            "output": output,
            "error": error,
            "incomplete_details": None,
            "instructions": self.body.instructions,
            "metadata": self.metadata,
            "previous_response_id": self.body.previous_response_id,
            "conversation": {"id": self.conversation} if self.conversation else None,
            "store": self.body.store,
            "parallel_tool_calls": False,
            "tool_choice": "auto",
            "tools": [],
            "text": {"format": {"type": "text"}},
            "usage": usage(input_text, text) if text is not None else None,
        }


def conversation_of(body: ResponseCreate) -> str | None:
    if isinstance(body.conversation, dict):
        value = body.conversation.get("id")
        if not isinstance(value, str):
            raise ApiError(400, "invalid_conversation", "conversation must be an id or {\"id\": \"...\"}.")
        return value
    return body.conversation


async def place(
    state: V1State, user: str, responder: Responder, body: ResponseCreate, context: list[dict[str, Any]],
    new_id: str,
) -> Placement:
    """Decide the session of the turn (see the module docstring), forking when chaining from an older response.

    `new_id` is the session of a turn that starts one (the id the turn's claim already holds).
    """
    store = state.responder_store(responder)
    conversation = conversation_of(body)
    if conversation is not None and body.previous_response_id is not None:
        raise ApiError(400, "conflicting_parameters", "Send either conversation or previous_response_id, not both.")
    if conversation is not None:
        cid, _ = await find_conversation(state, user, conversation)
        if store is None:
            raise ApiError(400, "stateless_model", f"{responder.agent_id!r} keeps no history; it cannot continue "
                                                   "a conversation (use an orchestrator such as moe).")
        return Placement(cid, store, conversation=cid, context=context)
    if body.previous_response_id is not None:
        record = await state.get_record(user, RESPONSE, body.previous_response_id)
        if record is None:
            raise ApiError(404, "response_not_found", f"No response {body.previous_response_id[:80]!r}.")
        if store is None:
            raise ApiError(400, "stateless_model", f"{responder.agent_id!r} keeps no history; it cannot continue "
                                                   "a previous response.")
        if record.get("last_seq") is None:
            where = record.get("conversation")
            hint = f" continue it with conversation={where!r}" if where else " it has no stored turn to continue"
            raise ApiError(
                400, "unchainable_response", f"Response {body.previous_response_id!r} cannot be chained:{hint}."
            )
        source = state.stores[int(record["store"])]
        key = ConversationKey(user, str(record["session_id"]))
        last_seq = int(record["last_seq"])
        if source is store and not await store.read(key, after_seq=last_seq, limit=1):
            return Placement(key.session_id, store, after_seq=last_seq, context=context)
        forked = await state.fork(user, source, key.session_id, last_seq, store, responder.agent_id)
        return Placement(forked, store, context=context)
    return Placement(new_id, store, ephemeral=not body.store, context=context)


def checked_request(
    services: ServerServices, state: V1State, body: ResponseCreate
) -> tuple[Responder, list[dict[str, Any]], str, ResponseDraft]:
    """(responder, context items, the turn's text, the response to fill in) of a valid request; nothing is written."""
    responder = services.catalog.get(body.model)
    metadata = checked_metadata(body.metadata)
    context, text = split_turn(input_items(body.input, "input"), "input")
    text = checked_input(text, services.settings.max_input_chars)
    if context and state.responder_store(responder) is None:
        raise ApiError(400, "stateless_model", f"{responder.agent_id!r} keeps no history; send one user message.")
    draft = ResponseDraft(
        id=f"resp_{uuid.uuid4().hex}", model=responder.agent_id, body=body, metadata=metadata,
        conversation=conversation_of(body),
    )
    return responder, context, text, draft


async def prepare(
    state: V1State, user: str, responder: Responder, body: ResponseCreate, context: list[dict[str, Any]],
    claim: Claim,
) -> Placement:
    """Place the turn (forking, or adding the input's context items) and tell the claim where it went."""
    placement = await place(state, user, responder, body, context, claim.session_id)
    if placement.context:
        assert placement.store is not None  # `checked_request` refused context for a stateless agent
        key = ConversationKey(user, placement.session_id)
        async with placement.store.lock(key):
            await placement.store.append(key, placement.context, agent=None, agent_id=responder.agent_id)
    await claim.begin(placement.session_id)
    return placement


async def finish(
    state: V1State, user: str, placement: Placement, draft: ResponseDraft, response: dict[str, Any], answer_text: str,
) -> None:
    """Keep the response (when stored) with where its turn ended; drop an ephemeral session."""
    key = ConversationKey(user, placement.session_id)
    if placement.ephemeral:
        await state.directory.delete(user, placement.session_id)
        return
    if not draft.body.store:
        return
    last_seq = None
    if placement.store is not None and placement.conversation is None:
        last_seq = await answer_seq(placement.store, key, placement.after_seq, answer_text)
    record = {
        "response": response,
        "session_id": placement.session_id,
        "store": state.store_index(placement.store) if placement.store is not None else None,
        "last_seq": last_seq,
        "conversation": placement.conversation,
    }
    await state.put_record(user, RESPONSE, draft.id, record, session_id=placement.session_id)


@router.post("/responses", response_model=None)
async def create_response(
    body: ResponseCreate,
    user: str = Depends(current_user),
    services: ServerServices = Depends(get_services),
    state: V1State = Depends(get_state),
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> JSONResponse | StreamingResponse:
    """One turn; `stream: true` sends OpenAI's Responses streaming events.

    The reply is a `JSONResponse` built here: the body is plain JSON already, and FastAPI's generic
    encoding of a returned dict would walk it again on every turn.
    """
    responder, context, text, draft = checked_request(services, state, body)
    claim = claim_turn(
        services, user, idempotency_key, "v1/responses", responder.agent_id, body.model_dump(mode="json"), text,
        recover=lambda answer_text, _session_id: draft.render("completed", answer_text, input_text=text),
    )
    await claim.__aenter__()
    streaming = False
    try:
        if claim.replay is not None:
            return replayed(claim.replay, body.stream, replayed_events)
        placement = await prepare(state, user, responder, body, context, claim)
        headers = {} if placement.ephemeral else {SESSION_HEADER: placement.session_id}
        if body.stream:
            first, stream = await open_stream(
                services, responder, text, placement.session_id, user, "responses_stream", claim
            )
            streaming = True  # the stream holds the claim now, until it ends
            return StreamingResponse(
                _events(services, state, user, responder, placement, draft, text, first, stream, claim),
                media_type="text/event-stream",
                headers={**headers, **STREAM_HEADERS},
            )
        try:
            result = await answer(services, responder, text, placement.session_id, user, "responses")
        except BaseException:
            if placement.ephemeral:
                await state.directory.delete(user, placement.session_id)
            raise
        response = draft.render("completed", result.answer, input_text=text)
        await finish(state, user, placement, draft, response, result.answer)
        await claim.complete(200, response)
        return JSONResponse(response, headers=headers)
    finally:
        if not streaming:
            await claim.__aexit__(None, None, None)


class _Sequence:
    """Numbers the events of one stream, as OpenAI's `sequence_number`."""

    def __init__(self) -> None:
        self.next = 0

    def event(self, kind: str, **fields: Any) -> bytes:
        payload = {"type": kind, "sequence_number": self.next, **fields}
        self.next += 1
        return f"event: {kind}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()


    def delta(self, item_id: str, text: str) -> bytes:
        return self.event("response.output_text.delta", item_id=item_id, output_index=0, content_index=0,
                          delta=text, logprobs=[])

    def opening(self, in_progress: dict[str, Any], item_id: str) -> list[bytes]:
        """The events before the first delta."""
        return [
            self.event("response.created", response=in_progress),
            self.event("response.in_progress", response=in_progress),
            self.event("response.output_item.added", output_index=0,
                       item=output_message(item_id, "", status="in_progress")),
            self.event("response.content_part.added", item_id=item_id, output_index=0, content_index=0,
                       part={"type": "output_text", "text": "", "annotations": []}),
        ]

    def closing(self, item_id: str, text: str, response: dict[str, Any]) -> list[bytes]:
        """The events after the last delta of a completed `response` whose answer is `text`."""
        part = {"type": "output_text", "text": text, "annotations": []}
        return [
            self.event("response.output_text.done", item_id=item_id, output_index=0, content_index=0,
                       text=text, logprobs=[]),
            self.event("response.content_part.done", item_id=item_id, output_index=0, content_index=0, part=part),
            self.event("response.output_item.done", output_index=0, item=output_message(item_id, text)),
            self.event("response.completed", response=response),
        ]


async def replayed_events(response: dict[str, Any]) -> AsyncIterator[bytes]:
    """A stored response as the complete stream a streamed request gets, its answer in one delta."""
    seq = _Sequence()
    message = response["output"][0]
    text = message["content"][0]["text"]
    in_progress = {**response, "status": "in_progress", "output": [], "usage": None}
    for frame in seq.opening(in_progress, message["id"]):
        yield frame
    yield seq.delta(message["id"], text)
    for frame in seq.closing(message["id"], text, response):
        yield frame


async def _events(
    services: ServerServices, state: V1State, user: str, responder: Responder, placement: Placement,
    draft: ResponseDraft, text: str, first: StreamEvent | None, stream: AsyncIterator[StreamEvent], claim: Claim,
) -> AsyncIterator[bytes]:
    """The event sequence of a streamed response; a disconnect closes the responder's stream (no half turn)."""
    seq = _Sequence()
    item_id = draft.message_id
    deltas: list[str] = []
    try:
        with services.turn(responder.agent_id, "responses_stream", user, placement.session_id) as outcome:
            for frame in seq.opening(draft.render("in_progress"), item_id):
                yield frame
            failure: ApiError | None = None
            result_text: str | None = None
            async with aclosing(responder_events(first, stream)) as events:
                async for event in events:
                    if event.type == "token" and event.content:
                        deltas.append(event.content)
                        yield seq.delta(item_id, event.content)
                    elif event.type == "done":
                        result_text = event.result.answer if event.result is not None else event.content
                    elif event.type == "error":
                        failure = stream_error(event, responder.agent_id, placement.session_id)
            if result_text is None:
                outcome.outcome = "error"
                failure = failure or ApiError(500, "stream_incomplete", "The answer ended without a result.")
                services.metrics.error(failure.error_code)
                error = {"code": failure.error_code, "message": failure.detail}
                yield seq.event("error", code=failure.error_code, message=failure.detail, param=None)
                yield seq.event("response.failed", response=draft.render("failed", error=error))
                if placement.ephemeral:
                    await state.directory.delete(user, placement.session_id)
                return
            streamed = "".join(deltas)
            if streamed != result_text and result_text.startswith(streamed):
                # a responder may end with text it did not stream
                yield seq.delta(item_id, result_text[len(streamed):])
            response = draft.render("completed", result_text, input_text=text)
            await finish(state, user, placement, draft, response, result_text)
            await claim.complete(200, response)
            for frame in seq.closing(item_id, result_text, response):
                yield frame
    finally:
        await close_stream(stream)


@router.get("/responses/{response_id}")
async def retrieve_response(
    response_id: str, user: str = Depends(current_user), state: V1State = Depends(get_state)
) -> dict[str, Any]:
    """A stored response of the caller (404 for anyone else's, or one created with `store: false`)."""
    record = await state.get_record(user, RESPONSE, _response_id(response_id))
    if record is None:
        raise ApiError(404, "response_not_found", f"No response {response_id[:80]!r}.")
    return record["response"]


@router.delete("/responses/{response_id}")
async def delete_response(
    response_id: str, user: str = Depends(current_user), state: V1State = Depends(get_state)
) -> dict[str, Any]:
    """Forget a stored response (its turn stays in its session's history)."""
    if not await state.delete_record(user, RESPONSE, _response_id(response_id)):
        raise ApiError(404, "response_not_found", f"No response {response_id[:80]!r}.")
    return {"id": response_id, "object": "response.deleted", "deleted": True}


def _response_id(value: str) -> str:
    """A response id as a record id (404 rather than 422 for one that cannot exist)."""
    try:
        return validate_session_id(value)
    except InvalidSessionIdError:
        raise ApiError(404, "response_not_found", f"No response {value[:80]!r}.") from None
