"""SQLite serves several processes: turns on one conversation are serialised across them, and a
killed process leaves neither a half turn nor a held lock."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from asdrp.memory import ConversationKey, SqliteStore

ROOT = Path(__file__).resolve().parents[2]

_TURNS = textwrap.dedent(
    """
    import asyncio, json, sys
    from pathlib import Path
    from asdrp.memory import ConversationSession, SqliteStore

    async def turn(session, name, seen):
        async with session.lock():
            window = await session.get_items(limit=4)
            previous = window[-1]["content"] if window else None  # the answer of the turn stored just before
            await asyncio.sleep(0.02)  # a model that takes a moment
            await session.add_items([{"role": "user", "content": f"q-{name}"},
                                     {"role": "assistant", "content": f"a-{name}"}])
            seen[name] = previous

    async def main():
        store = SqliteStore(Path(sys.argv[1]))
        session = ConversationSession(store, "shared")
        seen = {}
        go = Path(sys.argv[1] + ".go")
        print("ready", flush=True)
        while not go.exists():  # both processes start their turns at the same moment
            await asyncio.sleep(0.005)
        await asyncio.gather(*(turn(session, f"{sys.argv[2]}{i}", seen) for i in range(int(sys.argv[3]))))
        await store.close()
        print(json.dumps(seen))

    asyncio.run(main())
    """
)

_HOLD = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from asdrp.memory import ConversationSession, SqliteStore

    async def main():
        session = ConversationSession(SqliteStore(Path(sys.argv[1])), "shared")
        async with session.lock():
            await session.add_items([{"role": "user", "content": "before"}, {"role": "assistant", "content": "ok"}])
            print("held", flush=True)
            await asyncio.sleep(600)  # killed here, mid-turn, lock held

    asyncio.run(main())
    """
)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_concurrent_turns_from_two_processes_each_see_the_turn_stored_just_before(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    SqliteStore(db).close_now()  # create the schema once, as a server's start-up does
    runs = [
        subprocess.Popen([sys.executable, "-c", _TURNS, str(db), tag, "16"], env=_env(), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for tag in ("A", "B")
    ]
    for run in runs:
        assert run.stdout is not None and run.stdout.readline().strip() == "ready"
    (tmp_path / "shared.db.go").touch()
    seen: dict[str, str | None] = {}
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        seen.update(json.loads(out))

    async def history() -> list[str]:
        store = SqliteStore(db)
        try:
            return [s.item["content"] for s in await store.read(ConversationKey("local", "shared"))]
        finally:
            await store.close()

    contents = asyncio.run(history())
    assert len(contents) == 64
    questions, answers = contents[0::2], contents[1::2]
    assert all(q.startswith("q-") for q in questions) and all(a.startswith("a-") for a in answers)
    assert [q[2:] for q in questions] == [a[2:] for a in answers]  # every turn whole, never interleaved
    assert sorted(q[2:] for q in questions) == sorted(seen)  # every turn stored once
    order = [q[2:] for q in questions]
    for position, name in enumerate(order):  # each turn's input ended with the turn stored just before it
        assert seen[name] == (None if position == 0 else f"a-{order[position - 1]}")


def test_a_process_killed_mid_turn_leaves_no_half_turn_and_no_held_lock(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(db)], env=_env(), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(30)

    async def next_turn() -> list[str]:
        store = SqliteStore(db)
        try:
            key = ConversationKey("local", "shared")
            async with asyncio.timeout(10):
                async with store.lock(key, wait=True):
                    await store.append(key, [{"role": "user", "content": "after"}], agent=None)
            return [s.item["content"] for s in await store.read(key)]
        finally:
            await store.close()

    assert asyncio.run(next_turn()) == ["before", "ok", "after"]
