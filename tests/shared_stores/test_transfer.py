"""Export/import as JSON Lines: round trips between SQLite and the shared stores, idempotently."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from asdrp.memory import SqliteStore
from asdrp.memory.records import ConversationKey
from asdrp.memory.transfer import (
    TransferFormatError,
    export_sessions,
    export_to_path,
    import_from_path,
    import_sessions,
)
from tests.shared_stores.writer import turn_items


async def _fill(store, users=("alice", "bob")) -> None:  # type: ignore[no-untyped-def]
    for user in users:
        for s in range(3):
            key = ConversationKey(user, f"s{s}")
            for n in range(s + 1):
                await store.append(key, turn_items(f"{user}{s}", n), agent="geo", agent_id="moe")
    await store.append(ConversationKey("alice", "s0"), [{"role": "user", "content": "hi"}], agent="moe")
    await store.append(ConversationKey("alice", "s0"), [{"role": "user", "content": "hi"}], agent="moe")


async def _snapshot(store) -> dict:  # type: ignore[no-untyped-def]
    out = {}
    for user in ("alice", "bob"):
        sessions, _ = await store.list_sessions(user)
        for info in sessions:
            items = await store.read(ConversationKey(user, info.session_id))
            out[(user, info.session_id)] = (
                info.agent_id, info.title, info.created_at, info.item_count,
                [(s.item, s.agent, s.role, s.created_at) for s in items],
            )
    return out


@pytest.mark.parametrize("direction", ["sqlite->shared", "shared->sqlite"])
async def test_export_import_round_trip_between_sqlite_and_a_shared_store_is_idempotent(
    shared_store, tmp_path: Path, direction: str  # type: ignore[no-untyped-def]
) -> None:
    sqlite = SqliteStore(tmp_path / "sessions.db")
    source, target = (sqlite, shared_store) if direction == "sqlite->shared" else (shared_store, sqlite)
    try:
        await _fill(source)
        path = tmp_path / "export.jsonl"
        progress: list[tuple[int, int | None]] = []
        exported = await export_to_path(source, path, progress=lambda d, t: progress.append((d, t)))
        assert (exported.sessions, exported.items) == (6, 2 * 4 * (1 + 2 + 3) + 2)
        assert progress[-1] == (50, 50)

        first = await import_from_path(target, path, progress=lambda d, t: progress.append((d, t)))
        assert (first.sessions, first.items, first.skipped) == (6, 50, 0)
        assert progress[-1] == (50, 50)
        again = await import_from_path(target, path)
        assert (again.items, again.skipped) == (0, 50)
        assert await _snapshot(target) == await _snapshot(source)
    finally:
        await sqlite.close()


async def test_import_completes_a_conversation_the_target_holds_partly(shared_store) -> None:  # type: ignore[no-untyped-def]
    await _fill(shared_store, users=("alice",))
    buffer = io.StringIO()
    await export_sessions(shared_store, buffer, users=["alice"])
    key = ConversationKey("alice", "s2")
    for _ in range(5):
        await shared_store.pop(key)
    stats = await import_sessions(shared_store, io.StringIO(buffer.getvalue()))
    assert (stats.items, stats.skipped) == (5, (6 + 8 + 12) - 5)
    assert [s.item for s in await shared_store.read(key)] == [i for n in range(3) for i in turn_items("alice2", n)]


def test_every_export_line_is_one_json_object_with_a_type() -> None:
    line = json.dumps({"type": "item", "user": "alice", "session_id": "s", "role": "user", "created_at": 1.0,
                       "item": {"role": "user", "content": "x"}})
    with pytest.raises(TransferFormatError, match="line 1 .*header"):
        list(__import__("asdrp.memory.transfer", fromlist=["_sessions_of"])._sessions_of(io.StringIO(line + "\n")))
    with pytest.raises(TransferFormatError, match="line 2"):
        list(__import__("asdrp.memory.transfer", fromlist=["_sessions_of"])._sessions_of(
            io.StringIO('{"type":"session","user":"a","session_id":"s","created_at":1,"updated_at":1}\nnot json\n')))
