"""A user's conversations across every store that holds user-visible sessions.

Agents and orchestrators may keep conversations in different stores (agents.db, moe.db, a
shared database...). The server's `/sessions` endpoints and the `asdrp sessions` CLI both read
through `SessionDirectory`, so they always agree on what a user has. One `session_id` found in
several stores is one conversation: listed once, read merged, deleted everywhere.
"""

from __future__ import annotations

import asyncio
import base64
import heapq
import json
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol, TypeVar

from asdrp.memory.errors import InvalidCursorError, StoreUnavailableError
from asdrp.memory.records import ConversationKey, SessionInfo, StoredItem
from asdrp.memory.stores import SessionStore

log = logging.getLogger("asdrp.orchestration")
T = TypeVar("T")

READ_PAGE = 1000
"""Items fetched per store call when reading a whole history."""


def _encode_cursor(states: list[tuple[str | None, bool]]) -> str:
    raw = json.dumps([[cursor, done] for cursor, done in states], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, stores: int) -> list[tuple[str | None, bool]]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        states = [(c if c is None else str(c), bool(done)) for c, done in raw]
    except (ValueError, TypeError, UnicodeDecodeError):
        raise InvalidCursorError(
            f"Invalid sessions cursor {cursor[:40]!r}: pass back the next_cursor of a previous page."
        ) from None
    if len(states) != stores:
        raise InvalidCursorError(
            f"Sessions cursor {cursor[:40]!r} is stale (the set of stores changed); start from the first page."
        )
    return states


def _encode_history_cursor(after: list[int]) -> str:
    raw = json.dumps({"after": after}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_history_cursor(cursor: str, stores: int) -> list[int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        after = [int(seq) for seq in json.loads(base64.urlsafe_b64decode(padded.encode()).decode())["after"]]
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise InvalidCursorError(
            f"Invalid history cursor {cursor[:40]!r}: pass back the next_cursor of a previous page."
        ) from None
    if len(after) != stores or any(seq < 0 for seq in after):
        raise InvalidCursorError(
            f"History cursor {cursor[:40]!r} is stale (the set of stores changed); start from the first page."
        )
    return after


def merge_histories(histories: Sequence[tuple[int, Sequence[StoredItem]]]) -> list[tuple[int, StoredItem]]:
    """Items of one conversation from several stores, each tagged with its store's index.

    Each store's items keep their sequence order, whatever their clocks said: `heapq.merge` only
    ever compares the heads of its inputs, so created_at decides only which store's next item comes
    first (the one ordering signal that exists across stores), never the order within one store.
    """
    streams = [[(item.created_at, index, item) for item in history] for index, history in histories]
    return [(index, item) for _, index, item in heapq.merge(*streams, key=lambda entry: entry[:2])]


def store_label(store: SessionStore) -> str:
    """How a store is named to a client: its kind and file name, never a full path or a URL."""
    if store.kind == "sqlite" and store.location:
        return f"sqlite:{Path(store.location).name}"
    return store.kind if store.location else f"{store.kind}:memory"


def merge_infos(infos: Sequence[SessionInfo]) -> SessionInfo:
    """One conversation's row from its rows in several stores (counts add up, newest agent wins)."""
    if len(infos) == 1:
        return infos[0]
    newest = max(infos, key=lambda info: info.updated_at)
    titled = sorted((i for i in infos if i.title), key=lambda info: info.created_at)
    return replace(
        newest,
        title=titled[0].title if titled else "",
        created_at=min(info.created_at for info in infos),
        item_count=sum(info.item_count for info in infos),
        agent_id=newest.agent_id or next((i.agent_id for i in infos if i.agent_id), None),
    )


class SideMemory(Protocol):
    """What an orchestrator keeps beside a transcript (routing, tool memory): deleted with it."""

    async def forget(self, key: ConversationKey) -> None: ...

    async def forget_user(self, user: str) -> int: ...


class SessionDirectory:
    """Lists, reads and deletes a user's conversations over a fixed list of stores."""

    def __init__(self, stores: Sequence[SessionStore], side: Sequence[SideMemory] = ()) -> None:
        unique: list[SessionStore] = []
        for store in stores:
            if all(store is not seen for seen in unique):
                unique.append(store)
        self.stores = unique
        self.side = list(side)
        """Side memories deleted with a conversation or a user (the catalog's `side_memories()`)."""
        self.unavailable: list[str] = []
        """Stores that failed during this directory's calls (labels from `store_label`): what a
        listing could not include. One failing store costs only the conversations it holds."""

    def _mark_unavailable(self, index: int, exc: StoreUnavailableError) -> None:
        label = store_label(self.stores[index])
        if label not in self.unavailable:
            self.unavailable.append(label)
            log.warning("session store %s unavailable: %s", label, exc)

    async def _each(self, calls: dict[int, Awaitable[T]]) -> dict[int, T]:
        """The results of per-store calls by store index; an unavailable store is left out and noted."""
        results = await asyncio.gather(*calls.values(), return_exceptions=True)
        found: dict[int, T] = {}
        for index, result in zip(calls, results):
            if isinstance(result, StoreUnavailableError):
                self._mark_unavailable(index, result)
            elif isinstance(result, BaseException):
                raise result
            else:
                found[index] = result
        return found

    def _unavailable_error(self, what: str) -> StoreUnavailableError:
        return StoreUnavailableError(f"{what}: {', '.join(self.unavailable)} unavailable; retry later")

    async def _infos(self, key: ConversationKey) -> list[SessionInfo | None]:
        found = await self._each({index: store.info(key) for index, store in enumerate(self.stores)})
        return [found.get(index) for index in range(len(self.stores))]

    async def _holders(self, key: ConversationKey) -> list[tuple[int, SessionInfo]]:
        """(store index, info) of each store holding the conversation; none at all while a store that
        might hold it is down is an error (503), not "no such conversation"."""
        infos = await self._infos(key)
        holders = [(index, info) for index, info in enumerate(infos) if info is not None]
        if not holders and self.unavailable:
            raise self._unavailable_error(f"Session {key.session_id!r} may be held by a store that is down")
        return holders

    async def item_count(self, user: str, session_id: str) -> int:
        """How many items the conversation holds over every store (0 if the user has none)."""
        infos = await self._infos(ConversationKey(user, session_id))
        return sum(info.item_count for info in infos if info is not None)

    async def list_for_user(
        self, user: str, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[SessionInfo], str | None]:
        """The user's conversations, newest updated first, and the cursor of the next page (or None).

        A k-way merge of every store's own keyset pages; the cursor records each store's position,
        so paging stays correct while conversations are being written.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        count = len(self.stores)
        states = _decode_cursor(cursor, count) if cursor else [(None, False)] * count
        pages: list[tuple[list[SessionInfo], str | None]] = [([], None)] * count
        wanted = [index for index in range(count) if not states[index][1]]
        # gather, not a future per store awaited in turn: when one store refuses a forged cursor the
        # others' results are still collected, so no "Task exception was never retrieved" is logged
        fetched = await self._each(
            {index: self.stores[index].list_sessions(user, limit=limit, cursor=states[index][0]) for index in wanted}
        )
        failed = {index for index in wanted if index not in fetched}
        for index, page in fetched.items():
            pages[index] = page

        consumed = [0] * count
        emitted: list[SessionInfo] = []
        while len(emitted) < limit:
            heads = [
                (-pages[i][0][consumed[i]].updated_at, i)
                for i in range(count)
                if consumed[i] < len(pages[i][0])
            ]
            if not heads:
                break
            index = min(heads)[1]  # each store's own order is kept: only its head competes
            info = pages[index][0][consumed[index]]
            consumed[index] += 1
            others = await self._infos(ConversationKey(user, info.session_id)) if count > 1 else [info]
            present = [(i, other) for i, other in enumerate(others) if other is not None]
            first_index, first = min(present, key=lambda pair: (-pair[1].updated_at, pair[0]), default=(index, info))
            if first_index == index or first.updated_at < info.updated_at:
                emitted.append(merge_infos([other for _, other in present] or [info]))
            # otherwise another store holds a newer part of this conversation and lists it there
            if consumed[index] == len(pages[index][0]) and pages[index][1] is not None:
                break  # this store's next rows are unknown: stop before breaking the order

        new_states: list[tuple[str | None, bool]] = []
        for index, store in enumerate(self.stores):
            state = states[index]
            rows, next_cursor = pages[index]
            if index in failed:  # listed as unavailable: later pages go on without it
                new_states.append((state[0], True))
            elif state[1] or consumed[index] == 0 and rows:
                new_states.append(state)
            elif consumed[index] == len(rows):
                new_states.append((next_cursor, next_cursor is None))
            else:
                _, exact = await store.list_sessions(user, limit=consumed[index], cursor=state[0])
                new_states.append((exact, exact is None))
        more = any(not done for _, done in new_states)
        return emitted, _encode_cursor(new_states) if more else None

    async def get(self, user: str, session_id: str) -> tuple[SessionInfo, list[StoredItem]] | None:
        """The conversation's merged row and full history (in sequence order), or None if the user has none."""
        found = await self.get_by_store(user, session_id)
        if found is None:
            return None
        info, tagged = found
        return info, [item for _, item in tagged]

    async def get_by_store(
        self, user: str, session_id: str
    ) -> tuple[SessionInfo, list[tuple[int, StoredItem]]] | None:
        """Like `get`, each item paired with the index of its store in `stores`.

        A seq is unique within one store only, so `(store index, seq)` is what names an item of a
        merged history (the `/v1` item ids are built from it).
        """
        key = ConversationKey(user, session_id)
        holders = await self._holders(key)
        if not holders:
            return None
        histories = await asyncio.gather(*(self._read_all(self.stores[index], key) for index, _ in holders))
        merged = merge_histories([(index, history) for (index, _), history in zip(holders, histories)])
        return merge_infos([info for _, info in holders]), merged

    async def page(
        self, user: str, session_id: str, *, limit: int, cursor: str | None = None
    ) -> tuple[SessionInfo, list[StoredItem], str | None] | None:
        """Up to `limit` items of the conversation, oldest first, after `cursor`; None if the user has none.

        The cursor holds, per store, the last seq already returned, so a page costs `limit` rows per
        store whatever the history's length, and items written meanwhile appear on later pages.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        key = ConversationKey(user, session_id)
        after = _decode_history_cursor(cursor, len(self.stores)) if cursor else [0] * len(self.stores)
        holders = await self._holders(key)
        if not holders:
            return None
        batches = await asyncio.gather(
            *(self.stores[index].read(key, after_seq=after[index], limit=limit + 1) for index, _ in holders)
        )
        merged = merge_histories([(index, batch) for (index, _), batch in zip(holders, batches)])[:limit]
        taken = dict.fromkeys(range(len(self.stores)), 0)
        for index, item in merged:
            after[index] = item.seq
            taken[index] += 1
        more = any(taken[index] < len(batch) for (index, _), batch in zip(holders, batches))
        next_cursor = _encode_history_cursor(after) if more else None
        return merge_infos([info for _, info in holders]), [item for _, item in merged], next_cursor

    async def _read_all(self, store: SessionStore, key: ConversationKey) -> list[StoredItem]:
        items: list[StoredItem] = []
        after = 0
        while True:
            page = await store.read(key, after_seq=after, limit=READ_PAGE)
            items.extend(page)
            if len(page) < READ_PAGE:
                return items
            after = page[-1].seq

    async def delete(self, user: str, session_id: str) -> bool:
        """Delete the conversation and its side memory from every store; True if any store had it."""
        key = ConversationKey(user, session_id)
        deleted = await self._each({index: store.delete(key) for index, store in enumerate(self.stores)})
        await asyncio.gather(*(side.forget(key) for side in self.side))
        if not any(deleted.values()) and self.unavailable:
            raise self._unavailable_error(f"Session {session_id!r} may be held by a store that is down")
        return any(deleted.values())

    async def delete_user(self, user: str) -> int:
        """Delete every conversation of `user` and its side memory in every store; the conversations removed."""
        deleted = await self._each({index: store.delete_user(user) for index, store in enumerate(self.stores)})
        await asyncio.gather(*(side.forget_user(user) for side in self.side))
        if self.unavailable:  # "delete my data" is not done while part of it is out of reach
            raise self._unavailable_error(f"Deleted {sum(deleted.values())} conversation(s), but")
        return sum(deleted.values())
