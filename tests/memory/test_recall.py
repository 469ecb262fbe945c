"""Recall on every store: the whole history of ONE conversation, ranked for a query, at flat cost.

Expected results are stated from the texts themselves: the item that holds the asked-for words is
found; items of other conversations and users never are; deleted, cleared, expired and trimmed
items are forgotten.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from asdrp.memory import ConversationKey, ConversationSession, SessionInfo, SessionStore, StoredItem
from asdrp.memory.errors import InvalidRecallQueryError
from tests.memory.conftest import StoreFactory
from tests.memory.items import assistant_msg, user_msg

FILLER = [
    "What time is it in Lisbon?", "How far is Madrid from Paris?", "Convert 20 euros to dollars.",
    "What's the weather like today?", "Tell me about Kyoto.", "What is 17 times 3?",
]


async def fill(store: SessionStore, key: ConversationKey, turns: int) -> None:
    """`turns` ordinary turns that mention none of the facts the tests look for."""
    for n in range(turns):
        await store.append(key, [user_msg(FILLER[n % len(FILLER)]), assistant_msg(f"Answer number {n}.")], agent=None)


def contents(found: list[StoredItem]) -> list[str]:
    return [s.item["content"] if isinstance(s.item["content"], str) else s.item["content"][0]["text"] for s in found]


async def test_a_fact_said_long_ago_is_recalled_first(store: SessionStore, user: str) -> None:
    key = ConversationKey(user, "facts")
    await store.append(key, [user_msg("My name is Quixotl."), assistant_msg("Nice to meet you.")], agent=None)
    await store.append(key, [user_msg("Remember that my locker code is 4471.")], agent=None)
    await fill(store, key, 60)
    assert contents(await store.recall(key, "What is my name?", limit=3))[0] == "My name is Quixotl."
    found = await store.recall(key, "what was the locker code again", limit=3)
    assert contents(found)[0] == "Remember that my locker code is 4471."
    assert found[0].seq == (await store.read(key, limit=3))[2].seq  # the item's own seq


async def test_recall_searches_only_its_own_conversation(store: SessionStore, user: str, other_user: str) -> None:
    mine, my_other, theirs = ConversationKey(user, "a"), ConversationKey(user, "b"), ConversationKey(other_user, "a")
    await store.append(my_other, [user_msg("My favourite colour is teal.")], agent=None)
    await store.append(theirs, [user_msg("My favourite colour is teal.")], agent=None)
    await store.append(mine, [user_msg("I like trains.")], agent=None)
    assert await store.recall(mine, "favourite colour teal") == []
    assert contents(await store.recall(theirs, "favourite colour")) == ["My favourite colour is teal."]
    session = ConversationSession(store, "b", user=user)
    assert contents(await session.recall("teal")) == ["My favourite colour is teal."]


async def test_recalled_items_survive_a_new_store_instance_and_an_import(
    shared_store_factory: tuple[str, StoreFactory], tmp_path: Path, user: str
) -> None:
    key = ConversationKey(user, "restart")
    first = await shared_store_factory[1](tmp_path)
    try:
        await first.append(key, [user_msg("My dog is called Rex.")], agent="chitchat")
        await fill(first, key, 5)
    finally:
        await first.close()
    second = await shared_store_factory[1](tmp_path)
    try:
        assert contents(await second.recall(key, "dog's name"))[0] == "My dog is called Rex."
        imported = ConversationKey(user, "imported")
        history = await second.read(key)
        info = await second.info(key)
        assert info is not None
        await second.import_session(SessionInfo(**{**vars(info), "session_id": "imported"}), history)
        assert contents(await second.recall(imported, "dog called"))[0] == "My dog is called Rex."
    finally:
        await second.close()


async def test_deleted_cleared_and_popped_items_are_forgotten(store: SessionStore, user: str) -> None:
    for name in ("delete", "clear", "delete_user"):
        key = ConversationKey(user, name)
        await store.append(key, [user_msg("The wifi password is hunter2.")], agent=None)
        assert await store.recall(key, "wifi password")
        if name == "delete_user":
            await store.delete_user(user)
        else:
            await getattr(store, name)(key)
        assert await store.recall(key, "wifi password") == []
    key = ConversationKey(user, "pop")
    await store.append(key, [user_msg("first words"), user_msg("The gate code is 1234.")], agent=None)
    await store.pop(key)
    assert await store.recall(key, "gate code") == []
    await store.append(key, [user_msg("Now something else entirely.")], agent=None)  # may reuse the seq
    assert await store.recall(key, "gate code") == []
    assert contents(await store.recall(key, "something else")) == ["Now something else entirely."]


async def test_retention_forgets_expired_conversations_and_trimmed_turns(store: SessionStore, user: str) -> None:
    old, long = ConversationKey(user, "old"), ConversationKey(user, "long")
    await store.append(old, [user_msg("An ancient secret: the vault opens at dawn.")], agent=None)
    await store.append(long, [user_msg("Early fact: the boat is blue."), assistant_msg("Noted.")], agent=None)
    await fill(store, long, 4)
    await store.prune(max_age_seconds=1, now=__import__("time").time() + 3600)
    assert await store.recall(old, "vault dawn") == []
    await store.append(long, [user_msg("Early fact: the boat is blue."), assistant_msg("Noted.")], agent=None)
    await fill(store, long, 4)
    await store.prune(max_items=4)
    kept = await store.read(long)
    assert len(kept) == 4
    found = await store.recall(long, "boat blue")
    assert {s.seq for s in found} <= {s.seq for s in kept}
    assert await store.recall(long, "Answer number") != []


@pytest.mark.parametrize(
    "query",
    [
        'teal" OR "1"="1',
        "teal'); DROP TABLE items; --",
        "teal NEAR(a b) AND NOT * ^ : -",
        "redis.call('FLUSHALL') teal",
        "{teal}/[x]%s%d\\x00",
    ],
)
async def test_queries_with_engine_metacharacters_are_plain_words(store: SessionStore, user: str, query: str) -> None:
    key = ConversationKey(user, "meta")
    await store.append(key, [user_msg("The sofa is teal."), user_msg("The chair is red.")], agent=None)
    await store.append(ConversationKey(user, "elsewhere"), [user_msg("teal teal teal")], agent=None)
    assert contents(await store.recall(key, query)) == ["The sofa is teal."]
    assert len(await store.read(key)) == 2  # nothing was changed by the query


async def test_bad_queries_and_limits_get_clear_errors_and_edge_queries_correct_results(
    store: SessionStore, user: str
) -> None:
    key = ConversationKey(user, "edges")
    await store.append(key, [user_msg("Pandas eat bamboo.")], agent=None)
    assert await store.recall(key, "") == [] and await store.recall(key, "   ?!  the of and ") == []
    assert contents(await store.recall(key, "bamboo " + "x" * 9_990)) == ["Pandas eat bamboo."]
    with pytest.raises(InvalidRecallQueryError, match="at most 10000 characters"):
        await store.recall(key, "bamboo " * 2_000)
    for limit in (0, -1, 101, True, "3"):
        with pytest.raises(InvalidRecallQueryError, match="limit"):
            await store.recall(key, "bamboo", limit=limit)  # type: ignore[arg-type]
    with pytest.raises(InvalidRecallQueryError, match="text"):
        await store.recall(key, None)  # type: ignore[arg-type]
    assert contents(await store.recall(key, "bamboo", limit=100)) == ["Pandas eat bamboo."]
    assert await store.recall(ConversationKey(user, "never-written"), "bamboo") == []


async def test_a_text_with_a_lone_surrogate_is_recalled(store: SessionStore, user: str) -> None:
    key = ConversationKey(user, "surrogate")
    await store.append(key, [user_msg("my emoji \ud83d broke the parrot")], agent=None)
    assert contents(await store.recall(key, "parrot")) == ["my emoji \ud83d broke the parrot"]
    assert await store.pop(key) is not None
    assert await store.recall(key, "parrot") == []


async def test_the_most_relevant_items_come_first_and_the_limit_holds(store: SessionStore, user: str) -> None:
    key = ConversationKey(user, "rank")
    await fill(store, key, 30)
    for day in range(1, 9):
        await store.append(key, [user_msg(f"Day {day} in Kyoto: we saw the markets.")], agent=None)
    await store.append(key, [user_msg("Kyoto temples and Kyoto gardens are my favourite part of Kyoto.")], agent=None)
    found = await store.recall(key, "Kyoto temples gardens", limit=5)
    assert len(found) == 5
    assert contents(found)[0].startswith("Kyoto temples")
    assert all("Kyoto" in text for text in contents(found))


async def test_words_repeated_verbatim_are_recalled_once(store: SessionStore, user: str) -> None:
    """A canned reply given a dozen times must not crowd out the one turn that said something."""
    key = ConversationKey(user, "repeats")
    await store.append(key, [user_msg("My name is Quixotl.")], agent=None)
    canned = "I can recall your name, your favourite things, or anything else you ask me to remember by name."
    for n in range(12):
        await store.append(key, [user_msg(f"Tell me about the number {n}."), assistant_msg(canned)], agent=None)
    await store.append(key, [assistant_msg("  i can recall your NAME, your favourite things, or anything else"
                                           " you ask me to remember by name.")], agent=None)
    found = contents(await store.recall(key, "What is my name?", limit=3))
    assert "My name is Quixotl." in found, found
    assert len(found) == 2  # the canned reply (in any case and spacing) once, and the fact


async def test_a_query_naming_a_speaker_prefers_what_that_speaker_said(store: SessionStore, user: str) -> None:
    """A transcript relayed as "Name: text": asked what Ana did, Ana's own words come before Ben's
    equally matching remark about her, though Ben's is more recent (which wins a tie otherwise)."""
    key = ConversationKey(user, "transcript")
    ana = "Ana: I adopted a greyhound yesterday."
    ben = "Ben: Ana adopted a greyhound."  # the same query words (ana, adopt) in as many words
    await store.append(key, [user_msg(ana)], agent=None)
    await fill(store, key, 3)  # further apart than neighbours lend to each other
    await store.append(key, [assistant_msg(ben)], agent=None)
    await fill(store, key, 3)
    assert contents(await store.recall(key, "Which dog breed did Ana adopt?", limit=2)) == [ana, ben]
    # no speaker named: an equal match, and the tie goes to the more recent item
    assert contents(await store.recall(key, "Who adopted a greyhound?", limit=2)) == [ben, ana]


async def test_a_much_better_match_by_another_speaker_still_comes_first(store: SessionStore, user: str) -> None:
    key = ConversationKey(user, "transcript-strong")
    ana = "Ana: The concert was fun."
    ben = "Ben: Ana played the cello sonata at the harbour concert."
    await store.append(key, [assistant_msg(ben)], agent=None)
    await fill(store, key, 3)
    await store.append(key, [user_msg(ana)], agent=None)
    found = contents(await store.recall(key, "Did Ana play the cello sonata at the harbour concert?", limit=2))
    assert found == [ben, ana]  # four query words Ana's item lacks: the preference is a tie-breaker, not a filter


async def test_messages_without_a_speaker_label_get_no_preference(store: SessionStore, user: str) -> None:
    key = ConversationKey(user, "unlabelled")
    first = "At 10:30: Ana adopted a greyhound."
    second = "Ana adopted a greyhound, said Ben."
    await store.append(key, [user_msg(first)], agent=None)
    await fill(store, key, 3)
    await store.append(key, [user_msg(second)], agent=None)
    # equal matches (ana, adopt in five words each), and neither is by a speaker the query names (the
    # first's label "At 10" is not in the query, the second has none): the more recent comes first
    assert contents(await store.recall(key, "What did Ana adopt?", limit=2)) == [second, first]
