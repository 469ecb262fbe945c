"""Idempotent turns: a client that retries a turn with the same `Idempotency-Key` gets the first answer.

A retry after a timeout, a dropped connection or a 5xx must not store the turn twice. The record of
a key lives in a session store (the shared database when one is configured, else
`data/sessions/idempotency.db`), so it survives restarts and is seen by every replica. Per (user,
key) the store's cross-process turn lock is held for the whole turn: concurrent retries (a retry
storm) queue behind the first and then replay its answer instead of answering again.

A claim first writes a *pending* record naming the conversation and how many items it held; the
finished answer is written over it. If a process dies between storing the turn and recording the
answer, the next retry finds the pending record (its lock is free again), looks in the
conversation for the turn, and replays the answer stored there: so a turn whose transcript was
written is never answered twice, whichever write the crash fell between. A key reused with a
different request is refused (422).

Use (one turn endpoint; `/v1` routes use the same calls with their own body shape, and call
`claim.begin(session_id)` once they have placed the turn, since placing it may create a session)::

    claim = await services.idempotency.claim(user, request.headers.get(IDEMPOTENCY_HEADER),
                                             fingerprint=request_fingerprint("chat", agent_id, payload),
                                             session_id=body.session_id, input_text=text)
    async with claim:
        if claim.replay is not None:
            return JSONResponse(claim.replay.body, status_code=claim.replay.status)
        ... answer the turn on claim.session_id ...
        await claim.complete(200, response_body)
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from asdrp.memory import ConversationKey, SessionStore, message_text
from asdrp.memory.ids import new_session_id
from asdrp.memory.retention import RetentionPolicy
from asdrp.orchestration.directory import SessionDirectory
from asdrp.orchestration.memory import bounded_id
from asdrp.server.errors import ApiError

log = logging.getLogger("asdrp.server")

IDEMPOTENCY_HEADER = "Idempotency-Key"
"""The request header naming a turn (any 1-255 printable ASCII characters the client chooses)."""
REPLAYED_HEADER = "Idempotent-Replayed"
"""Set to `true` on a response that replays a stored answer."""
IDEMPOTENCY_DB = "data/sessions/idempotency.db"
"""Where the records live when no shared database is configured."""
MAX_KEY_LENGTH = 255
KEY_PATTERN = r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$"
"""What a key may be: printable ASCII (HTTP strips a header's edge spaces, so none at either end).
Checked by `claim`; the routes state it in the OpenAPI schema."""
_KEY = re.compile(KEY_PATTERN)
_RECORD = "asdrp_idempotency_record"
"""The one key of a stored record: an item with neither `type` nor `role` is opaque to the store
(not indexed for recall, never mistaken for a message)."""
DEFAULT_TTL_S = 86_400.0
"""How long a key is remembered unless told otherwise (`ASDRP_IDEMPOTENCY_TTL_S`)."""

Plan = tuple[SessionStore, RetentionPolicy]
"""One store and the retention applied to it (as `asdrp.orchestration.retention.retention_plans` gives them)."""
Recover = Callable[[str, str], dict[str, Any]]
"""(answer text, session id) -> the response body to replay for a turn found in its transcript."""


def request_fingerprint(endpoint: str, *parts: Any) -> str:
    """A digest of what a request asks for: the same key with another fingerprint is a different request."""
    canonical = json.dumps([endpoint, *parts], sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def records_namespace(user: str) -> str:
    """The internal user id under which `user`'s records are kept (never a caller's id: it starts with _)."""
    return bounded_id("_idem.", user)


def chat_body(answer: str, session_id: str, agent_id: str) -> dict[str, Any]:
    """The `/agents/{id}/chat` body of a turn recovered from its transcript (the trace is not stored)."""
    return {
        "response": answer,
        "trace": [],
        "metadata": {"session_id": session_id, "agent_id": agent_id, "session_enabled": True, "recovered": True},
    }


@dataclass(frozen=True)
class Replay:
    """A stored answer to send again."""

    status: int
    body: dict[str, Any]
    session_id: str


class Claim(AbstractAsyncContextManager["Claim"]):
    """One request's hold on its key, from `IdempotencyRecords.claim` to the end of the turn.

    `replay` is set when the key already has an answer; otherwise answer on `session_id` and call
    `complete`. Without a key every method is a no-op and `session_id` is the request's (or new).
    """

    def __init__(self, records: IdempotencyRecords | None, key: ConversationKey | None, session_id: str,
                 lock: AbstractAsyncContextManager[None] | None, user: str = "") -> None:
        self._records = records
        self.user = user
        self._key = key
        self._lock = lock
        self.session_id = session_id
        self.replay: Replay | None = None
        self._fingerprint = ""
        self._input_text = ""
        self._recover: Recover | None = None
        self._held = False

    async def __aenter__(self) -> Claim:
        if self._records is None or self._key is None or self._lock is None:
            return self
        await self._lock.__aenter__()
        self._held = True
        try:
            await self._records._open(self)
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Release the key (once: a streamed turn may release it from more than one cleanup path)."""
        if self._lock is not None and self._held:
            self._held = False
            await self._lock.__aexit__(exc_type, exc, tb)

    async def complete(self, status: int, body: dict[str, Any]) -> None:
        """Record the answer the client is about to get (a failure to record is logged, not raised:
        the pending record still lets a retry find the stored turn)."""
        if self._records is None or self._key is None or self.replay is not None:
            return
        try:
            await self._records._write(self._key, {
                "state": "done", "fingerprint": self._fingerprint, "session_id": self.session_id,
                "status": status, "body": body, "created_at": time.time(),
            })
        except Exception as exc:
            log.warning("idempotency: could not record the answer of %s (%s: %s)", self._key.session_id,
                        type(exc).__name__, exc)

    async def begin(self, session_id: str) -> None:
        """The turn's items start now, on `session_id` (a no-op without a key, or on a replay).

        For a route that knows its session only once the claim is held (`/v1`: placing a turn may
        fork or seed a session, which a replay must not do again): the pending record is written
        again, so a retry after a crash looks for the turn where it really goes, after the items
        placed before it, and deleting that conversation deletes the record.
        """
        moved = session_id != self.session_id
        self.session_id = session_id
        if self._records is None or self._key is None or self.replay is not None:
            return
        if moved:  # the key's records start afresh, titled with the session they now belong to
            await self._records.store.delete(self._key)
        await self._records._pending(self, titled=moved)


class IdempotencyRecords:
    """The records of idempotency keys in one store; deleted with their user's conversations."""

    def __init__(
        self, store: SessionStore, directory: Callable[[], SessionDirectory], ttl_s: float = DEFAULT_TTL_S
    ) -> None:
        self.store = store
        self._directory = directory
        self.ttl_s = ttl_s

    def claim(
        self,
        user: str,
        idempotency_key: str | None,
        *,
        fingerprint: str,
        session_id: str | None,
        input_text: str,
        recover: Recover | None = None,
    ) -> Claim:
        """A claim on `idempotency_key` for a turn (use with `async with`); no key = a no-op claim.

        `recover` builds the replay body of a turn found in its transcript after a crash (the
        default builds `/agents/{id}/chat`'s body). Raises ApiError 422 for a malformed key.
        """
        if idempotency_key is None:
            return Claim(None, None, session_id or new_session_id(), None)
        if len(idempotency_key) > MAX_KEY_LENGTH or not _KEY.fullmatch(idempotency_key):
            raise ApiError(422, "invalid_idempotency_key",
                           f"The {IDEMPOTENCY_HEADER} header must be 1-{MAX_KEY_LENGTH} printable ASCII characters.")
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
        key = ConversationKey(records_namespace(user), digest)
        claim = Claim(self, key, session_id or "", self.store.lock(key, wait=True), user)
        claim._fingerprint = fingerprint
        claim._input_text = input_text
        claim._recover = recover
        return claim

    async def _latest(self, key: ConversationKey) -> tuple[bool, dict[str, Any] | None]:
        """(whether the key has any record, its latest record unless expired or unreadable)."""
        items = await self.store.tail(key, 1)
        if not items:
            return False, None
        record = items[-1].get(_RECORD)
        if not isinstance(record, dict) or time.time() - float(record.get("created_at", 0)) > self.ttl_s:
            return True, None
        return True, record

    async def _write(self, key: ConversationKey, record: dict[str, Any], conversation: str | None = None) -> None:
        items: list[dict[str, Any]] = []
        if conversation is not None:
            # the first item of a key's record names its conversation: it becomes the record's title,
            # which is how deleting a conversation finds its records without reading them
            items.append({"role": "user", "content": conversation})
        items.append({_RECORD: record})
        await self.store.append(key, items, agent="idempotency")

    async def _open(self, claim: Claim) -> None:
        """Under the key's lock: replay a finished turn, recover a crashed one, or start a new one."""
        assert claim._key is not None
        present, record = await self._latest(claim._key)
        if record is not None and record.get("fingerprint") != claim._fingerprint:
            raise ApiError(
                422, "idempotency_key_reused",
                f"This {IDEMPOTENCY_HEADER} was used for a different request; use a new key for a new turn.",
            )
        if record is not None and record.get("state") == "done":
            claim.session_id = str(record["session_id"])
            claim.replay = Replay(int(record["status"]), dict(record["body"]), claim.session_id)
            return
        if record is not None:  # pending: its owner stopped (we hold the lock) - did its turn get stored?
            claim.session_id = str(record["session_id"])
            answer = await self._stored_answer(claim, int(record.get("items_before", 0)))
            if answer is not None:
                recover = claim._recover or (lambda text, sid: chat_body(text, sid, ""))
                body = recover(answer, claim.session_id)
                await claim.complete(200, body)
                claim.replay = Replay(200, body, claim.session_id)
                return
        else:
            if present:
                await self.store.delete(claim._key)  # an expired record of a reused key
            claim.session_id = claim.session_id or new_session_id()
        await self._pending(claim, titled=record is None)

    async def _pending(self, claim: Claim, *, titled: bool) -> None:
        """Record that `claim`'s turn is under way on its session, after the items it holds now.

        `titled`: this is the key's first record, so it names the session (see `_write`).
        """
        assert claim._key is not None
        before = await self._directory().item_count(claim.user, claim.session_id)
        await self._write(claim._key, {
            "state": "pending", "fingerprint": claim._fingerprint, "session_id": claim.session_id,
            "items_before": before, "created_at": time.time(),
        }, conversation=claim.session_id if titled else None)

    async def _stored_answer(self, claim: Claim, items_before: int) -> str | None:
        """The answer of this claim's turn if its transcript holds it (written before a crash)."""
        assert claim._key is not None
        found = await self._directory().get(claim.user, claim.session_id)
        if found is None:
            return None
        newer = [stored.item for stored in found[1][items_before:]]
        for position, item in enumerate(newer):
            if item.get("role") == "user" and message_text(item) == claim._input_text:
                answer = None
                for later in newer[position + 1:]:
                    if later.get("role") == "user":
                        break
                    if later.get("role") == "assistant":
                        answer = message_text(later)  # the turn's last assistant message is what the user saw
                return answer
        return None

    # --- deletion (SideMemory): a user's records go with their conversations --------------------

    async def forget(self, key: ConversationKey) -> None:
        """Delete the records of turns on conversation `key` (their stored answers are its data)."""
        namespace = records_namespace(key.user)
        cursor: str | None = None
        while True:
            page, cursor = await self.store.list_sessions(namespace, limit=200, cursor=cursor)
            for info in page:
                if info.title == key.session_id:
                    await self.store.delete(ConversationKey(namespace, info.session_id))
            if cursor is None:
                return

    async def forget_user(self, user: str) -> int:
        """Delete every record of `user`."""
        return await self.store.delete_user(records_namespace(user))

    def with_expiry(self, plans: list[Plan]) -> list[Plan]:
        """Retention `plans` plus the expiry of these records when they have a store of their own
        (in a shared database they follow that database's policy, and expire on read)."""
        if all(self.store is not store for store, _ in plans):
            plans = [*plans, (self.store, RetentionPolicy(max_age_seconds=self.ttl_s))]
        return plans


def idempotency_store(factory: Any) -> SessionStore:
    """The store holding the records: the shared database if one is configured, else a file of its own."""
    return factory.shared_store(factory.session_url or IDEMPOTENCY_DB)
