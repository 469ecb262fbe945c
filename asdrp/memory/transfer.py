"""Export and import conversations as JSON Lines, to move them between any two stores.

`asdrp sessions export` / `asdrp sessions import` use this, e.g. to move the single-machine SQLite
files to PostgreSQL. Importing the same file twice does not duplicate anything.

Format (one JSON object per line, UTF-8; a session's line comes before its items):

    {"type": "session", "format": 1, "user": "alice", "session_id": "s1", "agent_id": "geo",
     "title": "...", "created_at": 1712345678.1, "updated_at": 1712345699.2, "item_count": 4}
    {"type": "item", "user": "alice", "session_id": "s1", "seq": 17, "agent": "geo",
     "role": "user", "created_at": 1712345678.1, "item": {"role": "user", "content": "..."}}

`seq` is the source store's position, informative only: stores number items themselves.
Idempotency: before writing a session's items, the importer reads what the target already holds
for that (user, session_id) and skips items already there, matched by (item JSON, agent, role) as
a multiset, so a repeated line like "hi" is still imported as often as it occurs in the file. An
interrupted import can simply be run again.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from asdrp.memory.errors import MemoryStoreError
from asdrp.memory.records import ConversationKey, SessionInfo, StoredItem
from asdrp.memory.stores.base import SessionStore

FORMAT_VERSION = 1
PAGE_SIZE = 500

Progress = Callable[[int, int | None], None]
"""Called as progress(items_done, items_total) after each batch; total is None when unknown."""


class TransferFormatError(MemoryStoreError, ValueError):
    """A line of an import file is not valid JSON Lines in the export format (names the line)."""


@dataclass
class TransferStats:
    """What an export or import moved."""

    sessions: int = 0
    """Conversations written (export) or seen in the file (import)."""
    items: int = 0
    """Items written."""
    skipped: int = 0
    """Items already present in the target (import only)."""


async def _users(store: SessionStore, users: Sequence[str] | None) -> list[str]:
    return list(users) if users is not None else await store.list_users()


async def export_sessions(
    store: SessionStore,
    out: IO[str],
    *,
    users: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> TransferStats:
    """Write every conversation of `users` (default: all users) from `store` to `out` as JSON Lines."""
    stats = TransferStats()
    sessions: list[SessionInfo] = []
    for user in await _users(store, users):
        cursor: str | None = None
        while True:
            page, cursor = await store.list_sessions(user, limit=PAGE_SIZE, cursor=cursor)
            sessions.extend(page)
            if cursor is None:
                break
    total = sum(info.item_count for info in sessions)
    if progress:
        progress(0, total)
    for info in sessions:
        out.write(_dumps({"type": "session", "format": FORMAT_VERSION, **_session_fields(info)}) + "\n")
        stats.sessions += 1
        key = ConversationKey(info.user, info.session_id)
        after = 0
        while True:
            batch = await store.read(key, after_seq=after, limit=PAGE_SIZE)
            for stored in batch:
                out.write(_dumps(_item_line(info, stored)) + "\n")
            stats.items += len(batch)
            if progress and batch:
                progress(stats.items, max(total, stats.items))
            if len(batch) < PAGE_SIZE:
                break
            after = batch[-1].seq
    return stats


async def export_to_path(store: SessionStore, path: Path, **kwargs: Any) -> TransferStats:
    """`export_sessions` into a file (written to a temporary name, then renamed: no half files)."""
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as out:
        stats = await export_sessions(store, out, **kwargs)
    partial.replace(path)
    return stats


def count_items(path: Path) -> int:
    """Items in an export file, by a cheap scan (for a progress bar's total)."""
    with path.open(encoding="utf-8") as src:
        return sum(1 for line in src if line.startswith('{"type":"item"'))


async def import_sessions(store: SessionStore, source: IO[str], *, progress: Progress | None = None,
                          total: int | None = None) -> TransferStats:
    """Write the conversations of an export into `store`; items it already holds are skipped."""
    stats = TransferStats()
    done = 0
    for info, items in _sessions_of(source):
        stats.sessions += 1
        fresh = await _missing(store, info, items)
        stats.skipped += len(items) - len(fresh)
        for start in range(0, len(fresh), PAGE_SIZE):
            await _write(store, info, fresh[start : start + PAGE_SIZE])
        stats.items += len(fresh)
        done += len(items)
        if progress:
            progress(done, total)
    return stats


async def import_from_path(store: SessionStore, path: Path, *, progress: Progress | None = None) -> TransferStats:
    """`import_sessions` from a file, with the progress total counted up front."""
    total = count_items(path) if progress else None
    with path.open(encoding="utf-8") as src:
        return await import_sessions(store, src, progress=progress, total=total)


# ---- internals ----------------------------------------------------------------------------------


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _session_fields(info: SessionInfo) -> dict[str, Any]:
    return {
        "user": info.user,
        "session_id": info.session_id,
        "agent_id": info.agent_id,
        "title": info.title,
        "created_at": info.created_at,
        "updated_at": info.updated_at,
        "item_count": info.item_count,
    }


def _item_line(info: SessionInfo, stored: StoredItem) -> dict[str, Any]:
    return {
        "type": "item",
        "user": info.user,
        "session_id": info.session_id,
        "seq": stored.seq,
        "agent": stored.agent,
        "role": stored.role,
        "created_at": stored.created_at,
        "item": stored.item,
    }


def _sessions_of(source: IO[str]) -> Iterator[tuple[SessionInfo, list[StoredItem]]]:
    """Each session header with its items, in file order (one session in memory at a time)."""
    current: SessionInfo | None = None
    items: list[StoredItem] = []
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            kind = record["type"]
            if kind == "session":
                if record.get("format", FORMAT_VERSION) > FORMAT_VERSION:
                    raise ValueError(f"format {record['format']} is newer than this asdrp understands")
                if current is not None:
                    yield current, items
                current = SessionInfo(
                    user=record["user"], session_id=record["session_id"], agent_id=record.get("agent_id"),
                    title=record.get("title") or "", created_at=float(record["created_at"]),
                    updated_at=float(record["updated_at"]), item_count=0,
                )
                ConversationKey(current.user, current.session_id)  # validates both ids
                items = []
            elif kind == "item":
                if current is None or (record["user"], record["session_id"]) != (current.user, current.session_id):
                    raise ValueError("item does not follow its session's header line")
                if not isinstance(record["item"], dict):
                    raise ValueError("item is not a JSON object")
                items.append(
                    StoredItem(seq=int(record.get("seq") or 0), item=record["item"], agent=record.get("agent"),
                               role=str(record["role"]), created_at=float(record["created_at"]))
                )
            else:
                raise ValueError(f"unknown line type {kind!r}")
        except (ValueError, KeyError, TypeError) as exc:
            detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            raise TransferFormatError(f"Import line {number} is not a valid session export line: {detail}") from exc
    if current is not None:
        yield current, items


def _fingerprint(item: dict[str, Any], agent: str | None, role: str) -> tuple[str, str | None, str]:
    return json.dumps(item, sort_keys=True, separators=(",", ":")), agent, role


async def _missing(store: SessionStore, info: SessionInfo, items: list[StoredItem]) -> list[StoredItem]:
    """The items of `items` the target does not already hold (multiset difference, order kept)."""
    key = ConversationKey(info.user, info.session_id)
    if await store.info(key) is None:
        return items
    have: Counter[tuple[str, str | None, str]] = Counter()
    after = 0
    while True:
        batch = await store.read(key, after_seq=after, limit=PAGE_SIZE)
        have.update(_fingerprint(s.item, s.agent, s.role) for s in batch)
        if len(batch) < PAGE_SIZE:
            break
        after = batch[-1].seq
    fresh = []
    for stored in items:
        mark = _fingerprint(stored.item, stored.agent, stored.role)
        if have[mark] > 0:
            have[mark] -= 1
        else:
            fresh.append(stored)
    return fresh


async def _write(store: SessionStore, info: SessionInfo, items: list[StoredItem]) -> None:
    """Write a batch keeping each item's agent, role and timestamp."""
    await store.import_session(info, items)
