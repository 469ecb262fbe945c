"""`POST /v1/chat/completions` for chat front ends (Open WebUI, LibreChat) that resend the whole history.

Without a conversation id a request is stateless: its history is written to a throwaway session
so the model sees it, the turn is answered, and the session is deleted. With one — the
`X-OpenWebUI-Chat-Id` header, the configured `ASDRP_V1_CONVERSATION_HEADER`, or
`metadata.conversation_id` / `metadata.chat_id` — the chat is kept as asdrp sessions and only the
new turn is stored: the resent history is compared with the sessions this chat has become (newest
first) and the turn continues the one it matches. A history that matches none (the user edited a
message or regenerated an answer) becomes a fork: a new session seeded with that history, so
nothing already stored is rewritten. The session answering is returned in `X-Asdrp-Session-Id`,
and `X-Asdrp-Forked-From` names the session a fork branched from. With an `Idempotency-Key` a
retry returns the first completion (same id and content, as chunks when streamed) and stores
nothing: it is answered before the history is compared, so it cannot become a fork.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict

from asdrp.memory import ConversationKey, SessionStore, new_session_id, validate_caller, validate_session_id
from asdrp.memory.errors import InvalidSessionIdError
from asdrp.memory.rows import estimate_tokens_of_text, message_text
from asdrp.orchestration.base import Responder, StreamEvent
from asdrp.orchestration.memory import assistant_message, user_message
from asdrp.server.auth import current_user
from asdrp.server.errors import ApiError
from asdrp.server.routes.chat import checked_input, responder_events, stream_error
from asdrp.server.services import ServerServices, get_services
from asdrp.server.v1.deps import get_state, get_v1_settings
from asdrp.server.v1.items import dialogue
from asdrp.server.v1.settings import V1Settings
from asdrp.server.v1.state import V1State
from asdrp.server.v1.turns import (
    IDEMPOTENCY_KEY,
    STREAM_HEADERS,
    answer,
    claim_turn,
    close_stream,
    open_stream,
    replayed,
)

router = APIRouter(prefix="/v1", tags=["v1 chat completions"])

CHAT = "chat"
"""Record kind of a front end's chat: the sessions it has become, oldest first."""
SESSION_HEADER = "X-Asdrp-Session-Id"
FORKED_HEADER = "X-Asdrp-Forked-From"
METADATA_KEYS = ("conversation_id", "chat_id")
DONE = b"data: [DONE]\n\n"
"""The frame that ends a streamed completion."""


class ChatCompletionCreate(BaseModel):
    """The fields asdrp acts on; sampling parameters and the like are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[dict[str, Any]]
    stream: bool = False
    metadata: dict[str, Any] | None = None


def chat_messages(raw: list[dict[str, Any]]) -> tuple[list[tuple[str, str]], str]:
    """(the user/assistant history before the last message, the last message's text); 400 if it is not the user's."""
    if not raw:
        raise ApiError(400, "invalid_messages", "messages is empty: send at least the user's message.")
    last = raw[-1]
    if last.get("role") != "user":
        raise ApiError(400, "invalid_messages", "The last message must be the user's.")
    return dialogue([{**m, "type": "message"} for m in raw[:-1] if isinstance(m.get("role"), str)]), message_text(last)


async def acting_user(request: Request, user: str, settings: V1Settings, local_mode: bool) -> str:
    """The key's user, or the user a trusted front end names in `trusted_user_header` (key mode only)."""
    if settings.trusted_user_header is None or local_mode:
        return user
    named = request.headers.get(settings.trusted_user_header)
    if not named:
        return user
    try:
        return validate_caller(named)
    except InvalidSessionIdError as exc:
        raise ApiError(400, "invalid_forwarded_user", f"{settings.trusted_user_header}: {exc}") from None


def chat_id_of(request: Request, body: ChatCompletionCreate, settings: V1Settings) -> str | None:
    for header in settings.conversation_headers():
        value = request.headers.get(header)
        if value:
            return value
    for key in METADATA_KEYS:
        value = (body.metadata or {}).get(key)
        if isinstance(value, str) and value:
            return value
    return None


def first_session_id(chat_id: str) -> str:
    """The session a chat starts as: its own id when that is a valid session id, else a stable digest of it."""
    try:
        return validate_session_id(chat_id)
    except InvalidSessionIdError:
        return "chat-" + hashlib.sha256(chat_id.encode()).hexdigest()[:40]


def history_items(history: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [user_message(text) if role == "user" else assistant_message(text) for role, text in history]


async def seed(store: SessionStore, key: ConversationKey, history: list[tuple[str, str]], agent_id: str) -> None:
    if history:
        async with store.lock(key):
            await store.append(key, history_items(history), agent=None, agent_id=agent_id)


async def chat_session(
    state: V1State, user: str, store: SessionStore, responder: Responder, chat_id: str,
    history: list[tuple[str, str]],
) -> tuple[str, str | None]:
    """(the session this request continues, the session it forked from or None)."""
    record = await state.get_record(user, CHAT, chat_id) or {"sessions": []}
    sessions: list[str] = [str(s) for s in record.get("sessions", [])]
    for session_id in reversed(sessions):
        stored = await store.read(ConversationKey(user, session_id))
        if dialogue([s.item for s in stored]) == history:
            return session_id, None
    forked_from = sessions[-1] if sessions else None
    session_id = first_session_id(chat_id)
    if sessions or await store.info(ConversationKey(user, session_id)) is not None:
        session_id = new_session_id()
    await seed(store, ConversationKey(user, session_id), history, responder.agent_id)
    await state.put_record(user, CHAT, chat_id, {"sessions": [*sessions, session_id]})
    return session_id, forked_from


def completion(completion_id: str, model: str, created: int, text: str, prompt: str) -> dict[str, Any]:
    prompt_tokens, completion_tokens = estimate_tokens_of_text(prompt), estimate_tokens_of_text(text)
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop",
                     "logprobs": None}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


def chunk(completion_id: str, model: str, created: int, delta: dict[str, Any], finish: str | None = None) -> bytes:
    payload = {
        "id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()


async def replayed_chunks(stored: dict[str, Any]) -> AsyncIterator[bytes]:
    """A stored completion as the chunks a streamed request gets: the role, the whole content, stop, `[DONE]`."""
    completion_id, model, created = stored["id"], stored["model"], stored["created"]
    yield chunk(completion_id, model, created, {"role": "assistant", "content": ""})
    yield chunk(completion_id, model, created, {"content": stored["choices"][0]["message"]["content"]})
    yield chunk(completion_id, model, created, {}, finish="stop")
    yield DONE


@router.post("/chat/completions", response_model=None)
async def create_chat_completion(
    body: ChatCompletionCreate,
    request: Request,
    user: str = Depends(current_user),
    services: ServerServices = Depends(get_services),
    state: V1State = Depends(get_state),
    settings: V1Settings = Depends(get_v1_settings),
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> JSONResponse | StreamingResponse:
    """One turn in Chat Completions format; `stream: true` sends `chat.completion.chunk`s then `[DONE]`."""
    responder = services.catalog.get(body.model)
    history, text = chat_messages(body.messages)
    text = checked_input(text, services.settings.max_input_chars)
    user = await acting_user(request, user, settings, services.authenticator.local_mode)
    store = state.responder_store(responder)
    chat_id = chat_id_of(request, body, settings)
    completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    claim = claim_turn(
        services, user, idempotency_key, "v1/chat/completions", responder.agent_id,
        {"chat_id": chat_id, "body": body.model_dump(mode="json")}, text,
        recover=lambda answer_text, _session_id: completion(completion_id, responder.agent_id, created,
                                                           answer_text, text),
    )
    await claim.__aenter__()
    streaming = False
    try:
        if claim.replay is not None:
            return replayed(claim.replay, body.stream, replayed_chunks)
        headers: dict[str, str] = {}
        ephemeral = chat_id is None or store is None
        if chat_id is not None and store is not None:
            session_id, forked_from = await chat_session(state, user, store, responder, chat_id, history)
            headers[SESSION_HEADER] = session_id
            if forked_from is not None:
                headers[FORKED_HEADER] = forked_from
        else:
            session_id = claim.session_id
            if store is not None:
                await seed(store, ConversationKey(user, session_id), history, responder.agent_id)
        await claim.begin(session_id)
        dropped = False

        async def drop() -> None:
            """Delete a stateless turn's throwaway session (once)."""
            nonlocal dropped
            if ephemeral and store is not None and not dropped:
                dropped = True
                await state.directory.delete(user, session_id)

        async def record(answer_text: str) -> dict[str, Any]:
            """The completion of `answer_text`, recorded for the key after the throwaway session is gone
            (deleting that session deletes the records named after it)."""
            await drop()
            response = completion(completion_id, responder.agent_id, created, answer_text, text)
            await claim.complete(200, response)
            return response

        if body.stream:
            try:
                first, stream = await open_stream(
                    services, responder, text, session_id, user, "chat_completions_stream", claim
                )
            except BaseException:
                await drop()
                raise
            streaming = True  # the stream holds the claim now, until it ends
            return StreamingResponse(
                _chunks(services, responder, user, session_id, completion_id, created, first, stream, drop, record),
                media_type="text/event-stream",
                headers={**headers, **STREAM_HEADERS},
            )
        try:
            result = await answer(services, responder, text, session_id, user, "chat_completions")
        finally:
            await drop()
        return JSONResponse(await record(result.answer), headers=headers)
    finally:
        if not streaming:
            await claim.__aexit__(None, None, None)


async def _chunks(
    services: ServerServices, responder: Responder, user: str, session_id: str, completion_id: str, created: int,
    first: StreamEvent | None, stream: AsyncIterator[StreamEvent], drop: Callable[[], Awaitable[None]],
    record: Callable[[str], Awaitable[dict[str, Any]]],
) -> AsyncIterator[bytes]:
    """Role chunk, content deltas as produced, the stop chunk, `[DONE]`; an error chunk on failure."""
    model = responder.agent_id
    try:
        with services.turn(model, "chat_completions_stream", user, session_id) as outcome:
            yield chunk(completion_id, model, created, {"role": "assistant", "content": ""})
            streamed: list[str] = []
            failure: ApiError | None = None
            async with aclosing(responder_events(first, stream)) as events:
                async for event in events:
                    if event.type == "token" and event.content:
                        streamed.append(event.content)
                        yield chunk(completion_id, model, created, {"content": event.content})
                    elif event.type == "done":
                        final = event.result.answer if event.result is not None else event.content
                        sent = "".join(streamed)
                        await record(final)
                        if final != sent and final.startswith(sent):
                            yield chunk(completion_id, model, created, {"content": final[len(sent):]})
                        yield chunk(completion_id, model, created, {}, finish="stop")
                        yield DONE
                        return
                    elif event.type == "error":
                        failure = stream_error(event, model, session_id)
            outcome.outcome = "error"
            failure = failure or ApiError(500, "stream_incomplete", "The answer ended without a result.")
            services.metrics.error(failure.error_code)
            error = {"error": {"message": failure.detail, "type": "server_error", "param": None,
                               "code": failure.error_code}}
            yield f"data: {json.dumps(error)}\n\n".encode()
    finally:
        await close_stream(stream)
        await drop()
