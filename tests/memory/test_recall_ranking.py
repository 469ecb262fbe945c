"""asdrp.memory.recall on its own: the terms every store indexes, and the ranking over postings.

Expected results are derived from the texts and the rule being tested (BM25: rarer words weigh more;
neighbours: an item is judged with the items around it), never from the implementation's numbers.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from asdrp.memory.recall import (
    MAX_QUERY_TERMS,
    REPEAT_SLACK,
    CorpusStats,
    Posting,
    RankParams,
    Selection,
    index_terms,
    item_terms,
    query_terms,
    rank_scores,
    speaker,
)


class Index:
    """A toy store: texts by seq (dense by default), postings built with index_terms."""

    def __init__(self, texts: list[str], seqs: list[int] | None = None) -> None:
        self.seqs = seqs if seqs is not None else list(range(len(texts)))
        self.terms = {seq: index_terms(text) for seq, text in zip(self.seqs, texts)}
        lengths = [sum(t.values()) for t in self.terms.values()]
        self.stats = CorpusStats(sum(1 for n in lengths if n), sum(lengths))

    def postings(self, query: str) -> list[Posting]:
        wanted = query_terms(query)
        return [
            Posting(seq, term, terms[term], sum(terms.values()))
            for seq, terms in self.terms.items()
            for term in wanted
            if term in terms
        ]

    def neighbours(self, seqs: list[int]) -> dict[int, tuple[int | None, int | None]]:
        at = {seq: i for i, seq in enumerate(self.seqs)}
        return {
            s: (self.seqs[at[s] - 1] if at[s] else None, self.seqs[at[s] + 1] if at[s] + 1 < len(self.seqs) else None)
            for s in seqs
            if s in at
        }

    def rank(self, query: str, limit: int = 10, **kwargs: object) -> list[int]:
        return [seq for seq, _ in rank_scores(self.postings(query), self.stats, limit, **kwargs)]  # type: ignore[arg-type]


FILLER = ["What time is it in Lisbon?", "It is noon there.", "Convert 20 euros to dollars.", "About 22 dollars."]


def test_terms_are_lowercased_stemmed_words_without_stopwords() -> None:
    assert index_terms("The Painters were painting paintings!") == {"painter": 1, "paint": 2}
    assert index_terms("I don't know what it is") == {"know": 1}
    assert index_terms("Nate's turtles; Nate’s turtle") == {"nate": 2, "turtl": 2}
    assert index_terms("naïve café über_cool 5K") == {"naïv": 1, "café": 1, "über": 1, "cool": 1, "5k": 1}
    assert index_terms("") == {} and index_terms("a I ? ! 7 x") == {}


def test_a_message_is_indexed_by_what_it_says_and_tool_items_not_at_all() -> None:
    message = {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Sunny in Lisbon"}]}
    assert item_terms(message) == {"sunni": 1, "lisbon": 1}
    assert item_terms({"role": "user", "content": "Lisbon, Lisbon!"}) == {"lisbon": 2}
    assert item_terms({"type": "function_call", "name": "get_weather", "arguments": '{"city": "Lisbon"}'}) == {}
    assert item_terms({"type": "function_call_output", "call_id": "c", "output": "Lisbon is sunny"}) == {}


def test_query_terms_are_distinct_bounded_and_plain_words() -> None:
    assert query_terms("Paint, painted, PAINTING: the paint") == ["paint"]
    assert query_terms("teal'); DROP TABLE items; --") == ["teal", "drop", "tabl", "item"]
    assert query_terms('"1"="1" OR NEAR(a b) * ^ redis.call(\'FLUSHALL\')') == ["near", "redi", "call", "flushal"]
    assert query_terms("") == [] and query_terms("   ?!  the of and ") == []
    many = query_terms(" ".join(f"word{n}" for n in range(5_000)))
    assert len(many) == MAX_QUERY_TERMS and many[0] == "word0"


def test_terms_are_the_same_from_many_threads() -> None:
    texts = [f"Running runners ran {n} marathons while singing songs number {n}" for n in range(400)]
    expected = [index_terms(t) for t in texts]
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(index_terms, texts)) == expected


def test_junk_limits_and_empty_inputs_give_nothing() -> None:
    index = Index(["The sofa is teal."])
    assert index.rank("teal", 0) == [] and index.rank("teal", -3) == []
    assert rank_scores([], CorpusStats(0, 0), 10) == []
    assert index.rank("x" * 10_000) == []
    assert index.rank("teal " + "zz" * 5_000) == [0]
    # stale counters (0 items) and a repeated posting neither crash nor double-count
    p = Posting(4, "teal", 1, 3)
    assert [seq for seq, _ in rank_scores([p, p, Posting(9, "teal", 1, 3)], CorpusStats(0, 0), 5)] == [9, 4]


def test_rarer_words_weigh_more_and_ties_go_to_the_recent_item() -> None:
    index = Index([*FILLER * 5, "My locker code is 4471.", *FILLER * 5, "The locker room smells."])
    assert index.rank("what was my locker code again", 1) == [20]
    # "About 22 dollars." (shorter than "Convert 20 euros to dollars.") recurs with equal scores: most recent first
    assert index.rank("dollars", 3) == [40, 36, 32]


def test_an_answer_is_found_through_the_question_just_before_it() -> None:
    texts = [*FILLER * 3, "Which instrument do you play?", "The violin, since I was six.", *FILLER * 3,
             "I play football on Sundays.", "Nice, which position?", *FILLER]
    index = Index(texts)
    found = index.rank("instrument play", 3)
    assert found[0] == 12  # the question holds both words
    assert 13 not in found  # without the store's neighbours, only items with a query term are returned
    with_neighbours = index.rank("instrument play", 3, neighbours=index.neighbours)
    assert with_neighbours[0] == 12 and 13 in with_neighbours  # the answer shares no word with the query


def test_a_run_of_look_alike_replies_does_not_bury_a_short_fact() -> None:
    canned = "I can only recall what you told me: ask me your name, or what you told me to remember."
    texts = ["My name is Quixotl.", "Nice to meet you!"]
    for n in range(12):
        texts += [f"Tell me about the number {n}.", canned]
    assert 0 in Index(texts).rank("What is my name?", 12)


def test_the_neighbours_primitive_makes_gapped_seqs_rank_like_consecutive_ones() -> None:
    texts = [*FILLER, "Which instrument do you play?", "The violin!", "Do you play often?", "Daily.", *FILLER]
    dense = Index(texts)
    gapped = Index(texts, seqs=[100 + 7 * n for n in range(len(texts))])  # other conversations in between
    to_gapped = dict(zip(dense.seqs, gapped.seqs))
    expected = [to_gapped[s] for s in dense.rank("instrument play violin", 5, neighbours=dense.neighbours)]
    assert gapped.rank("instrument play violin", 5, neighbours=gapped.neighbours) == expected
    assert set(gapped.rank("instrument play violin", 5)) <= {s for s in gapped.seqs}


def test_neighbour_smoothing_can_be_switched_off() -> None:
    index = Index(["Which instrument do you play?", "The violin is great!", *FILLER, "Violin."])
    assert index.rank("instrument violin", 3) == [1, 0, 6]  # "The violin..." follows the question
    assert index.rank("instrument violin", 3, params=RankParams(following=(), preceding=())) == [0, 6, 1]


def test_words_that_frame_a_question_do_not_outweigh_its_subject() -> None:
    # "kind" and "mention" are as rare here as "jazz": weighed like a subject, the off-topic turn's
    # two framing words would outscore the answer's one subject word.
    answer, off_topic = "Ana: I could listen to jazz all day.", "Ben: That is the kind of thing I mentioned."
    index = Index([*FILLER, answer, off_topic, *FILLER])
    assert query_terms("What kind of jazz has she mentioned?") == ["jazz"]
    assert index.rank("What kind of jazz has she mentioned?", limit=1) == [4]


def test_a_question_made_only_of_framing_words_still_searches_them() -> None:
    index = Index([*FILLER, "Ben: That is the kind of thing I mentioned.", *FILLER])
    assert query_terms("What kind of thing was mentioned?") == ["kind", "thing", "mention"]
    assert index.rank("What kind of thing was mentioned?", limit=1) == [4]


def said(text: str) -> dict:
    return {"role": "user", "content": text}


def test_a_speaker_is_the_name_labelling_a_message() -> None:
    assert speaker(said("Caroline: I went to the support group.")) == "Caroline"
    assert speaker(said("  Dr. Maya O'Neil:  hello")) == "Dr. Maya O'Neil"
    reply = {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Tim: hi"}]}
    assert speaker(reply) == "Tim"
    for text in ("https://example.org is down", "10:30 works for me", "Note:no space", "No label here.",
                 "A label far too long to be anybody's name at all, surely: x", ":) hi", ""):
        assert speaker(said(text)) is None, text


def select(
    ranked: list[tuple[int, float]], items: dict[int, dict], query: list[str], limit: int
) -> tuple[list[int], list[list[int]]]:
    """Run a Selection as a store does; returns the result and the batches it asked for."""
    selection, batches = Selection(ranked, query, limit), []
    while batch := selection.batch():
        batches.append(batch)
        selection.offer({seq: items[seq] for seq in batch if seq in items})
    return selection.result(), batches


def test_without_a_named_speaker_the_first_round_is_the_last() -> None:
    ranked = [(seq, 100.0 - seq) for seq in range(200)]
    items = {seq: said(f"Ana: fact number {seq}") for seq in range(200)}
    result, batches = select(ranked, items, ["fact"], limit=5)
    assert result == [0, 1, 2, 3, 4] and len(batches) == 1 and len(batches[0]) == 5 * REPEAT_SLACK


def test_a_named_speaker_lifts_their_items_over_close_matches_only() -> None:
    # scores fall by 1 from 100: Ana's items (every 7th) are boosted by a quarter, which lifts an item
    # over the ones up to a quarter of its score above it, never over much better ones
    ranked = [(seq, 100.0 - seq) for seq in range(200)]
    items = {seq: said(("Ana: " if seq % 7 == 0 else "Ben: ") + f"fact {seq}") for seq in range(200)}
    result, batches = select(ranked, items, ["ana", "fact"], limit=4)
    boosted = {seq: (100.0 - seq) * (1.25 if seq % 7 == 0 else 1.0) for seq in range(200)}
    assert result == sorted(boosted, key=lambda seq: (-boosted[seq], -seq))[:4] == [0, 7, 14, 1]
    assert sum(map(len, batches)) < len(ranked)  # reading stopped once nothing unread could make it


def test_a_repeated_text_is_selected_once_and_a_deleted_item_skipped() -> None:
    ranked = [(seq, 10.0 - seq) for seq in range(6)]
    items = {0: said("Same words."), 1: said("same   WORDS."), 3: said("Other words."), 4: said("More words.")}
    assert select(ranked, items, ["word"], limit=3)[0] == [0, 3, 4]  # 1 repeats 0; 2 is gone
