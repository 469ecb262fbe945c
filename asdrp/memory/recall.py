"""Recall: which earlier items of a conversation matter for the current message.

The stores keep, per conversation, an inverted index of `item_terms(item)` written at append time
(postings: term -> (seq, tf, length)) and two counters (items, total length). For a new message
they fetch the postings of `query_terms(message)` in that ONE conversation and call `rank_scores`, which
sees nothing else: a query costs what its terms' postings cost, never a scan of the history.

The ranking is BM25 plus two ideas that fit conversations. An item is judged with its neighbours:
an answer follows its question, and a topic runs over a few turns, so an item that sits right
after (or before) an item that matches the query well is likely to hold what was asked even when it
shares few words with the query (`smooth`). And who said it matters: when a query names one of the
people speaking ("What does Tim do to relax?"), what that person said is preferred to what others
said about them (`speaker`, applied by `Selection` once the candidates' text is read). Measured on
LoCoMo by bench/recall_locomo.py.

Everything is pure Python and deterministic; the only dependency is the Snowball stemmer.
"""

from __future__ import annotations

import functools
import heapq
import math
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import snowballstemmer

from asdrp.memory.rows import message_text

__all__ = [
    "DEFAULT_PARAMS",
    "TERMS_VERSION",
    "CorpusStats",
    "Neighbours",
    "Posting",
    "QUESTION_FRAMING",
    "RankParams",
    "Selection",
    "candidates",
    "repeat_key",
    "frequent_terms",
    "index_terms",
    "item_terms",
    "query_terms",
    "rank_scores",
    "reach",
    "selection_depth",
    "speaker",
    "speaker_terms",
]

MAX_QUERY_TERMS = 32
"""A query keeps at most this many distinct terms: a pasted essay must not fetch the whole index."""

MAX_INDEXED_CHARS = 65_536
"""Only this much of an item's text is indexed: a huge tool output must not stall an append."""

TERMS_VERSION = 1
"""The version of `index_terms`. Bump it whenever the same text can get other terms (tokeniser,
STOPWORDS, a stemmer upgrade): postings written under another version must be rebuilt
by a store migration, or old items stop matching new queries."""

_WORD = re.compile(r"[\w'\u2019]+")
"""A token: unicode letters and digits with apostrophes ("don't", "Nate's"); underscores are made spaces first."""

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

QUESTION_FRAMING = frozenset(
    """
    kind kinds type types sort sorts thing things way ways example examples particular specific
    mention mentioned describe described say said tell told talk talked share shared happen happened
    likely might probably possibly ever often recent recently current currently many much like
    something anything everything someone anyone
    """.split()
)
"""Words that frame a question rather than name its subject ("What *kind* of books has she
*mentioned*?"). They are rare in what people say to each other, so BM25 would weigh them as much as
the subject and fetch unrelated turns that happen to use them; a query drops them unless nothing
else is left. Generic English, chosen by role, not by any data set; queries only (the index keeps
every word, so the list can change without a re-index)."""

_STEMMER = snowballstemmer.stemmer("english")
_STEMMER_LOCK = threading.Lock()
"""A Snowball stemmer keeps its word in instance state: one call at a time (stores index from threads)."""

_TERM_CACHE: dict[str, str] = {}
_TERM_CACHE_SIZE = 1 << 17
"""Words seen -> their term ("" for a dropped word); cleared when full. Conversations reuse few words."""


def _term(token: str) -> str:
    """The index term of a lowercase token, "" when it carries no meaning (stopword, clitic, 1 char)."""
    token = token.replace("\u2019", "'").strip("'")
    head, apostrophe, tail = token.partition("'")
    if apostrophe:
        if tail in _CLITICS:  # "nate's" -> "nate"; "don't", "isn't" -> dropped (negated auxiliaries)
            token = "" if tail == "t" and head.endswith("n") else head
        else:  # "rock'n'roll", "o'clock": one word
            token = token.replace("'", "")
    if len(token) < 2 or token in STOPWORDS:
        return ""
    if token.isdigit():  # numbers stem to themselves: skip the stemmer (ids and amounts are often new)
        return token
    with _STEMMER_LOCK:
        return _STEMMER.stemWord(token)


def _terms(text: str) -> Iterable[str]:
    """The index terms of a text, in order, with repeats (a word's term is computed once per process)."""
    cache = _TERM_CACHE
    if len(cache) > _TERM_CACHE_SIZE:
        cache.clear()
    for token in _WORD.findall(text[:MAX_INDEXED_CHARS].lower().replace("_", " ")):
        term = cache.get(token)
        if term is None:
            term = cache[token] = _term(token)
        if term:
            yield term


def index_terms(text: str) -> dict[str, int]:
    """The index terms of a text with their counts: what a store indexes for an item at append time.

    Lowercased unicode words, minus stopwords and one-character words, contractions and possessives
    reduced to their word, then Snowball-stemmed (English).
    """
    counts: dict[str, int] = {}
    for term in _terms(text):
        counts[term] = counts.get(term, 0) + 1
    return counts


_FRAMING_TERMS = frozenset(index_terms(" ".join(QUESTION_FRAMING)))
"""QUESTION_FRAMING as index terms (stemmed like everything else)."""


def item_terms(item: dict) -> dict[str, int]:
    """`index_terms` of what an item says: the text of a message; nothing for tool calls and outputs.

    Recall is about what was said, and what it adds to a model's input is messages only (a tool
    result means nothing without its call); indexing tool JSON would double the cost of a turn.
    """
    if item.get("type", "message") != "message":
        return {}
    return index_terms(message_text(item))


def query_terms(text: str) -> list[str]:
    """The distinct terms of a query in order of first appearance: at most MAX_QUERY_TERMS, maybe none.

    Normalised exactly like `index_terms`, minus the QUESTION_FRAMING words when other terms remain.
    Any text is safe: FTS, SQL or Lua metacharacters are separators here, so the terms are plain
    words that a store binds as values.
    """
    seen: dict[str, None] = {}
    for term in _terms(text):
        seen[term] = None
        if len(seen) >= MAX_QUERY_TERMS:
            break
    subject = [term for term in seen if term not in _FRAMING_TERMS]
    return subject or list(seen)


@dataclass(frozen=True)
class Posting:
    """One query term in one item of the conversation."""

    seq: int
    """The item's position in the conversation (increasing). Adjacent items are read as seq +/- 1
    unless the store passes `neighbours` to `rank_scores` (see `Neighbours`)."""
    term: str
    tf: int
    """Occurrences of the term in the item."""
    length: int
    """Number of index terms of the item (the sum of its `index_terms` counts)."""


@dataclass(frozen=True)
class CorpusStats:
    """What BM25 needs to know about the whole conversation: two counters the store keeps up to date."""

    items: int
    """Number of indexed items in the conversation."""
    total_length: int
    """Sum of their lengths."""


Neighbours = Callable[[Sequence[int]], Mapping[int, tuple[int | None, int | None]]]
"""Optional store primitive: for each given seq of the conversation, the seqs of the items right
before and right after it in that conversation (None at either end). Seqs it leaves out are read
as having unknown neighbours. Only needed where a conversation's seqs are not consecutive."""


@dataclass(frozen=True)
class RankParams:
    """The knobs of `rank_scores`. The defaults are the measured ones; bench/recall_locomo.py ablates them."""

    k1: float = 0.9
    """BM25 term-frequency saturation: turns are short, so a repeated word adds little."""
    b: float = 0.3
    """BM25 length normalisation, much milder than the usual 0.75: in a conversation a long turn
    usually says more (a story, a list of what was done) rather than repeating itself, so it is
    hardly penalised; a short statement of a fact still wins on its rarer words."""
    following: tuple[float, ...] = (0.5, 0.3)
    """Share of an item's term scores lent to the 1st, 2nd item after it (an answer follows its question)."""
    preceding: tuple[float, ...] = (0.2, 0.2)
    """Share lent to the 1st, 2nd item before it (a topic is often opened a turn earlier)."""
    complement: bool = True
    """Lend a neighbour only the scores of query terms it lacks (see `smooth`); False lends them all."""
    unmatched: float = 0.5
    """Discount for a neighbour that holds no query term (admitted only when the store gives `neighbours`)."""
    max_linked: int = 256
    """At most this many of the best-matching seqs are passed to `neighbours` (bounded store work)."""
    speaker: float = 0.25
    """Extra share of its score for an item whose speaker the query names (see `speaker`): what a
    person said about themselves beats what others said to or about them, but a much better match by
    someone else still wins."""


DEFAULT_PARAMS = RankParams()
PLAIN_BM25 = RankParams(k1=1.2, b=0.75, following=(), preceding=(), speaker=0.0)
"""Textbook BM25 over the same terms, without neighbours: the baseline the defaults are measured against."""


def _idf(items: int, df: int) -> float:
    """BM25 idf in its non-negative form: a term in nearly every item still counts a little, never negatively."""
    return math.log(1.0 + (items - df + 0.5) / (df + 0.5))


FREQUENT_SHARE = 0.02
"""A query term found in more than this share of a conversation's items (and in more than
FREQUENT_MIN of them) is *frequent*: its postings are read only for the items near those the
other terms found. Its idf is small, so it reorders candidates but hardly ever finds one alone,
and skipping most of its postings keeps a query's cost bounded by the selective terms."""
FREQUENT_MIN = 100


def frequent_terms(frequencies: Mapping[str, int], stats: CorpusStats) -> set[str]:
    """The frequent terms among a query's (see FREQUENT_SHARE); never all of them when some occur."""
    cutoff = max(FREQUENT_MIN, int(stats.items * FREQUENT_SHARE))
    present = [term for term, count in frequencies.items() if count > 0]
    frequent = {term for term in present if frequencies[term] > cutoff}
    if present and len(frequent) == len(present):
        frequent.discard(min(present, key=lambda term: frequencies[term]))  # the rarest one still finds items
    return frequent


CANDIDATES = 200
"""At most this many items (those matching the most selective terms, the newest first among equals)
have the frequent terms looked up around them: the second round's work is bounded too."""


def candidates(postings: Iterable[Posting], params: RankParams = DEFAULT_PARAMS) -> list[int]:
    """The positions around which a query's frequent terms are worth reading (see CANDIDATES)."""
    matched: dict[int, int] = {}
    for p in postings:
        matched[p.seq] = matched.get(p.seq, 0) + 1
    best = heapq.nlargest(CANDIDATES, matched, key=lambda seq: (matched[seq], seq))
    span = reach(params)
    return sorted({seq + d for seq in best for d in range(-span, span + 1)})


def reach(params: RankParams = DEFAULT_PARAMS) -> int:
    """How many items away a match still lends score (the longest neighbour chain of `params`)."""
    return max(len(params.following), len(params.preceding))


def term_scores(
    postings: Iterable[Posting],
    stats: CorpusStats,
    params: RankParams = DEFAULT_PARAMS,
    frequencies: Mapping[str, int] | None = None,
) -> dict[int, dict[str, float]]:
    """BM25 score of each query term in each item that holds it: {seq: {term: score}}.

    An item's BM25 score (query terms OR-ed) is the sum of its values. `frequencies` gives a term's
    document frequency when the postings hold only some of its items (see `frequent_terms`).
    """
    by_term: dict[str, dict[int, Posting]] = {}
    for p in postings:
        if p.tf > 0:
            by_term.setdefault(p.term, {})[p.seq] = p  # a repeated (term, seq) counts once
    seen = {seq for found in by_term.values() for seq in found}
    items = max(stats.items, len(seen), 1)  # stale counters must not make an idf negative or undefined
    avg_length = max(stats.total_length / items, 1.0)
    k1, b = params.k1, params.b
    scores: dict[int, dict[str, float]] = {}
    for term, found in by_term.items():
        idf = _idf(items, max(len(found), (frequencies or {}).get(term, 0)))
        for seq, p in found.items():
            norm = k1 * (1.0 - b + b * max(p.length, p.tf) / avg_length)
            scores.setdefault(seq, {})[term] = idf * p.tf * (k1 + 1.0) / (p.tf + norm)
    return scores


def _links(
    scores: Mapping[int, float], neighbours: Neighbours | None, params: RankParams
) -> tuple[dict[int, int], dict[int, int]] | None:
    """(next, previous) maps between seqs learnt from the store, or None to use seq +/- 1.

    Only the `max_linked` best items are asked about, so the store's work is bounded whatever the
    query; the edges returned also connect two matches two items apart (a, c, b: next(a) == c ==
    previous(b)).
    """
    if neighbours is None or params.max_linked <= 0:
        return None
    asked = heapq.nlargest(params.max_linked, scores, key=lambda seq: (scores[seq], seq))
    after: dict[int, int] = {}
    before: dict[int, int] = {}
    for seq, (previous, following) in neighbours(sorted(asked)).items():
        if previous is not None and previous < seq:
            after[previous], before[seq] = seq, previous
        if following is not None and following > seq:
            after[seq], before[following] = following, seq
    return after, before


def _walk(seq: int, steps: int, links: Mapping[int, int]) -> list[int]:
    """The seqs 1..steps items away from `seq` along `links` (fewer where the chain is unknown)."""
    out = []
    for _ in range(steps):
        if seq not in links:
            break
        seq = links[seq]
        out.append(seq)
    return out


def smooth(
    terms: Mapping[int, Mapping[str, float]],
    params: RankParams = DEFAULT_PARAMS,
    neighbours: Neighbours | None = None,
) -> dict[int, float]:
    """Each item's BM25 score plus shares of its neighbours' scores for the query terms it lacks.

    Why "it lacks": a neighbour vouches for the part of the query the item does not cover itself
    (a question "what instrument do you play?" just before "Tim: the violin!"). Re-counting a term
    the item already has would let a run of look-alike items (a repeated canned reply) lift itself.

    Without `neighbours`, adjacency is read from seq +/- 1 and only matching items are scored, so
    nothing outside the postings is ever returned; a gap in the seqs (another conversation's items
    in between) only weakens the smoothing across it. With `neighbours`, adjacency is exact and an
    item without any query term may be recalled too, at a discount (RankParams.unmatched).
    """
    own = {seq: sum(found.values()) for seq, found in terms.items()}
    links = _links(own, neighbours, params)
    out = dict(own)
    if links is None:
        offsets = [(d, share) for d, share in enumerate(params.following, 1)]
        offsets += [(-d, share) for d, share in enumerate(params.preceding, 1)]
        pairs = (
            (seq, seq + offset, share) for seq in terms for offset, share in offsets if seq + offset in terms
        )  # seq arithmetic may point outside the conversation: only matching targets are scored
    else:
        after, before = links
        pairs = (
            (seq, target, share)
            for seq in terms
            for shares, chain in ((params.following, after), (params.preceding, before))
            for share, target in zip(shares, _walk(seq, len(shares), chain))
        )
    complement = params.complement
    for source, target, share in pairs:
        lent = own[source]
        has = terms.get(target)
        if complement and has is not None:
            for term, value in terms[source].items():
                if term in has:
                    lent -= value
        if lent > 1e-12:
            out[target] = out.get(target, 0.0) + share * lent
    if links is None:
        return out
    return {seq: value if seq in own else params.unmatched * value for seq, value in out.items()}


REPEAT_SLACK = 3
"""`Selection` reads ranked candidates in rounds of `limit` times this, then this times more each
round, until no unread candidate can make the result (at most REPEAT_ROUNDS rounds): a reply given
word for word a hundred times, or a run of items by other speakers, costs a few more reads, never a
scan."""
REPEAT_ROUNDS = 4


def selection_depth(limit: int) -> int:
    """How many ranked candidates a `Selection` for `limit` items may read (every round's worth)."""
    return sum(limit * REPEAT_SLACK**round_ for round_ in range(1, REPEAT_ROUNDS + 1))


def repeat_key(item: dict) -> tuple[str, str] | None:
    """What makes two items repeats of each other: the same role and text, ignoring case and spacing.

    A reply or question repeated word for word (a canned answer, a question asked again) says
    nothing new the second time: recalled once, it leaves room for what was said only once, which
    is what recall is for. None for an item without text (never a repeat).
    """
    text = " ".join(message_text(item).split()).casefold()
    return (str(item.get("role", "")), text) if text else None


def rank_scores(
    postings: Iterable[Posting],
    stats: CorpusStats,
    limit: int,
    neighbours: Neighbours | None = None,
    *,
    params: RankParams = DEFAULT_PARAMS,
    frequencies: Mapping[str, int] | None = None,
) -> list[tuple[int, float]]:
    """The `limit` most relevant items of the conversation as (seq, score), best first.

    `postings`: every posting of the query terms in this conversation; `stats`: its counters;
    `neighbours`: see `Neighbours` (optional). Ties go to the more recent item.
    """
    if not isinstance(limit, int) or limit <= 0:
        return []
    terms = term_scores(postings, stats, params, frequencies)
    if params.following or params.preceding:
        scores = smooth(terms, params, neighbours)
    else:
        scores = {seq: sum(found.values()) for seq, found in terms.items()}
    best = heapq.nlargest(limit, scores, key=lambda seq: (scores[seq], seq))
    return [(seq, scores[seq]) for seq in best]


_SPEAKER_LABEL = re.compile(r"[^\W\d_][\w'\u2019. -]{0,39}")
"""A speaker label: a name of at most 40 characters that starts with a letter."""


def speaker(item: dict) -> str | None:
    """Who a message says it is by: the label of a message written as "Name: text", else None.

    That is how a transcript, a group chat or a meeting relayed through one role names its
    speakers; a message without a label (most of what a user and an assistant say) has no speaker
    beyond its role, and gets no preference.
    """
    label, colon, rest = message_text(item)[:64].partition(":")
    if not colon or not rest[:1].isspace():
        return None
    label = label.strip()
    return label if _SPEAKER_LABEL.fullmatch(label) else None


@functools.lru_cache(maxsize=1024)
def _label_terms(label: str) -> frozenset[str]:
    return frozenset(index_terms(label))


def speaker_terms(item: dict) -> frozenset[str]:
    """The index terms of an item's speaker label (empty without a label, or for a label of stopwords)."""
    label = speaker(item)
    return _label_terms(label) if label else frozenset()


class Selection:
    """Picks the items recall returns from `rank_scores`' candidates, reading their text in rounds.

    Two rules need an item's text, which the postings do not hold:
    - an item whose speaker the query names (every term of its label is a query term) gets
      `params.speaker` more of its score;
    - an item that repeats a better one word for word (`repeat_key`) is left out, so that a canned
      reply given a hundred times leaves room for what was said once.

    The caller reads the seqs of `batch()` (limit x REPEAT_SLACK, then REPEAT_SLACK times more each
    round, at most REPEAT_ROUNDS rounds) and passes their items to `offer` until `batch()` is empty:
    reading stops as soon as no unread candidate could displace the `limit`-th kept item. An unread
    candidate is assumed boosted only once an item by a speaker the query names has been read: in a
    conversation without speaker labels (most of them) the first round is the last, and where the
    query names a speaker, that speaker's name is a query term, so their items are among the first.
    `result()` is the seqs, best first (ties to the more recent).
    """

    def __init__(
        self,
        ranked: Sequence[tuple[int, float]],
        query: Iterable[str],
        limit: int,
        params: RankParams = DEFAULT_PARAMS,
    ) -> None:
        self._ranked = list(ranked)
        self._query = frozenset(query)
        self._limit = limit
        self._boost = 1.0 + max(params.speaker, 0.0)
        self._boosted = False
        """True once an item by a speaker the query names was read (unread ones may be boosted too)."""
        self._start, self._size, self._rounds = 0, limit * REPEAT_SLACK, 0
        self._pending: list[tuple[int, float]] = []
        self._kept: dict[int, float] = {}
        self._seen: set[tuple[str, str]] = set()

    def _settled(self) -> bool:
        """True when no unread candidate can enter the result any more."""
        if self._start >= len(self._ranked) or self._rounds >= REPEAT_ROUNDS or self._limit <= 0:
            return True
        if len(self._kept) < self._limit:
            return False
        last = self.result()[-1]
        seq, score = self._ranked[self._start]
        bound = score * (self._boost if self._boosted else 1.0)
        return (bound, seq) < (self._kept[last], last)  # ties go to the more recent, as in `rank_scores`

    def batch(self) -> list[int]:
        """The seqs to read next; empty when the selection is complete."""
        if self._settled():
            return []
        self._pending = self._ranked[self._start : self._start + self._size]
        self._start, self._size, self._rounds = self._start + self._size, self._size * REPEAT_SLACK, self._rounds + 1
        return [seq for seq, _ in self._pending]

    def offer(self, items: Mapping[int, dict]) -> None:
        """The items of the last batch by seq (a seq missing from `items` was deleted meanwhile)."""
        for seq, score in self._pending:
            item = items.get(seq)
            if item is None:
                continue
            repeat = repeat_key(item)
            if repeat is not None:
                if repeat in self._seen:  # same text, same speaker: the earlier one scored at least as high
                    continue
                self._seen.add(repeat)
            named = speaker_terms(item)
            if named and named <= self._query:
                self._boosted = True
                score *= self._boost
            self._kept[seq] = score
        self._pending = []

    def result(self) -> list[int]:
        """The seqs of the selected items, best first."""
        return heapq.nlargest(self._limit, self._kept, key=lambda seq: (self._kept[seq], seq))
