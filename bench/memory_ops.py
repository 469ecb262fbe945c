"""Benchmark: the memory cost of one conversation turn as the history grows (not a test).

One turn = append a 4-item turn (user message, function_call, function_call_output, assistant
message) + read what the model sees. Measured at history sizes 10, 100, 1,000 and 10,000 items for
each contender in CONTENDERS; the history is restored after every timed turn (untimed) so each
size is measured at that size. Prints the median microseconds per turn and the ratios the memory
layer is judged by. Add a backend by appending a `Contender` (e.g. PostgreSQL, Redis).

    .venv/bin/python bench/memory_ops.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from agents import SQLiteSession

from asdrp.memory import ConversationSession, SqliteStore

SIZES = (10, 100, 1_000, 10_000)
WINDOW_ITEMS = 50
SDK_LIMIT = 20


def turn_items(n: int) -> list[dict[str, Any]]:
    """A realistic 4-item tool turn."""
    call_id = f"call-{n}"
    return [
        {"role": "user", "content": f"What is the weather like near landmark number {n} today?"},
        {"type": "function_call", "call_id": call_id, "name": "get_weather", "arguments": json.dumps({"place": f"landmark {n}"})},
        {"type": "function_call_output", "call_id": call_id, "output": json.dumps({"summary": f"Landmark {n} is sunny, 21 C.", "temp_c": 21})},
        {"type": "message", "role": "assistant", "status": "completed",
         "content": [{"type": "output_text", "text": f"It is sunny and 21 C near landmark {n}.", "annotations": []}]},
    ]


def history(size: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    n = 0
    while len(items) < size:
        items.extend(turn_items(n))
        n += 1
    return items[:size]


class Turn(Protocol):
    """A prepared conversation of a given size: time `turn`, then `undo` it (untimed)."""

    async def turn(self) -> None: ...
    async def undo(self) -> None: ...
    async def close(self) -> None: ...


@dataclass
class Contender:
    name: str
    open: Callable[[Path, int], Awaitable[Turn]]
    """(directory for its files, history size) -> a conversation pre-filled with that many items."""


class OursTurn:
    def __init__(self, store: SqliteStore, size: int) -> None:
        self.store = store
        self.session = ConversationSession(store, "bench", agent="bench")
        self.size = size
        self.n = 10**6

    @classmethod
    async def open(cls, path: Path | None, size: int) -> OursTurn:
        self = cls(SqliteStore(path), size)
        await self.store.append(self.session.key, history(size), agent="bench")  # one bulk transaction
        return self

    async def turn(self) -> None:
        await self.session.get_items(limit=WINDOW_ITEMS)
        self.n += 1
        await self.session.add_items(turn_items(self.n))

    async def undo(self) -> None:
        for _ in range(4):
            await self.store.pop(self.session.key)

    async def close(self) -> None:
        await self.store.close()


class SdkTurn:
    def __init__(self, session: SQLiteSession, limit: int | None) -> None:
        self.session = session
        self.limit = limit
        self.n = 10**6

    @classmethod
    async def open(cls, path: Path, size: int, limit: int | None) -> SdkTurn:
        self = cls(SQLiteSession("bench", str(path)), limit)
        await self.session.add_items(history(size))
        return self

    async def turn(self) -> None:
        await self.session.get_items(limit=self.limit)
        self.n += 1
        await self.session.add_items(turn_items(self.n))

    async def undo(self) -> None:
        for _ in range(4):
            await self.session.pop_item()

    async def close(self) -> None:
        self.session.close()


class RawTurn:
    """The floor: same pragmas as ours, insert 4 rows + select the last 20 in one transaction, no threads."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=30000")
        self.db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT, data TEXT)")
        self.db.execute("CREATE INDEX items_session ON items (session_id, id)")
        self.n = 10**6

    @classmethod
    async def open(cls, path: Path, size: int) -> RawTurn:
        self = cls(path)
        self.db.execute("BEGIN")
        self.db.executemany("INSERT INTO items (session_id, data) VALUES ('bench', ?)", [(json.dumps(i),) for i in history(size)])
        self.db.execute("COMMIT")
        return self

    async def turn(self) -> None:
        self.n += 1
        rows = [(json.dumps(item),) for item in turn_items(self.n)]
        self.db.execute("BEGIN IMMEDIATE")
        self.db.executemany("INSERT INTO items (session_id, data) VALUES ('bench', ?)", rows)
        [json.loads(r[0]) for r in self.db.execute(
            "SELECT data FROM items WHERE session_id = 'bench' ORDER BY id DESC LIMIT 20").fetchall()]
        self.db.execute("COMMIT")

    async def undo(self) -> None:
        self.db.execute("DELETE FROM items WHERE id IN (SELECT id FROM items ORDER BY id DESC LIMIT 4)")

    async def close(self) -> None:
        self.db.close()


CONTENDERS: list[Contender] = [
    Contender("ours sqlite memory", lambda d, n: OursTurn.open(None, n)),
    Contender("ours sqlite file", lambda d, n: OursTurn.open(d / "ours.db", n)),
    Contender("SDK SQLiteSession file get_items()", lambda d, n: SdkTurn.open(d / "sdk.db", n, None)),
    Contender(f"SDK SQLiteSession file limit={SDK_LIMIT}", lambda d, n: SdkTurn.open(d / "sdk.db", n, SDK_LIMIT)),
    Contender("raw sqlite3 (lower bound)", lambda d, n: RawTurn.open(d / "raw.db", n)),
]
"""The rows of the table; other backends append theirs (same Turn protocol)."""


async def measure(contender: Contender, size: int, budget_s: float, max_reps: int) -> float:
    """Median µs per turn at `size` items (at least 15 reps, until the budget or max_reps)."""
    with tempfile.TemporaryDirectory(prefix="asdrp-bench-") as tmp:
        conversation = await contender.open(Path(tmp), size)
        try:
            for _ in range(5):  # warm caches and the thread pool
                await conversation.turn()
                await conversation.undo()
            samples: list[float] = []
            deadline = time.perf_counter() + budget_s
            while len(samples) < max_reps and (len(samples) < 15 or time.perf_counter() < deadline):
                start = time.perf_counter_ns()
                await conversation.turn()
                samples.append((time.perf_counter_ns() - start) / 1000)
                await conversation.undo()
            return statistics.median(samples)
        finally:
            await conversation.close()


def render(results: dict[str, dict[int, float]]) -> None:
    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}x"

    # 10k / 100 compares equal windows: below 50 items the window simply holds the whole history
    header = ["contender", *[f"{s:,} items" for s in SIZES], "10k / 10", "10k / 100"]
    rows = [
        [name, *[f"{by_size[s]:,.0f}" for s in SIZES], ratio(by_size[SIZES[-1]], by_size[SIZES[0]]),
         ratio(by_size[SIZES[-1]], by_size[SIZES[1]])]
        for name, by_size in results.items()
    ]
    ours, sdk20, raw = results["ours sqlite file"], results[f"SDK SQLiteSession file limit={SDK_LIMIT}"], results["raw sqlite3 (lower bound)"]
    rows.append([f"SDK limit={SDK_LIMIT} / ours file", *[ratio(sdk20[s], ours[s]) for s in SIZES], "", ""])
    rows.append(["ours file / raw", *[ratio(ours[s], raw[s]) for s in SIZES], "", ""])
    try:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"Memory cost per turn: median µs (append 4 items + read window; ours {WINDOW_ITEMS} items)")
        for column in header:
            table.add_column(column, justify="left" if column == "contender" else "right")
        for row in rows:
            table.add_row(*row)
        Console(width=160).print(table)
    except ImportError:
        print(" | ".join(header))
        for row in rows:
            print(" | ".join(row))
    ours_names = ("ours sqlite memory", "ours sqlite file")
    flat = max(results[n][SIZES[-1]] / results[n][SIZES[0]] for n in ours_names)
    flat_window = max(results[n][SIZES[-1]] / results[n][SIZES[1]] for n in ours_names)
    faster = min(sdk20[s] / ours[s] for s in SIZES)
    floor = max(ours[s] / raw[s] for s in SIZES)
    print(f"targets: ours flat (10k/10 <= 1.3x): {flat:.2f}x {'OK' if flat <= 1.3 else 'MISSED'} "
          f"(10k/100, same 50-item window: {flat_window:.2f}x); "
          f">= 3x faster than SDK limit={SDK_LIMIT}: {faster:.2f}x {'OK' if faster >= 3 else 'MISSED'}; "
          f"within 4x of raw: {floor:.2f}x {'OK' if floor <= 4 else 'MISSED'}")


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    args = parser.parse_args(argv)
    budget, max_reps = (0.3, 100) if args.quick else (2.0, 2000)
    results: dict[str, dict[int, float]] = {}
    started = time.perf_counter()
    for contender in CONTENDERS:
        results[contender.name] = {size: await measure(contender, size, budget, max_reps) for size in SIZES}
        print(f"  measured {contender.name}", file=sys.stderr, flush=True)
    render(results)
    print(f"(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
