"""SQLite specifics: file settings, persistence across processes, concurrent writers, open_store."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from asdrp.memory import ConversationKey, ConversationSession, MemoryStoreError, SqliteStore, open_store
from tests.memory.items import texts, tool_turn, user_msg

REPO = Path(__file__).resolve().parents[2]


def run_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )


async def test_file_databases_use_wal_and_a_long_busy_timeout(file_store: SqliteStore, file_store_path: Path) -> None:
    await file_store.append(ConversationKey("local", "s1"), [user_msg("hi")], agent=None)
    db = sqlite3.connect(file_store_path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    assert file_store._db is not None
    # no call waits inside SQLite (the store retries a locked write itself, see the next test)
    assert file_store._db.execute("PRAGMA busy_timeout").fetchone()[0] == 0
    assert file_store._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


async def test_a_write_waits_for_another_writer_without_holding_up_reads(
    file_store: SqliteStore, file_store_path: Path
) -> None:
    """Another process holds the write lock: our write waits for it, and reads of the same file
    are answered meanwhile (a waiting write does not hold the store's connection)."""
    import asyncio

    key = ConversationKey("local", "s1")
    await file_store.append(key, [user_msg("first")], agent=None)
    other = sqlite3.connect(file_store_path, isolation_level=None, timeout=0)
    other.execute("BEGIN IMMEDIATE")
    try:
        write = asyncio.create_task(file_store.append(key, [user_msg("second")], agent=None))
        await asyncio.sleep(0.05)
        assert [s.item["content"] for s in await file_store.read(key)] == ["first"]
        assert not write.done()
    finally:
        other.execute("ROLLBACK")
        other.close()
    await write
    assert [s.item["content"] for s in await file_store.read(key)] == ["first", "second"]


async def test_a_file_store_persists_across_a_new_process(file_store_path: Path) -> None:
    store = SqliteStore(file_store_path)
    session = ConversationSession(store, "persist", agent="geo", agent_id="geo")
    await session.add_items(tool_turn(1))
    await store.close()

    result = run_python(
        """
        import asyncio, json, sys
        from pathlib import Path
        from asdrp.memory import ConversationSession, SqliteStore

        async def main():
            store = SqliteStore(Path(sys.argv[1]))
            session = ConversationSession(store, "persist")
            items = await session.get_items()
            await session.add_items([{"role": "user", "content": "from the child"}])
            info = await session.info()
            print(json.dumps({"items": items, "count": info.item_count, "agent_id": info.agent_id}))
            await store.close()

        asyncio.run(main())
        """,
        str(file_store_path),
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["items"] == tool_turn(1) and seen["count"] == 5 and seen["agent_id"] == "geo"
    reopened = SqliteStore(file_store_path)
    try:
        items = await ConversationSession(reopened, "persist").get_items()
        assert texts(items)[-1] == "from the child"
    finally:
        await reopened.close()


def test_several_processes_writing_one_file_lose_nothing_and_never_see_locked(file_store_path: Path) -> None:
    SqliteStore(file_store_path).close_now()  # create and migrate once
    writer = """
        import asyncio, sys
        from pathlib import Path
        from asdrp.memory import ConversationSession, SqliteStore

        async def main():
            store = SqliteStore(Path(sys.argv[1]))
            session = ConversationSession(store, "shared")
            name = sys.argv[2]
            await asyncio.gather(*(
                session.add_items([{"role": "user", "content": f"{name}-{i}"},
                                   {"type": "message", "role": "assistant",
                                    "content": [{"type": "output_text", "text": f"{name}-{i}!"}]}])
                for i in range(40)
            ))
            await store.close()

        asyncio.run(main())
    """
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(writer), str(file_store_path), f"p{n}"],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for n in range(3)
    ]
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    db = sqlite3.connect(file_store_path)
    assert db.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 240
    assert db.execute("SELECT item_count FROM sessions").fetchone()[0] == 240
    db.close()


async def test_in_memory_stores_are_private_to_each_store() -> None:
    first, second = open_store(None), open_store(None)
    try:
        await first.append(ConversationKey("local", "s"), [user_msg("only here")], agent=None)
        assert await second.read(ConversationKey("local", "s")) == []
    finally:
        await first.close()
        await second.close()


async def test_the_window_query_reads_only_the_tail_through_the_index(file_store: SqliteStore) -> None:
    assert file_store._db is not None
    plan = " ".join(
        str(row[-1])
        for row in file_store._db.execute(
            "EXPLAIN QUERY PLAN SELECT data, tokens, turn_start FROM items WHERE user_id = ? AND session_id = ? "
            "ORDER BY id DESC LIMIT ?",
            ("local", "s", 50),
        )
    )
    assert "items_conversation" in plan and "TEMP B-TREE" not in plan


def test_open_store_names_an_unknown_url_scheme() -> None:
    with pytest.raises(MemoryStoreError, match="Unknown session store URL 'mongodb'"):
        open_store("mongodb://127.0.0.1/x")


async def test_open_store_resolves_relative_paths_under_asdrp_home(asdrp_home: Path) -> None:
    store = open_store("data/sessions/geo.db")
    try:
        await store.append(ConversationKey("local", "s"), [user_msg("x")], agent=None)
    finally:
        await store.close()
    assert (asdrp_home / "data" / "sessions" / "geo.db").is_file()


async def test_closing_twice_is_harmless(file_store_path: Path) -> None:
    store = SqliteStore(file_store_path)
    await store.close()
    await store.close()
    store.close_now()


async def test_a_write_waiting_for_another_process_lock_does_not_block_the_event_loop(
    file_store: SqliteStore, file_store_path: Path
) -> None:
    other = sqlite3.connect(file_store_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        write = asyncio.create_task(file_store.append(ConversationKey("local", "s"), [user_msg("queued")], agent=None))
        for _ in range(5):
            await asyncio.sleep(0.01)  # the loop keeps running: the write waits in a worker thread
        assert not write.done()
    finally:
        other.execute("ROLLBACK")
        other.close()
    await write
    assert texts([s.item for s in await file_store.read(ConversationKey("local", "s"))]) == ["queued"]


async def test_the_wal_is_checkpointed_off_loop_so_it_stays_bounded(
    file_store: SqliteStore, file_store_path: Path
) -> None:
    session = ConversationSession(file_store, "s")
    for n in range(300):
        await session.add_items([user_msg(f"q{n} " + "x" * 3000)])
    wal = file_store_path.with_name(file_store_path.name + "-wal")
    # without checkpoints the WAL would hold every page written (> 300 pages of 4 KiB)
    assert file_store._db is not None
    busy, log_pages, checkpointed = file_store._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert busy == 0 and wal.exists()
    assert log_pages < 700  # ~2,100 frames without the periodic checkpoints, ~300 with them
