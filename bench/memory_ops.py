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
import os
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from agents import SQLiteSession

from asdrp.memory import ConversationKey, ConversationSession, SqliteStore
from asdrp.memory.rows import make_rows, title_from

SIZES = (10, 100, 1_000, 10_000)
WINDOW_ITEMS = 50
SDK_LIMIT = 20


def turn_items(n: int) -> list[dict[str, Any]]:
    """A realistic 4-item tool turn."""
    call_id = f"call-{n}"
    return [
        {"role": "user", "content": f"What is the weather like near landmark number {n} today?"},
        {"type": "function_call", "call_id": call_id, "name": "get_weather",
         "arguments": json.dumps({"place": f"landmark {n}"})},
        {"type": "function_call_output", "call_id": call_id,
         "output": json.dumps({"summary": f"Landmark {n} is sunny, 21 C.", "temp_c": 21})},
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
    """Ours: read the window through ConversationSession, then append a turn (the runner's order)."""

    def __init__(self, store: Any, size: int) -> None:
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
        self.db.executemany(
            "INSERT INTO items (session_id, data) VALUES ('bench', ?)", [(json.dumps(i),) for i in history(size)]
        )
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


class UnindexedSqliteStore(SqliteStore):
    """Our SQLite store with the recall index left empty: what a turn cost before recall existed."""

    async def append(self, key: Any, items: Any, *, agent: str | None, agent_id: str | None = None,
                     settle: str | None = None) -> None:
        now = time.time()
        rows = make_rows(key, list(items), agent=agent, created_at=now)  # no `index=`: no postings
        await self._append_rows(key, rows, agent_id=agent_id, title=title_from(items), now=now, created_at=now,
                                settle=settle)


class UnindexedTurn(OursTurn):
    @classmethod
    async def open(cls, path: Path | None, size: int) -> OursTurn:
        self = cls(UnindexedSqliteStore(path), size)
        await self.store.append(self.session.key, history(size), agent="bench")
        return self


CONTENDERS: list[Contender] = [
    Contender("ours sqlite memory", lambda d, n: OursTurn.open(None, n)),
    Contender("ours sqlite file", lambda d, n: OursTurn.open(d / "ours.db", n)),
    Contender("ours sqlite file, no recall index", lambda d, n: UnindexedTurn.open(d / "plain.db", n)),
    Contender("SDK SQLiteSession file get_items()", lambda d, n: SdkTurn.open(d / "sdk.db", n, None)),
    Contender(f"SDK SQLiteSession file limit={SDK_LIMIT}", lambda d, n: SdkTurn.open(d / "sdk.db", n, SDK_LIMIT)),
    Contender("raw sqlite3 (lower bound)", lambda d, n: RawTurn.open(d / "raw.db", n)),
]
"""The rows of the table; other backends append theirs (same Turn protocol)."""


# --- shared stores (PostgreSQL, Redis) -----------------------------------------------------------
# Measured only when the service answers; each conversation lives in a schema / key prefix of its own.

PG_URL = os.environ.get("ASDRP_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("ASDRP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


class SharedOursTurn(OursTurn):
    """Ours on PostgreSQL / Redis, in a namespace (schema / key prefix) of its own, dropped at close."""

    @classmethod
    async def open(cls, kind: str, size: int) -> SharedOursTurn:
        from asdrp.memory.stores.postgres import PostgresSettings, PostgresStore
        from asdrp.memory.stores.redis import RedisSettings, RedisStore

        name = uuid.uuid4().hex[:10]
        store = (PostgresStore(PG_URL, PostgresSettings(schema=f"bench_{name}")) if kind == "postgres"
                 else RedisStore(REDIS_URL, RedisSettings(prefix=f"bench-{name}:")))
        self = cls(store, size)
        items = history(size)
        for start in range(0, len(items), 1000):  # bulk pre-fill
            await store.append(self.session.key, items[start : start + 1000], agent="bench")
        return self

    async def close(self) -> None:
        if self.store.kind == "postgres":
            await self.store.drop_schema()
        else:
            await self.store.drop_prefix()
        await self.store.close()


class SdkSharedTurn(SdkTurn):
    """The SDK's SQLAlchemySession (PostgreSQL) / RedisSession with get_items(limit=20)."""

    def __init__(self, session: Any, cleanup: Callable[[], Awaitable[None]]) -> None:
        super().__init__(session, SDK_LIMIT)
        self.cleanup = cleanup

    @classmethod
    async def open(cls, kind: str, size: int) -> SdkSharedTurn:
        name = uuid.uuid4().hex[:10]
        if kind == "postgres":
            from agents.extensions.memory import SQLAlchemySession
            from sqlalchemy import text
            from sqlalchemy.ext.asyncio import create_async_engine

            schema = f"bench_sdk_{name}"
            url = PG_URL.replace("postgresql://", "postgresql+asyncpg://", 1)
            engine = create_async_engine(url, connect_args={"server_settings": {"search_path": schema}})
            async with engine.begin() as conn:
                await conn.execute(text(f"CREATE SCHEMA {schema}"))
            session = SQLAlchemySession("bench", engine=engine, create_tables=True)

            async def cleanup() -> None:
                async with engine.begin() as conn:
                    await conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                await engine.dispose()
        else:
            from agents.extensions.memory import RedisSession

            session = RedisSession.from_url("bench", url=REDIS_URL, key_prefix=f"bench-sdk-{name}")

            async def cleanup() -> None:
                await session.clear_session()
                await session.close()

        self = cls(session, cleanup)
        items = history(size)
        for start in range(0, len(items), 1000):
            await session.add_items(items[start : start + 1000])
        return self

    async def close(self) -> None:
        await self.cleanup()


def reachable(url: str, port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or port), timeout=1):
            return True
    except OSError:
        return False


SHARED_CONTENDERS: list[Contender] = [
    Contender("ours postgres", lambda d, n: SharedOursTurn.open("postgres", n)),
    Contender(f"SDK SQLAlchemySession postgres limit={SDK_LIMIT}", lambda d, n: SdkSharedTurn.open("postgres", n)),
    Contender("ours redis", lambda d, n: SharedOursTurn.open("redis", n)),
    Contender(f"SDK RedisSession limit={SDK_LIMIT}", lambda d, n: SdkSharedTurn.open("redis", n)),
]
"""Added to the table when their service is reachable (see main)."""
SHARED_PAIRS = [("postgres", "ours postgres", f"SDK SQLAlchemySession postgres limit={SDK_LIMIT}"),
                ("redis", "ours redis", f"SDK RedisSession limit={SDK_LIMIT}")]


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
    ours, sdk20, raw = (
        results["ours sqlite file"],
        results[f"SDK SQLiteSession file limit={SDK_LIMIT}"],
        results["raw sqlite3 (lower bound)"],
    )
    rows.append([f"SDK limit={SDK_LIMIT} / ours file", *[ratio(sdk20[s], ours[s]) for s in SIZES], "", ""])
    rows.append(["ours file / raw", *[ratio(ours[s], raw[s]) for s in SIZES], "", ""])
    plain = results["ours sqlite file, no recall index"]
    rows.append(["ours file / no recall index", *[ratio(ours[s], plain[s]) for s in SIZES], "", ""])
    shared = [(kind, o, k) for kind, o, k in SHARED_PAIRS if o in results and k in results]
    for _, o, k in shared:
        rows.append([f"{k.split(' limit')[0]} / {o}", *[ratio(results[k][s], results[o][s]) for s in SIZES], "", ""])
    try:
        from rich.console import Console
        from rich.table import Table

        table = Table(
            title=f"Memory cost per turn: median µs (append 4 items + read window; ours {WINDOW_ITEMS} items)"
        )
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
    indexing = max(ours[s] / plain[s] for s in SIZES)
    print(f"target recall: a turn with its indexing within 1.5x of one without: {indexing:.2f}x "
          f"{'OK' if indexing <= 1.5 else 'MISSED'}")
    print(f"targets: ours flat (10k/10 <= 1.3x): {flat:.2f}x {'OK' if flat <= 1.3 else 'MISSED'} "
          f"(10k/100, same 50-item window: {flat_window:.2f}x); "
          f">= 3x faster than SDK limit={SDK_LIMIT}: {faster:.2f}x {'OK' if faster >= 3 else 'MISSED'}; "
          f"within 4x of raw: {floor:.2f}x {'OK' if floor <= 4 else 'MISSED'}")
    for kind, o, k in shared:
        flat_shared = results[o][SIZES[-1]] / results[o][SIZES[0]]
        flat_shared_window = results[o][SIZES[-1]] / results[o][SIZES[1]]
        speedup = min(results[k][s] / results[o][s] for s in SIZES)
        print(f"targets {kind}: ours flat (10k/10 <= 1.3x): "
              f"{flat_shared:.2f}x {'OK' if flat_shared <= 1.3 else 'MISSED'} "
              f"(10k/100: {flat_shared_window:.2f}x); at least as fast as the SDK's class at limit={SDK_LIMIT}: "
              f"{speedup:.2f}x {'OK' if speedup >= 1 else 'MISSED'}")


# --- recall: cost per query on one conversation, and isolation from the rest of the store -----------

SYLLABLES = ["ka", "lo", "mi", "ten", "ra", "vo", "shi", "den", "pa", "lu", "gor", "fe", "zin", "bra", "tho", "ne"]
VOCABULARY = [a + b + c for a in SYLLABLES for b in SYLLABLES for c in ("", "m", "s", "ter", "ing")][:5_000]
"""5,000 made-up words: a conversation's vocabulary, used Zipf-like (word k about 1/k as often as word 1)."""
CUMULATIVE = list(__import__("itertools").accumulate(1 / (rank + 1) for rank in range(len(VOCABULARY))))


def sentence(rng: Any, n: int) -> str:
    """A message of 6-18 words drawn Zipf-like from VOCABULARY (word k about 1/k as frequent as word 1), by one
    of two speakers whose name starts every message (as LoCoMo's "Name: text" does)."""
    words = rng.choices(VOCABULARY, cum_weights=CUMULATIVE, k=rng.randint(6, 18))
    return ("Caroline: " if n % 2 == 0 else "Melanie: ") + " ".join(words) + "."


async def fill_conversation(store: SqliteStore, key: ConversationKey, items: int, seed: int) -> None:
    import random

    rng = random.Random(seed)
    batch = [{"role": "user" if n % 2 == 0 else "assistant", "content": sentence(rng, n)} for n in range(items)]
    for start in range(0, items, 1000):
        await store.append(key, batch[start : start + 1000], agent="bench")


async def recall_p50_ms(
    store: SqliteStore, key: ConversationKey, *, as_said: bool = False, queries: int = 200
) -> float:
    """p50 of recall for 4-word queries: words picked evenly from the vocabulary, or (`as_said`) with
    the conversation's own frequencies, so the commonest words are asked about most (the worst case)."""
    import random

    rng = random.Random(7)
    samples = []
    for _ in range(queries):
        words = rng.choices(VOCABULARY, cum_weights=CUMULATIVE, k=4) if as_said else rng.sample(VOCABULARY, 4)
        query = " ".join(words) + "?"
        start = time.perf_counter_ns()
        await store.recall(key, query, limit=10)
        samples.append((time.perf_counter_ns() - start) / 1e6)
    return statistics.median(samples)


async def recall_bench(conversations: int, items_each: int) -> None:
    """Recall p50 on a 10,000-item conversation, and on a 1,000-item one alone vs among `conversations`.

    Queries are four words of the conversation's vocabulary (see recall_p50_ms)."""
    with tempfile.TemporaryDirectory(prefix="asdrp-bench-recall-") as tmp:
        rows = []
        big = SqliteStore(Path(tmp) / "big.db")
        target = ConversationKey("bench", "target")
        await fill_conversation(big, target, 10_000, seed=1)
        rows.append(("one conversation of 10,000 items", f"{await recall_p50_ms(big, target):.2f}"))
        rows.append(("  … queries of its commonest words", f"{await recall_p50_ms(big, target, as_said=True):.2f}"))
        await big.close()
        alone = SqliteStore(Path(tmp) / "alone.db")
        await fill_conversation(alone, target, items_each, seed=2)
        alone_ms = await recall_p50_ms(alone, target)
        rows.append((f"one conversation of {items_each:,} items, alone in its store", f"{alone_ms:.2f}"))
        await alone.close()
        crowded = SqliteStore(Path(tmp) / "crowded.db")
        started = time.perf_counter()
        for n in range(conversations - 1):
            await fill_conversation(crowded, ConversationKey("bench", f"other-{n}"), items_each, seed=100 + n)
        await fill_conversation(crowded, target, items_each, seed=2)
        filled = time.perf_counter() - started
        crowded_ms = await recall_p50_ms(crowded, target)
        total = conversations * items_each
        rows.append((f"the same among {conversations:,} conversations ({total:,} items)", f"{crowded_ms:.2f}"))
        await crowded.close()
    try:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="Recall on SQLite (file): p50 ms per query (4 words, top 10)")
        table.add_column("store")
        table.add_column("p50 ms", justify="right")
        for row in rows:
            table.add_row(*row)
        Console(width=160).print(table)
    except ImportError:
        for row in rows:
            print(" | ".join(row))
    big_ms = float(rows[0][1])
    print(f"targets recall: p50 on 10,000 items <= 5 ms: {big_ms:.2f} {'OK' if big_ms <= 5 else 'MISSED'}; "
          f"crowded / alone <= 1.5x: {crowded_ms / alone_ms:.2f}x {'OK' if crowded_ms / alone_ms <= 1.5 else 'MISSED'}"
          f" (filling {total:,} items took {filled:.0f} s)")


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    parser.add_argument("--recall-only", action="store_true", help="only the recall table")
    args = parser.parse_args(argv)
    await recall_bench(100 if args.quick else 1_000, 1_000)
    if args.recall_only:
        return
    budget, max_reps = (0.3, 100) if args.quick else (2.0, 2000)
    results: dict[str, dict[int, float]] = {}
    started = time.perf_counter()
    contenders = list(CONTENDERS)
    for kind, url, port in (("postgres", PG_URL, 5432), ("redis", REDIS_URL, 6379)):
        if reachable(url, port):
            contenders += [c for c in SHARED_CONTENDERS if kind in c.name.lower()]
        else:
            print(f"  {kind} is not reachable at {url}: its rows are left out", file=sys.stderr)
    for contender in contenders:
        results[contender.name] = {size: await measure(contender, size, budget, max_reps) for size in SIZES}
        print(f"  measured {contender.name}", file=sys.stderr, flush=True)
    render(results)
    print(f"(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
