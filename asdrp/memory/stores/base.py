"""The SessionStore protocol and StoreBase, which owns every rule so that backends only do I/O.

A store holds many conversations, each keyed by `ConversationKey(user, session_id)`, plus a
registry row per conversation. `StoreBase` validates, turns items into rows (one token estimate,
one title rule), pages session lists with keyset cursors, applies retention, queues turns within
the process, words the busy error and binds network clients to the running event loop. A backend
(`sqlite.py`, `postgres.py`, `redis.py`) implements the underscore primitives below, each one
atomic in its engine.

Besides the history, a conversation can hold *staged turns*: the items of a run that was
interrupted (a tool call awaiting human approval). They are durable but invisible to every
reader until the resumed run settles them, in the same transaction as the rest of the turn.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar, runtime_checkable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from asdrp.memory.errors import (
    InvalidCursorError,
    InvalidItemError,
    InvalidRecallQueryError,
    SessionBusyError,
    StoreUnavailableError,
)
from asdrp.memory.ids import validate_user
from asdrp.memory.locks import KeyedLocks
from asdrp.memory.paging import decode_cursor, encode_cursor
from asdrp.memory.recall import (
    CorpusStats,
    Posting,
    Selection,
    candidates,
    frequent_terms,
    item_terms,
    query_terms,
    rank_scores,
    selection_depth,
)
from asdrp.memory.records import ConversationKey, SessionInfo, StoredItem, WindowSettings
from asdrp.memory.retention import PruneResult, keep_from_for_max_items
from asdrp.memory.rows import Row, call_id_of, is_turn_start, make_rows, title_from
from asdrp.memory.window import WindowRow, select_window

ClientT = TypeVar("ClientT")

LIST_LIMIT_MAX = 1000
"""A session list page holds at most this many rows."""

RECALL_LIMIT_MAX = 100
"""Recall returns at most this many items."""
RECALL_QUERY_MAX_CHARS = 10_000
"""A recall query longer than this is refused (only its first terms would count anyway)."""
TURN_PAGE = 100
"""Items read per round while looking through one turn for a deleted tool item's partners."""


@dataclass
class StagedTurn:
    """The items of an interrupted run's turn, kept until the resumed run settles them."""

    turn_id: str
    items: list[dict[str, Any]]


def recall_terms(query: object, limit: object) -> list[str]:
    """The terms a recall query searches for, after checking the query and the limit.

    Query text is only ever split into words here, so FTS operators, quotes, SQL or Lua
    metacharacters are plain characters: they can neither break nor widen a search.
    """
    if not isinstance(query, str):
        raise InvalidRecallQueryError(f"A recall query must be text, got {type(query).__name__}")
    if len(query) > RECALL_QUERY_MAX_CHARS:
        raise InvalidRecallQueryError(
            f"A recall query may hold at most {RECALL_QUERY_MAX_CHARS} characters, got {len(query)}"
        )
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= RECALL_LIMIT_MAX:
        raise InvalidRecallQueryError(f"A recall limit must be between 1 and {RECALL_LIMIT_MAX}, got {limit!r}")
    return query_terms(query)


def item_seq(seq: object) -> int:
    """`seq` if it can name a stored item (a positive integer), else InvalidItemError naming it."""
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise InvalidItemError(f"An item seq must be a positive integer, got {seq!r}")
    return seq


def busy_error(key: ConversationKey) -> SessionBusyError:
    """The one wording of "another turn holds this conversation"."""
    return SessionBusyError(
        f"Session {key.session_id!r} of user {key.user!r} is busy with another turn; try again shortly"
    )


def redact_url(url: str) -> str:
    """A store URL fit for messages and logs: no password, no query string."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password:
        netloc = netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc, query=""))


def take_url_option(url: str, name: str) -> tuple[str, str | None]:
    """(`url` without query option `name`, that option's value): our options are not the driver's."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    value = next((v for k, v in query if k == name), None)
    rest = [(k, v) for k, v in query if k != name]
    return urlunsplit(parts._replace(query=urlencode(rest))), value


@runtime_checkable
class SessionStore(Protocol):
    """Async storage of conversations and their registry rows: everything callers use."""

    kind: str
    """"sqlite" | "postgres" | "redis"."""
    location: str | None
    """Where the data lives, fit for messages: a file path, a redacted URL, or None (private memory)."""

    async def append(
        self,
        key: ConversationKey,
        items: Sequence[dict[str, Any]],
        *,
        agent: str | None,
        agent_id: str | None = None,
        settle: str | None = None,
    ) -> None:
        """Append items in ONE transaction (all or none); create/update the registry row.

        `settle` names a staged turn that these items complete (they include its staged items): it
        is unstaged in the same transaction, or StaleTurnError if it is no longer staged (another
        resume of the same interrupted run stored it first), and then nothing is written.
        """
        ...

    async def stage(self, key: ConversationKey, turn_id: str, items: Sequence[dict[str, Any]]) -> None:
        """Keep `items` as staged turn `turn_id` (replacing what it held), invisible to readers."""
        ...

    async def staged(self, key: ConversationKey) -> list[StagedTurn]:
        """The conversation's staged turns, oldest first."""
        ...

    async def discard(self, key: ConversationKey, turn_id: str) -> None:
        """Forget a staged turn (a run that died before it could be resumed)."""
        ...

    async def window(self, key: ConversationKey, settings: WindowSettings) -> list[dict[str, Any]]:
        """The model's bounded window, oldest first; its cost does not grow with the history."""
        ...

    async def tail(self, key: ConversationKey, count: int) -> list[dict[str, Any]]:
        """The newest `count` items exactly, oldest first (the SDK's `get_items(limit=count)`)."""
        ...

    async def read(self, key: ConversationKey, *, after_seq: int = 0, limit: int | None = None) -> list[StoredItem]:
        """The full history in sequence order, paged by `after_seq` (the last seq seen)."""
        ...

    async def pop(self, key: ConversationKey) -> dict[str, Any] | None:
        """Remove and return the newest item (None when the conversation is empty)."""
        ...

    async def delete_item(self, key: ConversationKey, seq: int) -> bool:
        """Remove the item `seq` of this conversation; True if it was there (False: unknown or gone).

        Every other item keeps its seq. A tool call and its outputs go together (a model input with
        only one of them is refused by the API), in one transaction with their recall postings and
        the counters. InvalidItemError when `seq` is not a positive integer.
        """
        ...

    async def recall(self, key: ConversationKey, query: str, limit: int = 10) -> list[StoredItem]:
        """Items of this conversation's whole history ranked by relevance to `query`, best first.

        Reads the conversation's own index only: the cost follows the query's terms in this
        conversation, never the size of the store. InvalidRecallQueryError for a bad query or limit.
        """
        ...

    async def clear(self, key: ConversationKey) -> None:
        """Remove every item and staged turn; the registry row stays with item_count 0."""
        ...

    async def info(self, key: ConversationKey) -> SessionInfo | None:
        """The registry row of a conversation (None if it was never written or was deleted)."""
        ...

    async def list_sessions(
        self, user: str, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[SessionInfo], str | None]:
        """A user's conversations, most recently updated first, and the cursor of the next page."""
        ...

    async def list_users(self) -> list[str]:
        """Every user with at least one conversation (export and retention sweeps)."""
        ...

    async def delete(self, key: ConversationKey) -> bool:
        """Delete items, staged turns and registry row; True if there was anything to delete."""
        ...

    async def delete_user(self, user: str) -> int:
        """Delete every conversation of `user`; returns how many there were."""
        ...

    async def prune(
        self, *, max_age_seconds: float | None = None, max_items: int | None = None, now: float | None = None
    ) -> PruneResult:
        """Retention over every conversation (rules in asdrp.memory.retention)."""
        ...

    async def import_session(self, info: SessionInfo, items: Sequence[StoredItem]) -> None:
        """Append imported items keeping their agent, role and time; the registry row keeps `info`'s."""
        ...

    def lock(self, key: ConversationKey, *, wait: bool = True) -> AbstractAsyncContextManager[None]:
        """Serialise whole turns on one conversation across processes; wait=False raises SessionBusyError."""
        ...

    async def close(self) -> None:
        """Release connections; later calls raise StoreUnavailableError."""
        ...

    def close_now(self) -> None:
        """Close from synchronous code (a factory's cache reset); idempotent."""
        ...


class LoopBound(Generic[ClientT]):
    """A network client per event loop: asyncio connections belong to the loop that opened them.

    A script may call `asyncio.run` several times with one store; each new loop gets a new client
    and the old one is dropped without awaiting (its loop is gone).
    """

    def __init__(self, make: Callable[[], ClientT], drop: Callable[[ClientT], None]) -> None:
        self._make = make
        self._drop = drop
        self._client: ClientT | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> ClientT:
        """The client of the running loop (made on first use)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            if self._client is not None:
                self._drop(self._client)
            self._client = self._make()
            self._loop = loop
        return self._client

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop the current client belongs to (None before first use)."""
        return self._loop

    def take(self) -> ClientT | None:
        """Detach and return the current client (for closing)."""
        client, self._client, self._loop = self._client, None, None
        return client


class StoreBase:
    """The rules every store shares; subclasses implement the I/O primitives (underscored)."""

    kind: ClassVar[str]
    location: str | None

    def __init__(self, location: str | None) -> None:
        self.location = location
        self._turns = KeyedLocks()
        self._closed = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location or ':memory:'!r})"

    def _check_open(self) -> None:
        if self._closed:
            raise StoreUnavailableError(f"The {self.kind} session store {self.location or ':memory:'} is closed")

    # --- items -----------------------------------------------------------------------------

    async def append(
        self,
        key: ConversationKey,
        items: Sequence[dict[str, Any]],
        *,
        agent: str | None,
        agent_id: str | None = None,
        settle: str | None = None,
    ) -> None:
        now = time.time()
        rows = make_rows(key, list(items), agent=agent, created_at=now, index=item_terms)  # validates first
        if not rows and settle is None:
            return
        await self._append_rows(
            key, rows, agent_id=agent_id, title=title_from(items), now=now, created_at=now, settle=settle
        )

    async def stage(self, key: ConversationKey, turn_id: str, items: Sequence[dict[str, Any]]) -> None:
        make_rows(key, list(items), agent=None, created_at=0.0)  # the same validation as append
        await self._stage(key, turn_id, list(items))

    async def staged(self, key: ConversationKey) -> list[StagedTurn]:
        return await self._staged(key)

    async def discard(self, key: ConversationKey, turn_id: str) -> None:
        await self._discard(key, turn_id)

    async def window(self, key: ConversationKey, settings: WindowSettings) -> list[dict[str, Any]]:
        if settings.max_items <= 0:
            return []
        return select_window(await self._tail(key, settings.max_items), settings)

    async def tail(self, key: ConversationKey, count: int) -> list[dict[str, Any]]:
        if count <= 0:
            return []
        return [row.item for row in await self._tail(key, count)]

    async def read(self, key: ConversationKey, *, after_seq: int = 0, limit: int | None = None) -> list[StoredItem]:
        if limit is not None and limit <= 0:
            return []
        return await self._read(key, max(0, after_seq), limit)

    async def pop(self, key: ConversationKey) -> dict[str, Any] | None:
        return await self._pop(key, time.time())

    async def delete_item(self, key: ConversationKey, seq: int) -> bool:
        found = await self._read(key, item_seq(seq) - 1, 1)
        if not found or found[0].seq != seq:
            return False
        call_id = call_id_of(found[0].item)
        seqs = [seq] if call_id is None else await self._tool_exchange(key, seq, call_id)
        return await self._remove_items(key, seqs, time.time()) > 0

    async def _tool_exchange(self, key: ConversationKey, seq: int, call_id: str) -> list[int]:
        """The seqs of call `call_id` and its outputs in the turn holding `seq` (that seq included).

        Deleting only one side would leave an orphan: the SDK drops a call without its output from
        the model input, but an output without its call makes the window cut away everything up
        to it (see asdrp.memory.window), and the Responses API refuses such an input. A call and its
        outputs are written in one turn, so the search reads that turn only, never the history.
        """
        seqs = [seq]
        for older in (True, False):
            seqs += [s.seq async for s in self._turn_items(key, seq, older=older) if call_id_of(s.item) == call_id]
        return sorted(seqs)

    async def _turn_items(self, key: ConversationKey, seq: int, *, older: bool) -> AsyncIterator[StoredItem]:
        """The other items of the turn holding `seq`: those before it newest first, or those after it."""
        edge = seq
        while True:
            page = await (self._read_before if older else self._read)(key, edge, TURN_PAGE)
            for stored in page:
                starts = is_turn_start(stored.item)
                if starts and not older:  # the next turn begins
                    return
                yield stored
                if starts:  # this turn's first item
                    return
            if len(page) < TURN_PAGE:
                return
            edge = page[-1].seq

    async def recall(self, key: ConversationKey, query: str, limit: int = 10) -> list[StoredItem]:
        terms = recall_terms(query, limit)
        if not terms:
            return []
        frequencies, stats = await self._frequencies(key, terms)
        frequent = frequent_terms(frequencies, stats)
        selective = [term for term in terms if frequencies.get(term) and term not in frequent]
        postings = await self._postings(key, selective) if selective else []
        if frequent and postings:
            postings += await self._postings(key, sorted(frequent), candidates(postings))
        ranked = rank_scores(postings, stats, selection_depth(limit), frequencies=frequencies)
        selection = Selection(ranked, terms, limit)
        read: dict[int, StoredItem] = {}
        while batch := selection.batch():
            found = await self._items_at(key, batch)
            read.update(found)
            selection.offer({seq: stored.item for seq, stored in found.items()})
        return [read[seq] for seq in selection.result()]

    async def clear(self, key: ConversationKey) -> None:
        await self._clear(key, time.time())

    # --- registry --------------------------------------------------------------------------

    async def info(self, key: ConversationKey) -> SessionInfo | None:
        return await self._info(key)

    async def list_sessions(
        self, user: str, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[SessionInfo], str | None]:
        validate_user(user)
        if not isinstance(limit, int) or not 1 <= limit <= LIST_LIMIT_MAX:
            raise ValueError(f"list_sessions limit must be between 1 and {LIST_LIMIT_MAX}, got {limit!r}")
        after = decode_cursor(cursor) if cursor else None
        if cursor is not None and not cursor:
            raise InvalidCursorError("Invalid cursor '': it was not returned by list_sessions")
        rows = await self._page_sessions(user, after, limit + 1)
        if len(rows) <= limit:
            return rows, None
        rows = rows[:limit]
        return rows, encode_cursor(rows[-1].updated_at, rows[-1].session_id)

    async def list_users(self) -> list[str]:
        return await self._list_users()

    async def delete(self, key: ConversationKey) -> bool:
        return await self._delete(key)

    async def delete_user(self, user: str) -> int:
        return await self._delete_user(validate_user(user))

    # --- retention and transfer ------------------------------------------------------------

    async def prune(
        self, *, max_age_seconds: float | None = None, max_items: int | None = None, now: float | None = None
    ) -> PruneResult:
        """Expire idle conversations, then trim long ones by whole turns (see asdrp.memory.retention)."""
        result = PruneResult()
        if max_age_seconds is not None:
            cut = (time.time() if now is None else now) - max_age_seconds
            result.sessions_deleted, result.items_removed = await self._expire(cut)
        if max_items is not None:
            for key in await self._over_limit(max_items):
                removed = await self._trim(key, max_items)
                if removed:
                    result.sessions_trimmed += 1
                    result.items_removed += removed
        return result

    async def _trim(self, key: ConversationKey, max_items: int) -> int:
        """Remove the oldest whole turns of one conversation so at most max_items remain.

        Only items older than a turn start are removed, so a concurrent append (which adds at the
        tail) or a concurrent trim can never make it cut inside a turn.
        """
        newest_first = await self._tail_flags(key, max_items)
        keep = keep_from_for_max_items(newest_first)
        if keep is None:  # the newest turn alone is longer than max_items: keep that turn whole
            keep = await self._last_turn_start(key)
        if keep is None:
            return 0
        return await self._remove_before(key, keep)

    async def import_session(self, info: SessionInfo, items: Sequence[StoredItem]) -> None:
        if not items:
            return
        key = ConversationKey(info.user, info.session_id)
        rows = make_rows(
            key,
            [stored.item for stored in items],
            agent=None,
            created_at=info.created_at,
            roles=[stored.role for stored in items],
            agents=[stored.agent for stored in items],
            times=[stored.created_at for stored in items],
            index=item_terms,
        )
        await self._append_rows(
            key, rows, agent_id=info.agent_id, title=info.title, now=info.updated_at, created_at=info.created_at
        )

    # --- turns and lifetime ----------------------------------------------------------------

    @asynccontextmanager
    async def lock(self, key: ConversationKey, *, wait: bool = True) -> AsyncIterator[None]:
        """Hold the conversation for a whole turn: first in this process, then across processes.

        In-process waiters queue on an asyncio lock, so one conversation never ties up more than
        one cross-process lock (a connection, a file range, a key) per process.
        """
        self._check_open()
        async with self._turns.hold(key, wait=wait, busy=busy_error):
            handle = await self._acquire_turn(key, wait)
            try:
                yield
            finally:
                await self._release_turn(key, handle)

    async def close(self) -> None:
        self._closed = True
        await self._close()

    def close_now(self) -> None:
        """Close from synchronous code: at once for SQLite, on the running loop for network stores."""
        self._closed = True
        self._close_now()

    # --- primitives (backends) -------------------------------------------------------------

    async def _append_rows(
        self,
        key: ConversationKey,
        rows: list[Row],
        *,
        agent_id: str | None,
        title: str,
        now: float,
        created_at: float | None = None,
        settle: str | None = None,
    ) -> None:
        """Write rows and upsert the registry row, unstaging turn `settle` (StaleTurnError if gone), atomically."""
        raise NotImplementedError

    async def _stage(self, key: ConversationKey, turn_id: str, items: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    async def _staged(self, key: ConversationKey) -> list[StagedTurn]:
        raise NotImplementedError

    async def _discard(self, key: ConversationKey, turn_id: str) -> None:
        raise NotImplementedError

    async def _tail(self, key: ConversationKey, count: int) -> list[WindowRow]:
        """The newest `count` items as window rows, oldest first."""
        raise NotImplementedError

    async def _read(self, key: ConversationKey, after_seq: int, limit: int | None) -> list[StoredItem]:
        raise NotImplementedError

    async def _pop(self, key: ConversationKey, now: float) -> dict[str, Any] | None:
        """Remove the newest item and its recall postings."""
        raise NotImplementedError

    async def _read_before(self, key: ConversationKey, before_seq: int, limit: int) -> list[StoredItem]:
        """Up to `limit` items older than `before_seq`, NEWEST first; fewer only where the history starts."""
        raise NotImplementedError

    async def _remove_items(self, key: ConversationKey, seqs: list[int], now: float) -> int:
        """Delete these items of the conversation (seqs it does not hold are ignored) with their recall
        postings, item_count and recall counters, atomically; returns how many were deleted.

        The title and the other items' seqs and positions stay: recall reads a position gap as two
        items that are not adjacent, which only weakens its smoothing there.
        """
        raise NotImplementedError

    async def _frequencies(self, key: ConversationKey, terms: list[str]) -> tuple[dict[str, int], CorpusStats]:
        """How many items of the conversation hold each term, and its index counters (its own index only)."""
        raise NotImplementedError

    async def _postings(
        self, key: ConversationKey, terms: list[str], positions: list[int] | None = None
    ) -> list[Posting]:
        """The conversation's postings of `terms` (only those at `positions` when given), from its own index.

        A posting's `seq` is the item's position in its conversation (1, 2, 3, … in the order they were
        said; `delete_item` leaves a gap), so the ranking can tell which items are adjacent.
        """
        raise NotImplementedError

    async def _items_at(self, key: ConversationKey, positions: list[int]) -> dict[int, StoredItem]:
        """The stored items at these positions of the conversation, by position (missing ones left out)."""
        raise NotImplementedError

    async def _clear(self, key: ConversationKey, now: float) -> None:
        raise NotImplementedError

    async def _info(self, key: ConversationKey) -> SessionInfo | None:
        raise NotImplementedError

    async def _page_sessions(self, user: str, after: tuple[float, str] | None, count: int) -> list[SessionInfo]:
        """Up to `count` of a user's sessions strictly after `after` in (updated_at, session_id) DESC order."""
        raise NotImplementedError

    async def _list_users(self) -> list[str]:
        raise NotImplementedError

    async def _delete(self, key: ConversationKey) -> bool:
        raise NotImplementedError

    async def _delete_user(self, user: str) -> int:
        raise NotImplementedError

    async def _expire(self, cut: float) -> tuple[int, int]:
        """Delete conversations last updated before `cut`: (conversations, items) removed."""
        raise NotImplementedError

    async def _over_limit(self, max_items: int) -> list[ConversationKey]:
        """Conversations holding more than `max_items` items."""
        raise NotImplementedError

    async def _tail_flags(self, key: ConversationKey, count: int) -> list[tuple[int, bool]]:
        """(seq, turn_start) of the newest `count` items, newest first."""
        raise NotImplementedError

    async def _last_turn_start(self, key: ConversationKey) -> int | None:
        """The seq of the newest turn start (None when there is none)."""
        raise NotImplementedError

    async def _remove_before(self, key: ConversationKey, seq: int) -> int:
        """Delete the items before `seq`, keeping item_count right; returns how many went."""
        raise NotImplementedError

    async def _acquire_turn(self, key: ConversationKey, wait: bool) -> Any:
        """Take the cross-process turn lock (raise busy_error(key) when not waiting); returns a handle."""
        raise NotImplementedError

    async def _release_turn(self, key: ConversationKey, handle: Any) -> None:
        raise NotImplementedError

    async def _close(self) -> None:
        raise NotImplementedError

    def _close_now(self) -> None:
        try:
            asyncio.get_running_loop().create_task(self._close())
        except RuntimeError:
            pass  # no loop: a network client has nothing to release outside one
