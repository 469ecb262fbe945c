"""Where the OpenAI-compatible API keeps what OpenAI's shapes need beyond a conversation's items.

A `/v1` conversation IS one of the caller's asdrp sessions: its items are the session's items in
whichever stores hold it (read merged, as `GET /sessions/{id}` reads them). What OpenAI's API
adds — a conversation's metadata, a stored response, which session a chat front end's chat has
become — is kept as *records* in the store that holds the orchestrators' transcripts, under the
internal user namespace `_v1.<user>` (ids starting with `_` are never a caller's, so no user can
name them, and `GET /sessions` never lists them). A record is one opaque item; a newer version is
appended, and the newest wins. Records therefore live wherever the conversations live (a file,
PostgreSQL, Redis), survive restarts, are shared by replicas, and need no schema of their own.

Item ids are `item_<store index>_<seq>`: a seq is unique and stable within one store, and the
store index is the store's position in the catalog's fixed list, so ids survive restarts.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asdrp.memory import ConversationKey, SessionInfo, SessionStore, StoredItem, new_session_id
from asdrp.memory.rows import title_from
from asdrp.orchestration.base import Responder
from asdrp.orchestration.catalog import ResponderCatalog
from asdrp.orchestration.conversation import ConversationOrchestrator
from asdrp.orchestration.directory import SessionDirectory
from asdrp.orchestration.memory import bounded_id, clean
from asdrp.orchestration.specialist import SpecialistResponder
from asdrp.server.errors import ApiError
from asdrp.server.services import ServerServices

RECORDS_USER_PREFIX = "_v1."
"""The internal user namespace of a caller's `/v1` records."""

_RECORD_FIELD = "asdrp_v1"
"""The one key of a record item: with neither `type` nor `role` it is opaque (no text, no recall)."""

LIST_PAGE = 200
"""Records read per page when looking for a deleted conversation's records."""

_ITEM_ID = re.compile(r"item_(\d{1,4})_(\d{1,19})")


def item_id(store_index: int, seq: int) -> str:
    """The stable `/v1` id of the item at `seq` of store `store_index`."""
    return f"item_{store_index}_{seq}"


def parse_item_id(value: str) -> tuple[int, int] | None:
    """(store index, seq) of an id made by `item_id`, or None for anything else."""
    match = _ITEM_ID.fullmatch(value)
    return (int(match.group(1)), int(match.group(2))) if match else None


@dataclass
class TaggedItem:
    """One item of a merged history with the store it lives in."""

    store_index: int
    stored: StoredItem

    @property
    def id(self) -> str:
        return item_id(self.store_index, self.stored.seq)


def records_user(user: str) -> str:
    """The internal user namespace holding `user`'s `/v1` records."""
    return bounded_id(RECORDS_USER_PREFIX, user)


class V1Records:
    """The `/v1` records as side memory (`SessionDirectory`): they go when their conversation or user does.

    A conversation's metadata and the responses answered in it are that conversation's data, so
    `DELETE /sessions/{id}` and `DELETE /sessions` remove them as `/v1`'s own deletes do.
    """

    def __init__(self, state: Callable[[], V1State]) -> None:
        self._state = state

    async def forget(self, key: ConversationKey) -> None:
        home = self._state().home
        namespace = records_user(key.user)
        cursor: str | None = None
        while True:
            page, cursor = await home.list_sessions(namespace, limit=LIST_PAGE, cursor=cursor)
            for info in page:
                if info.agent_id == key.session_id:
                    await home.delete(ConversationKey(namespace, info.session_id))
            if cursor is None:
                return

    async def forget_user(self, user: str) -> int:
        return await self._state().home.delete_user(records_user(user))


class V1State:
    """The stores, records and history helpers the `/v1` routes share (one per app)."""

    def __init__(self, services: ServerServices) -> None:
        catalog = services.catalog
        self.directory: SessionDirectory = services.directory()
        self.stores: list[SessionStore] = self.directory.stores
        self._responder_stores: dict[str, SessionStore | None] = {}
        if isinstance(catalog, ResponderCatalog):
            self.home: SessionStore = catalog.orchestrator("moe").memory.transcript
        else:  # a catalog a test injected: its first store
            self.home = self.stores[0]

    # --- stores ----------------------------------------------------------------------------

    def store_index(self, store: SessionStore) -> int:
        for index, candidate in enumerate(self.stores):
            if candidate is store:
                return index
        raise ApiError(500, "store_not_listed", "The answering agent's store is not one of the catalog's stores.")

    def responder_store(self, responder: Responder) -> SessionStore | None:
        """The store `responder` keeps its conversations in (None: a stateless agent keeps none).

        Remembered per responder: resolving a specialist's store location touches the file system,
        about a millisecond that every turn would otherwise pay.
        """
        if responder.agent_id in self._responder_stores:
            return self._responder_stores[responder.agent_id]
        store: SessionStore | None = None
        if isinstance(responder, ConversationOrchestrator):
            store = responder.memory.transcript
        elif isinstance(responder, SpecialistResponder):
            store = responder.factory.session_store(responder.agent_id)
        self._responder_stores[responder.agent_id] = store
        return store

    # --- records ---------------------------------------------------------------------------

    @staticmethod
    def _record_key(user: str, kind: str, record_id: str) -> ConversationKey:
        return ConversationKey(records_user(user), bounded_id(f"{kind}.", record_id))

    async def get_record(self, user: str, kind: str, record_id: str) -> dict[str, Any] | None:
        """The newest version of a record, or None."""
        items = await self.home.tail(self._record_key(user, kind, record_id), 1)
        if not items:
            return None
        record = items[0].get(_RECORD_FIELD)
        return record if isinstance(record, dict) else None

    async def put_record(
        self, user: str, kind: str, record_id: str, record: dict[str, Any], *, session_id: str | None = None
    ) -> None:
        """Store a new version of a record (one atomic append).

        `session_id` names the conversation the record belongs to, kept as its registry row's
        `agent_id`, so deleting that conversation finds and deletes the record too (`V1Records`).
        """
        await self.home.append(
            self._record_key(user, kind, record_id), [{_RECORD_FIELD: record}], agent=None, agent_id=session_id
        )

    async def delete_record(self, user: str, kind: str, record_id: str) -> bool:
        return await self.home.delete(self._record_key(user, kind, record_id))

    # --- history ---------------------------------------------------------------------------

    async def history(self, user: str, session_id: str) -> tuple[SessionInfo, list[TaggedItem]] | None:
        """The session's merged history, oldest first, each item with its store (None: no such session)."""
        found = await self.directory.get_by_store(user, session_id)
        if found is None:
            return None
        info, tagged = found
        return info, [TaggedItem(index, stored) for index, stored in tagged]

    @staticmethod
    async def read_store(store: SessionStore, key: ConversationKey, after_seq: int = 0) -> list[StoredItem]:
        """Every item of `key` in one store after `after_seq`, oldest first."""
        return await store.read(key, after_seq=after_seq)

    async def fork(
        self, user: str, source: SessionStore, source_id: str, upto_seq: int | None, target: SessionStore,
        agent_id: str,
    ) -> str:
        """A new session of `user` in `target` holding `source_id`'s items up to `upto_seq` (all when None).

        The copy keeps each item's agent, role and time, and is written in one transaction, so
        the fork is either whole or absent. The original is left exactly as it was.
        """
        items = [
            stored for stored in await self.read_store(source, ConversationKey(user, source_id))
            if upto_seq is None or stored.seq <= upto_seq
        ]
        return await self.seed(user, target, agent_id, items)

    @staticmethod
    async def seed(user: str, target: SessionStore, agent_id: str, items: list[StoredItem]) -> str:
        """A new session of `user` in `target` holding `items` (one transaction), and its id."""
        session_id = new_session_id()
        now = time.time()
        created = min((stored.created_at for stored in items), default=now)
        info = SessionInfo(
            user=user, session_id=session_id, agent_id=agent_id, title=title_from([s.item for s in items]),
            created_at=created, updated_at=now, item_count=len(items),
        )
        await target.import_session(info, items)
        return session_id


def without_private_keys(item: dict[str, Any]) -> dict[str, Any]:
    """A stored item without the keys asdrp keeps for itself (and without its own id: ours replaces it)."""
    return clean(item)
