"""Benchmark: recall of earlier turns on LoCoMo-format conversations (not a test).

Each conversation is appended item by item (speaker A's turns as user messages, speaker B's as
assistant messages, text "Name: text", a shared photo's caption appended as
" [shares a photo: caption]"). For every question of categories 1-4 each row returns k items and
recall@k = the share of the question's evidence turns among them, for k = 5, 10, 20.

A row is a name and a `build(conversations) -> recall(conversation_id, question, k) -> [dia_id]`;
add a real store by appending a `Row` to ROWS (see `sdk_items` for the items to append: seq i of a
conversation is `conversation.turns[i]`).

The data is evaluation data and is never part of the repository: pass its paths.

    .venv/bin/python bench/recall_locomo.py /path/to/locomo/*.json [--ablation]
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from asdrp.memory import recall as R  # noqa: E402

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
    """What a store keeps per conversation: postings term -> [(seq, tf)], item lengths, totals."""

    def __init__(self, items: Sequence[dict[str, Any]]) -> None:
        self.postings: dict[str, list[tuple[int, int]]] = {}
        self.lengths: list[int] = []
        self.terms: list[dict[str, int]] = []
        for seq, item in enumerate(items):
            terms = R.item_terms(item)
            self.terms.append(terms)
            self.lengths.append(sum(terms.values()))
            for term, tf in terms.items():
                self.postings.setdefault(term, []).append((seq, tf))
        self.stats = R.CorpusStats(items=len(self.lengths), total_length=sum(self.lengths))

    def fetch(self, terms: Sequence[str]) -> list[R.Posting]:
        """The store primitive: every posting of the given terms in this conversation."""
        return [
            R.Posting(seq, term, tf, self.lengths[seq]) for term in terms for seq, tf in self.postings.get(term, ())
        ]

    def terms_of(self, seqs: Sequence[int]) -> dict[int, dict[str, int]]:
        """The optional store primitive for feedback: the index terms of a few items by seq."""
        return {seq: self.terms[seq] for seq in seqs if 0 <= seq < len(self.terms)}


def ours_row(params: R.RankParams = R.DEFAULT_PARAMS) -> Callable[[Sequence[Conversation]], Recall]:
    """Our ranking over an in-memory index built with index_terms (what every store keeps)."""

    def build(conversations: Sequence[Conversation]) -> Recall:
        indexes = {c.id: MemoryIndex(sdk_items(c)) for c in conversations}
        dia = {c.id: [t.dia_id for t in c.turns] for c in conversations}

        def recall(cid: str, question: str, k: int) -> list[str]:
            index = indexes[cid]
            postings = index.fetch(R.query_terms(question))
            seqs = R.rank(postings, index.stats, k, index.terms_of, params=params)
            return [dia[cid][s] for s in seqs]

        return recall

    return build


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


def mean(scores: dict[tuple[str, int, int], list[float]], k: int, cid: str | None = None, cat: int | None = None) -> float:
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
        s = score(row.build(conversations), conversations)
        cells = [f"{mean(s, k):.3f}" for k in KS]
        cells += [f"{mean(s, 10, cat=cat):.3f}" for cat in CATEGORIES]
        cells += [f"{mean(s, 10, cid=c.id):.3f}" for c in conversations]
        table.add_row(row.name, *cells)
    console.print(table)


# ---------------------------------------------------------------------------------------- cost


def index_cost(conversations: Sequence[Conversation], console: Console) -> None:
    """µs per item for index_terms (stem cache cold, then warm) and p50 ms per query on the largest."""
    texts = [t.text for c in conversations for t in c.turns]
    R._stem.cache_clear()
    start = time.perf_counter()
    for text in texts:
        R.index_terms(text)
    cold = (time.perf_counter() - start) / len(texts) * 1e6
    rounds = 5
    start = time.perf_counter()
    for _ in range(rounds):
        for text in texts:
            R.index_terms(text)
    warm = (time.perf_counter() - start) / (rounds * len(texts)) * 1e6

    largest = max(conversations, key=lambda c: len(c.turns))
    index = MemoryIndex(sdk_items(largest))
    rank_ms, total_ms, postings = [], [], []
    for q in largest.questions:
        t0 = time.perf_counter()
        found = index.fetch(R.query_terms(q.text))
        t1 = time.perf_counter()
        R.rank(found, index.stats, 10, index.terms_of)
        t2 = time.perf_counter()
        rank_ms.append((t2 - t1) * 1e3)
        total_ms.append((t2 - t0) * 1e3)
        postings.append(len(found))
    mean_chars = sum(map(len, texts)) / len(texts)
    console.print(
        f"index_terms: {cold:.1f} µs/item with a cold stem cache, {warm:.1f} µs/item warm "
        f"({len(texts)} items, {mean_chars:.0f} chars on average)\n"
        f"rank on the largest conversation ({largest.id}, {len(largest.turns)} items, {len(largest.questions)} "
        f"queries, p50 {statistics.median(postings):.0f} postings/query): p50 {statistics.median(rank_ms):.3f} ms, "
        f"p95 {sorted(rank_ms)[int(0.95 * len(rank_ms))]:.3f} ms; with query_terms + in-memory fetch: p50 "
        f"{statistics.median(total_ms):.3f} ms"
    )


# ---------------------------------------------------------------------------------------- ablation

ABLATION: list[tuple[str, R.RankParams]] = [("ours (defaults)", R.DEFAULT_PARAMS)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path, help="LoCoMo-format JSON files")
    parser.add_argument("--ablation", action="store_true", help="also rank with each idea switched off")
    args = parser.parse_args(argv)
    conversations = [load(p) for p in args.paths]
    console = Console(width=250)
    main_table(ROWS, conversations, console)
    if args.ablation:
        main_table([Row(name, ours_row(p)) for name, p in ABLATION], conversations, console)
    index_cost(conversations, console)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
