"""Two processes writing one conversation at once: nothing lost, no turn interleaved with another."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from asdrp.memory.records import ConversationKey
from asdrp.memory.stores.postgres import PostgresStore
from asdrp.memory.stores.redis import RedisStore
from tests.shared_stores.writer import turn_items

REPO = Path(__file__).resolve().parents[2]
TURNS = 30


async def _run_writers(store: PostgresStore | RedisStore, key: ConversationKey, mode: str) -> None:
    namespace = store.schema if isinstance(store, PostgresStore) else store.prefix
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.shared_stores.writer", store.kind, namespace, key.user, key.session_id,
            worker, str(TURNS), mode, cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        for worker in ("A", "B")
    ]
    outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), timeout=120)
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0 and out.strip() == b"done", err.decode()[-2000:]


def _assert_whole_turns_in_order(items: list[dict]) -> None:
    assert len(items) == 2 * TURNS * 4
    seen: dict[str, int] = {"A": -1, "B": -1}
    for start in range(0, len(items), 4):
        first = items[start]
        assert first.get("role") == "user", f"item {start} should open a turn: {first}"
        worker, n = first["content"].removeprefix("turn ").split("-")
        assert items[start : start + 4] == turn_items(worker, int(n)), f"turn {worker}-{n} was interleaved"
        assert int(n) == seen[worker] + 1, f"turn {worker}-{n} out of order"
        seen[worker] = int(n)
    assert seen == {"A": TURNS - 1, "B": TURNS - 1}


@pytest.mark.parametrize("mode", ["locked", "atomic"])
async def test_two_processes_appending_to_one_conversation_lose_nothing_and_never_interleave_a_turn(
    shared_store: PostgresStore | RedisStore, mode: str
) -> None:
    key = ConversationKey("alice", "shared-conversation")
    await _run_writers(shared_store, key, mode)
    history = await shared_store.read(key)
    _assert_whole_turns_in_order([stored.item for stored in history])
    assert [s.seq for s in history] == sorted(s.seq for s in history)
    info = await shared_store.info(key)
    assert info is not None and info.item_count == 2 * TURNS * 4 and info.title in ("turn A-0", "turn B-0")


async def test_a_turn_lock_held_by_another_process_reports_busy_without_waiting(
    shared_store: PostgresStore | RedisStore,
) -> None:
    from asdrp.memory.errors import SessionBusyError

    key = ConversationKey("alice", "busy")
    namespace = shared_store.schema if isinstance(shared_store, PostgresStore) else shared_store.prefix
    holder = (
        "import asyncio, sys\n"
        "from tests.shared_stores.writer import *\n"
        "async def hold():\n"
        f"    store = (PostgresStore(PG_URL, PostgresSettings(schema={namespace!r}))"
        f" if {shared_store.kind!r} == 'postgres'"
        f" else RedisStore(REDIS_URL, RedisSettings(prefix={namespace!r})))\n"
        f"    async with store.lock(ConversationKey('alice', 'busy')):\n"
        "        print('held', flush=True)\n"
        "        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)\n"
        "    await store.close()\n"
        "asyncio.run(hold())\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", holder, cwd=REPO, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert await asyncio.wait_for(proc.stdout.readline(), timeout=30) == b"held\n"  # type: ignore[union-attr]
        with pytest.raises(SessionBusyError, match="busy"):
            async with shared_store.lock(key, wait=False):
                pass
    finally:
        proc.stdin.write(b"\n")  # type: ignore[union-attr]
        await proc.wait()
    async with shared_store.lock(key, wait=False):  # released by the other process
        pass
