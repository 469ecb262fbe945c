"""Recall: which earlier items of a conversation matter for the current message.

The stores keep, per conversation, an inverted index of `index_terms(item_text(item))` written at
append time. For a new message they fetch the postings of `query_terms(message)` and call `rank`.
Everything here is pure Python, deterministic, and sees ONE conversation's postings of the QUERY
terms only, so a query costs what its terms' postings cost, not what the history costs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import snowballstemmer

from asdrp.memory.rows import item_text

__all__ = [
    "CorpusStats",
    "Posting",
    "RankParams",
    "index_terms",
    "item_terms",
    "query_terms",
    "rank",
]

MAX_QUERY_TERMS = 32
"""A query keeps at most this many distinct terms: a pasted essay must not fetch the whole index."""

MAX_INDEXED_CHARS = 65_536
"""Only this much of an item's text is indexed: a huge tool output must not stall an append."""

_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
"""A word is a run of unicode letters or digits, with inner apostrophes ("don't", "Nate's")."""

_CLITICS = frozenset({"s", "t", "re", "ve", "ll", "d", "m"})
"""What follows an apostrophe in an English contraction or possessive; the word is what precedes it."""

# A small, generic English stopword list: function words, pronouns and auxiliaries. Nothing about
# any topic or data set.
STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can cannot could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them themselves
    then there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours yourself yourselves
    """.split()
)

# Common English irregular forms mapped to the form the stemmer gives the regular ones, so "won"
# finds "win" and "children" finds "child": grammar, the same for every conversation.
IRREGULAR = {
    form: base
    for base, forms in {
        "arise": "arose arisen", "be": "was were been", "bear": "bore borne born", "beat": "beaten",
        "become": "became", "begin": "began begun", "bend": "bent", "bet": "", "bite": "bit bitten",
        "bleed": "bled", "blow": "blew blown", "break": "broke broken", "breed": "bred",
        "bring": "brought", "build": "built", "burn": "burnt", "buy": "bought", "catch": "caught",
        "choose": "chose chosen", "come": "came", "creep": "crept", "deal": "dealt", "dig": "dug",
        "do": "did done", "draw": "drew drawn", "dream": "dreamt", "drink": "drank drunk",
        "drive": "drove driven", "eat": "ate eaten", "fall": "fell fallen", "feed": "fed",
        "feel": "felt", "fight": "fought", "find": "found", "flee": "fled", "fly": "flew flown",
        "forbid": "forbade forbidden", "forget": "forgot forgotten", "forgive": "forgave forgiven",
        "freeze": "froze frozen", "get": "got gotten", "give": "gave given", "go": "went gone",
        "grind": "ground", "grow": "grew grown", "hang": "hung", "have": "had", "hear": "heard",
        "hide": "hid hidden", "hold": "held", "keep": "kept", "kneel": "knelt", "know": "knew known",
        "lay": "laid", "lead": "led", "lean": "leant", "leap": "leapt", "learn": "learnt",
        "leave": "left", "lend": "lent", "lie": "lain", "light": "lit", "lose": "lost", "make": "made",
        "mean": "meant", "meet": "met", "pay": "paid", "prove": "proven", "ride": "rode ridden",
        "ring": "rang rung", "rise": "rose risen", "run": "ran", "say": "said", "see": "saw seen",
        "seek": "sought", "sell": "sold", "send": "sent", "sew": "sewn", "shake": "shook shaken",
        "shine": "shone", "shoot": "shot", "show": "shown", "shrink": "shrank shrunk",
        "sing": "sang sung", "sink": "sank sunk", "sit": "sat", "sleep": "slept", "slide": "slid",
        "speak": "spoke spoken", "spend": "spent", "spin": "spun", "stand": "stood",
        "steal": "stole stolen", "stick": "stuck", "sting": "stung", "strike": "struck",
        "swear": "swore sworn", "sweep": "swept", "swim": "swam swum", "swing": "swung",
        "take": "took taken", "teach": "taught", "tear": "tore torn", "tell": "told",
        "think": "thought", "throw": "threw thrown", "understand": "understood", "wake": "woke woken",
        "wear": "wore worn", "weave": "wove woven", "weep": "wept", "win": "won", "wind": "wound",
        "write": "wrote written", "child": "children", "man": "men", "woman": "women",
        "foot": "feet", "tooth": "teeth", "mouse": "mice", "goose": "geese", "person": "people",
    }.items()
    for form in forms.split()
}

_STEMMER = snowballstemmer.stemmer("english")

_TERM_CACHE: dict[str, str] = {}
_TERM_CACHE_SIZE = 1 << 17
"""Words seen -> their term ("" for a dropped word); cleared when full. Conversations reuse few words."""


def _term(token: str) -> str:
    """The index term of a lowercase token, "" when it carries no meaning (stopword, clitic, 1 char)."""
    head, apostrophe, tail = token.replace("\u2019", "'").partition("'")
    if apostrophe:
        if tail in _CLITICS:  # "nate's" -> "nate"; "don't", "isn't" -> dropped (negated auxiliaries)
            token = "" if tail == "t" and head.endswith("n") else head
        else:  # "rock'n'roll", "o'clock": one word
            token = token.replace("'", "").replace("\u2019", "")
    if len(token) < 2 or token in STOPWORDS:
        return ""
    return _STEMMER.stemWord(IRREGULAR.get(token, token))


def _terms(text: str) -> list[str]:
    """The index terms of a text, in order, with repeats."""
    cache = _TERM_CACHE
    if len(cache) > _TERM_CACHE_SIZE:
        cache.clear()
    out = []
    for token in _WORD.findall(text[:MAX_INDEXED_CHARS].lower()):
        term = cache.get(token)
        if term is None:
            term = cache[token] = _term(token)
        if term:
            out.append(term)
    return out


def index_terms(text: str) -> dict[str, int]:
    """The index terms of a text with their counts: what a store indexes for an item at append time."""
    counts: dict[str, int] = {}
    for term in _terms(text):
        counts[term] = counts.get(term, 0) + 1
    return counts


def item_terms(item: dict) -> dict[str, int]:
    """`index_terms` of an item's readable text (message text, tool call, tool output)."""
    return index_terms(item_text(item))


def query_terms(text: str) -> list[str]:
    """The distinct terms of a query in order of first appearance, at most MAX_QUERY_TERMS."""
    seen: dict[str, None] = {}
    for term in _terms(text):
        seen[term] = None
        if len(seen) >= MAX_QUERY_TERMS:
            break
    return list(seen)


@dataclass(frozen=True)
class Posting:
    """One query term in one item of the conversation."""

    seq: int
    """The item's position in the conversation (increasing)."""
    term: str
    tf: int
    """Occurrences of the term in the item."""
    length: int
    """Number of index terms of the item (sum of its counts)."""


@dataclass(frozen=True)
class CorpusStats:
    """What BM25 needs to know about the whole conversation, kept as two counters by the store."""

    items: int
    """Number of indexed items in the conversation."""
    total_length: int
    """Sum of their lengths."""


@dataclass(frozen=True)
class RankParams:
    """Knobs of `rank`; the defaults are the tested ones (the bench ablates them)."""

    k1: float = 1.2
    b: float = 0.75


DEFAULT_PARAMS = RankParams()


def _idf(items: int, df: int) -> float:
    """BM25 idf in its non-negative form: a term in every item still counts a little, never negatively."""
    return math.log(1.0 + (items - df + 0.5) / (df + 0.5))


def bm25_scores(postings: Iterable[Posting], stats: CorpusStats, params: RankParams = DEFAULT_PARAMS) -> dict[int, float]:
    """Plain BM25 score per seq over the given postings (query terms OR-ed)."""
    by_term: dict[str, list[Posting]] = {}
    for p in postings:
        by_term.setdefault(p.term, []).append(p)
    items = max(stats.items, 1)
    avg_length = max(stats.total_length / items, 1.0)
    k1, b = params.k1, params.b
    scores: dict[int, float] = {}
    for plist in by_term.values():
        idf = _idf(max(items, len(plist)), len(plist))
        for p in plist:
            norm = k1 * (1.0 - b + b * p.length / avg_length)
            scores[p.seq] = scores.get(p.seq, 0.0) + idf * p.tf * (k1 + 1.0) / (p.tf + norm)
    return scores


def rank(
    postings: Iterable[Posting],
    stats: CorpusStats,
    limit: int,
    neighbours: Callable[..., object] | None = None,
    *,
    params: RankParams = DEFAULT_PARAMS,
) -> list[int]:
    """The seqs of the `limit` most relevant items, best first (ties: the more recent first)."""
    if limit <= 0:
        return []
    scores = bm25_scores(postings, stats, params)
    return sorted(scores, key=lambda seq: (-scores[seq], -seq))[:limit]
