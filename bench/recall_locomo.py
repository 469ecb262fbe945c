"""Benchmark: recall of earlier turns on LoCoMo-format conversations (not a test).

Each conversation is appended item by item (speaker A's turns as user messages, speaker B's as
assistant messages, text "Name: text", a shared photo's caption appended as
" [shares a photo: caption]"). For every question of categories 1-4 each row returns k items and
recall@k = the share of the question's evidence turns among them, for k = 5, 10, 20.

A row is a name and a `build(conversations) -> recall(conversation_id, question, k) -> [dia_id]`;
add a real store by appending a `Row` to ROWS (see `sdk_items` for the items to append: seq i of a
conversation is `conversation.turns[i]`).

The data is evaluation data and is never part of the repository: pass its paths.

    .venv/bin/python bench/recall_locomo.py /path/to/locomo/*.json [--ablation] [--sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from asdrp.memory import recall as R

KS = (5, 10, 20)
WINDOW_ITEMS = 50
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
_DIA_ID = re.compile(r"D:?(\d+):(\d+)")


# ---------------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Turn:
    dia_id: str
    role: str  # "user" (speaker A) or "assistant" (speaker B)
    text: str


@dataclass(frozen=True)
class Question:
    text: str
    category: int
    evidence: frozenset[str]


@dataclass(frozen=True)
class Conversation:
    id: str
    turns: list[Turn]
    questions: list[Question]


def _evidence(raw: Sequence[str]) -> frozenset[str]:
    """Evidence dia_ids, tolerating the data's few typos ("D8:6; D9:17", "D:11:26")."""
    found = set()
    for entry in raw:
        found.update(f"D{a}:{b}" for a, b in _DIA_ID.findall(str(entry)))
    return frozenset(found)


def load(path: Path) -> Conversation:
    """One LoCoMo conversation file: its turns in session order and its category 1-4 questions."""
    data = json.loads(path.read_text(encoding="utf-8"))
    conv = data.get("conversation", data)  # the original locomo10.json nests it; the split does not
    speaker_a = conv["speaker_a"]
    sessions = sorted(
        (int(m.group(1)), value)
        for key, value in conv.items()
        if (m := re.fullmatch(r"session_(\d+)", key)) and isinstance(value, list)
    )
    turns = []
    for _, session in sessions:
        for turn in session:
            text = f"{turn['speaker']}: {turn['text']}"
            if turn.get("blip_caption"):
                text += f" [shares a photo: {turn['blip_caption']}]"
            turns.append(Turn(turn["dia_id"], "user" if turn["speaker"] == speaker_a else "assistant", text))
    known = {t.dia_id for t in turns}
    questions = []
    for qa in data["qa"]:
        evidence = _evidence(qa.get("evidence", [])) & known
        if qa.get("category") in CATEGORIES and evidence:
            questions.append(Question(str(qa["question"]), int(qa["category"]), evidence))
    return Conversation(path.stem, turns, questions)


def sdk_items(conversation: Conversation) -> list[dict[str, Any]]:
    """The conversation as SDK items, in order: what a real store appends."""
    items: list[dict[str, Any]] = []
    for turn in conversation.turns:
        if turn.role == "user":
            items.append({"role": "user", "content": turn.text})
        else:
            items.append(
                {"type": "message", "role": "assistant", "status": "completed",
                 "content": [{"type": "output_text", "text": turn.text, "annotations": []}]}
            )
    return items


# ---------------------------------------------------------------------------------------- rows

Recall = Callable[[str, str, int], list[str]]


@dataclass(frozen=True)
class Row:
    name: str
    build: Callable[[Sequence[Conversation]], Recall]


def window_row(conversations: Sequence[Conversation]) -> Recall:
    """The bounded window alone: the last 50 items, whatever k (so the same figure in every column)."""
    last = {c.id: [t.dia_id for t in c.turns[-WINDOW_ITEMS:]] for c in conversations}
    return lambda cid, question, k: last[cid]


def fts5_row(conversations: Sequence[Conversation]) -> Recall:
    """Plain BM25: SQLite FTS5 (Porter stemmer) over every turn, the question's non-stopwords OR-ed."""
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE VIRTUAL TABLE turns USING fts5(conversation UNINDEXED, dia_id UNINDEXED, text,"
        " tokenize='porter unicode61')"
    )
    for c in conversations:
        db.executemany("INSERT INTO turns VALUES (?, ?, ?)", [(c.id, t.dia_id, t.text) for t in c.turns])

    def recall(cid: str, question: str, k: int) -> list[str]:
        words = dict.fromkeys(w for w in re.findall(r"\w+", question.lower()) if w not in R.STOPWORDS)
        if not words:
            return []
        match = " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
        rows = db.execute(
            "SELECT dia_id FROM turns WHERE turns MATCH ? AND conversation = ? ORDER BY bm25(turns) LIMIT ?",
            (match, cid, k),
        )
        return [r[0] for r in rows]

    return recall


class MemoryIndex:
    """What a store keeps per conversation: postings term -> [(seq, tf)], item lengths, two counters.

    `seqs` numbers the items (default 0, 1, 2, ...); pass gapped numbers to play a store whose seqs
    are global row ids shared with other conversations.
    """

    def __init__(self, items: Sequence[dict[str, Any]], seqs: Sequence[int] | None = None) -> None:
        self.seqs = list(seqs) if seqs is not None else list(range(len(items)))
        self.items = dict(zip(self.seqs, items))
        self.postings: dict[str, list[tuple[int, int]]] = {}
        self.lengths: dict[int, int] = {}
        for seq, item in zip(self.seqs, items):
            terms = R.item_terms(item)
            self.lengths[seq] = sum(terms.values())
            for term, tf in terms.items():
                self.postings.setdefault(term, []).append((seq, tf))
        indexed = sum(1 for n in self.lengths.values() if n)
        self.stats = R.CorpusStats(items=indexed, total_length=sum(self.lengths.values()))
        self._position = {seq: i for i, seq in enumerate(self.seqs)}

    def fetch(self, terms: Sequence[str]) -> list[R.Posting]:
        """The store primitive: every posting of the given terms in this conversation."""
        return [
            R.Posting(seq, term, tf, self.lengths[seq]) for term in terms for seq, tf in self.postings.get(term, ())
        ]

    def neighbours(self, seqs: Sequence[int]) -> dict[int, tuple[int | None, int | None]]:
        """The optional store primitive: the seqs right before and after each given seq."""
        out = {}
        for seq in seqs:
            i = self._position.get(seq)
            if i is not None:
                out[seq] = (self.seqs[i - 1] if i > 0 else None, self.seqs[i + 1] if i + 1 < len(self.seqs) else None)
        return out


def ours_row(
    params: R.RankParams = R.DEFAULT_PARAMS,
    *,
    interleaved: bool = False,
    with_neighbours: bool = False,
    framing: bool = False,
) -> Callable[[Sequence[Conversation]], Recall]:
    """Our ranking and selection over an in-memory index built with item_terms (what every store keeps).

    `interleaved`: number items like global row ids of a store shared by all conversations, one
    item of each in turn (no two items of a conversation get consecutive seqs);
    `with_neighbours`: pass the index's `neighbours` primitive to rank;
    `framing`: keep the question's QUESTION_FRAMING words as query terms.
    """

    def terms(question: str) -> list[str]:
        return list(R.index_terms(question))[: R.MAX_QUERY_TERMS] if framing else R.query_terms(question)


    def build(conversations: Sequence[Conversation]) -> Recall:
        indexes, dia = {}, {}
        for n, c in enumerate(conversations):
            seqs = [i * len(conversations) + n for i in range(len(c.turns))] if interleaved else None
            indexes[c.id] = index = MemoryIndex(sdk_items(c), seqs)
            dia[c.id] = dict(zip(index.seqs, (t.dia_id for t in c.turns)))

        def recall(cid: str, question: str, k: int) -> list[str]:
            index = indexes[cid]
            query = terms(question)
            neighbours = index.neighbours if with_neighbours else None
            ranked = R.rank_scores(index.fetch(query), index.stats, R.selection_depth(k), neighbours, params=params)
            selection = R.Selection(ranked, query, k, params)  # what StoreBase.recall does with what it reads
            while batch := selection.batch():
                selection.offer({seq: index.items[seq] for seq in batch})
            return [dia[cid][s] for s in selection.result()]

        return recall

    return build


def store_row(open_store: Callable[[], Any]) -> Callable[[Sequence[Conversation]], Recall]:
    """A real store's recall: append every conversation (one session each, one item per append,
    the conversations' turns interleaved as a live server interleaves them) to `open_store()`, then
    ask `store.recall`. The store's seqs map back to dia_ids through `store.read`. Runs the store's
    async API on a private event loop; `recall.close()` closes (and, for a shared store, drops) it."""

    def build(conversations: Sequence[Conversation]) -> Recall:
        from asdrp.memory import ConversationKey

        loop = asyncio.new_event_loop()
        store = open_store()
        dia: dict[str, dict[int, str]] = {}
        keys = {c.id: ConversationKey("bench", f"locomo-{c.id}") for c in conversations}

        async def fill() -> None:
            queues = {c.id: sdk_items(c) for c in conversations}
            for position in range(max(len(q) for q in queues.values())):
                for cid, items in queues.items():
                    if position < len(items):
                        await store.append(keys[cid], [items[position]], agent=None)
            for c in conversations:
                stored = await store.read(keys[c.id])
                dia[c.id] = {s.seq: t.dia_id for s, t in zip(stored, c.turns)}

        loop.run_until_complete(fill())

        async def close() -> None:
            drop = getattr(store, "drop_schema", None) or getattr(store, "drop_prefix", None)
            if drop is not None:
                await drop()
            await store.close()

        def recall(cid: str, question: str, k: int) -> list[str]:
            found = loop.run_until_complete(store.recall(keys[cid], question[:10_000], limit=k))
            return [dia[cid][s.seq] for s in found]

        def finish() -> None:
            loop.run_until_complete(close())
            loop.close()

        recall.close = finish  # type: ignore[attr-defined]  # main_table closes the store after scoring
        return recall

    return build


def store_rows(tmp: Path) -> list[Row]:
    """Ours on every store: SQLite in memory and in a file, and PostgreSQL and Redis when they answer."""
    from asdrp.memory import SqliteStore
    from asdrp.memory.stores.postgres import PostgresSettings, PostgresStore
    from asdrp.memory.stores.redis import RedisSettings, RedisStore

    name = f"locomo_{os.getpid()}"
    rows = [
        Row("ours: SqliteStore in memory", store_row(lambda: SqliteStore(None))),
        Row("ours: SqliteStore file", store_row(lambda: SqliteStore(tmp / "locomo.db"))),
    ]
    for kind, url, port, make in (
        ("PostgresStore", POSTGRES_URL, 5432, lambda: PostgresStore(POSTGRES_URL, PostgresSettings(schema=name))),
        ("RedisStore", REDIS_URL, 6379, lambda: RedisStore(REDIS_URL, RedisSettings(prefix=f"{name}:"))),
    ):
        parts = urlsplit(url)
        try:
            socket.create_connection((parts.hostname or "127.0.0.1", parts.port or port), timeout=1).close()
        except OSError:
            print(f"  {kind} is not reachable at {url}: its row is left out", file=sys.stderr)
            continue
        rows.append(Row(f"ours: {kind}", store_row(make)))
    return rows


POSTGRES_URL = os.environ.get("ASDRP_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("ASDRP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


ROWS = [
    Row("window (last 50 items)", window_row),
    Row("plain BM25 (every turn)", fts5_row),
    Row("ours", ours_row()),
]


# ---------------------------------------------------------------------------------------- scoring


def score(recall: Recall, conversations: Sequence[Conversation]) -> dict[tuple[str, int, int], list[float]]:
    """recall@k per question, keyed (conversation id, category, k)."""
    out: dict[tuple[str, int, int], list[float]] = {}
    for c in conversations:
        for q in c.questions:
            for k in KS:
                got = set(recall(c.id, q.text, k))
                out.setdefault((c.id, q.category, k), []).append(len(q.evidence & got) / len(q.evidence))
    return out


def mean(
    scores: dict[tuple[str, int, int], list[float]], k: int, cid: str | None = None, cat: int | None = None
) -> float:
    """Mean recall@k over the questions, optionally of one conversation or one category."""
    values = [
        v for (c, g, kk), vs in scores.items() for v in vs if kk == k and cid in (None, c) and cat in (None, g)
    ]
    return sum(values) / len(values) if values else float("nan")


def main_table(rows: Sequence[Row], conversations: Sequence[Conversation], console: Console) -> None:
    n = sum(len(c.questions) for c in conversations)
    table = Table(title=f"LoCoMo recall@k — {len(conversations)} conversations, {n} questions (categories 1-4)")
    table.add_column("row")
    for k in KS:
        table.add_column(f"all @{k}", justify="right")
    for cat, label in CATEGORIES.items():
        count = sum(1 for c in conversations for q in c.questions if q.category == cat)
        table.add_column(f"{cat} {label} ({count}) @10", justify="right")
    for c in conversations:
        table.add_column(f"conv {c.id} @10", justify="right")
    for row in rows:
        recall = row.build(conversations)
        try:
            s = score(recall, conversations)
        finally:
            getattr(recall, "close", lambda: None)()
        cells = [f"{mean(s, k):.3f}" for k in KS]
        cells += [f"{mean(s, 10, cat=cat):.3f}" for cat in CATEGORIES]
        cells += [f"{mean(s, 10, cid=c.id):.3f}" for c in conversations]
        table.add_row(row.name, *cells)
    console.print(table)


# ---------------------------------------------------------------------------------------- cost


def _µs_per_text(texts: Sequence[str], rounds: int) -> float:
    """CPU µs per text for index_terms: the best of `rounds` passes (other processes only slow a pass)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for text in texts:
            R.index_terms(text)
        best = min(best, time.process_time() - start)
    return best / len(texts) * 1e6


def index_cost(conversations: Sequence[Conversation], console: Console) -> None:
    """µs per item for index_terms (cold and warm word cache) and ms per query for rank on the largest."""
    texts = [t.text for c in conversations for t in c.turns]
    short = [t for t in texts if len(t) <= 60]
    R._TERM_CACHE.clear()
    cold = _µs_per_text(texts, 1)
    warm, warm_short = _µs_per_text(texts, 5), _µs_per_text(short, 5)

    largest = max(conversations, key=lambda c: len(c.turns))
    index = MemoryIndex(sdk_items(largest))
    rank_ms, total_ms, postings = [], [], []
    for q in largest.questions:
        t0 = time.process_time()
        found = index.fetch(R.query_terms(q.text))
        t1 = time.process_time()
        R.rank_scores(found, index.stats, 10)
        t2 = time.process_time()
        rank_ms.append((t2 - t1) * 1e3)
        total_ms.append((t2 - t0) * 1e3)
        postings.append(len(found))
    console.print(
        f"index_terms (CPU time): {warm:.1f} µs/item warm, {cold:.1f} µs/item on first sight of the words "
        f"({len(texts)} items, {sum(map(len, texts)) / len(texts):.0f} chars on average); {warm_short:.1f} µs/item "
        f"for the {len(short)} items of at most 60 chars\n"
        f"rank (CPU time) on the largest conversation ({largest.id}, {len(largest.turns)} items, "
        f"{len(largest.questions)} queries, p50 {statistics.median(postings):.0f} postings/query): "
        f"p50 {statistics.median(rank_ms):.2f} ms, p95 {sorted(rank_ms)[int(0.95 * len(rank_ms))]:.2f} ms; "
        f"with query_terms + in-memory fetch: p50 {statistics.median(total_ms):.2f} ms"
    )


# ---------------------------------------------------------------------------------------- ablation

NO_SPEAKER = replace(R.DEFAULT_PARAMS, speaker=0.0)
NO_NEIGHBOURS = replace(NO_SPEAKER, following=(), preceding=())
ABLATION: list[Row] = [
    Row("BM25 on index_terms (k1 1.2, b 0.75)", ours_row(R.PLAIN_BM25, framing=True)),
    Row("+ k1 0.9, b 0.3", ours_row(NO_NEIGHBOURS, framing=True)),
    Row("+ neighbours at distance 1", ours_row(replace(NO_SPEAKER, following=(0.5,), preceding=(0.2,)), framing=True)),
    Row("+ distance 2", ours_row(NO_SPEAKER, framing=True)),
    Row("+ question framing words dropped", ours_row(NO_SPEAKER)),
    Row("+ the named speaker preferred = ours", ours_row()),
    Row("ours, lending every term", ours_row(replace(R.DEFAULT_PARAMS, complement=False))),
    Row("ours, b 0.5", ours_row(replace(R.DEFAULT_PARAMS, b=0.5))),
    Row("ours + neighbours primitive", ours_row(with_neighbours=True)),
    Row("ours, interleaved seqs", ours_row(interleaved=True)),
    Row("ours, interleaved seqs + neighbours primitive", ours_row(interleaved=True, with_neighbours=True)),
]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path, help="LoCoMo-format JSON files")
    parser.add_argument("--ablation", action="store_true", help="also rank with each idea switched off")
    parser.add_argument("--no-stores", action="store_true", help="leave out the rows of the real stores")
    args = parser.parse_args(argv)
    conversations = [load(p) for p in args.paths]
    console = Console(width=250)
    with tempfile.TemporaryDirectory(prefix="asdrp-locomo-") as tmp:
        main_table([*ROWS, *([] if args.no_stores else store_rows(Path(tmp)))], conversations, console)
    if args.ablation:
        main_table(ABLATION, conversations, console)
    index_cost(conversations, console)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
