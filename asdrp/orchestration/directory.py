"""A user's conversations across every store that holds user-visible sessions.

Agents and orchestrators may keep conversations in different stores (agents.db, moe.db, a
shared database...). The server's `/sessions` endpoints and the `asdrp sessions` CLI both read
through `SessionDirectory`, so they always agree on what a user has. One `session_id` found in
several stores is one conversation: listed once, read merged, deleted everywhere.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Sequence
from dataclasses import replace

from asdrp.memory.errors import InvalidCursorError
from asdrp.memory.records import ConversationKey, SessionInfo, StoredItem
from asdrp.memory.stores import SessionStore

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


class SessionDirectory:
    """Lists, reads and deletes a user's conversations over a fixed list of stores."""

    def __init__(self, stores: Sequence[SessionStore]) -> None:
        unique: list[SessionStore] = []
        for store in stores:
            if all(store is not seen for seen in unique):
                unique.append(store)
        self.stores = unique

    async def _infos(self, key: ConversationKey) -> list[SessionInfo | None]:
        return list(await asyncio.gather(*(store.info(key) for store in self.stores)))

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
        fetches = {
            index: asyncio.ensure_future(store.list_sessions(user, limit=limit, cursor=states[index][0]))
            for index, store in enumerate(self.stores)
            if not states[index][1]
        }
        for index, future in fetches.items():
            pages[index] = await future

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
            if state[1] or consumed[index] == 0 and rows:
                new_states.append(state)
            elif consumed[index] == len(rows):
                new_states.append((next_cursor, next_cursor is None))
            else:
                _, exact = await store.list_sessions(user, limit=consumed[index], cursor=state[0])
                new_states.append((exact, exact is None))
        more = any(not done for _, done in new_states)
        return emitted, _encode_cursor(new_states) if more else None

    async def get(self, user: str, session_id: str) -> tuple[SessionInfo, list[StoredItem]] | None:
        """The conversation's merged row and full history (oldest first), or None if the user has none."""
        key = ConversationKey(user, session_id)
        infos = await self._infos(key)
        holders = [(index, info) for index, info in enumerate(infos) if info is not None]
        if not holders:
            return None
        histories = await asyncio.gather(*(self._read_all(self.stores[index], key) for index, _ in holders))
        tagged = [
            (item.created_at, order, item.seq, item)
            for order, history in enumerate(histories)
            for item in history
        ]
        tagged.sort(key=lambda entry: entry[:3])
        return merge_infos([info for _, info in holders]), [entry[3] for entry in tagged]

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
        """Delete the conversation from every store; True if any store had it."""
        key = ConversationKey(user, session_id)
        results = await asyncio.gather(*(store.delete(key) for store in self.stores))
        return any(results)

    async def delete_user(self, user: str) -> int:
        """Delete every conversation of `user` in every store; the number of store rows removed."""
        results = await asyncio.gather(*(store.delete_user(user) for store in self.stores))
        return sum(results)
