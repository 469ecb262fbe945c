"""Conformance suite: every SessionStore backend in STORE_FACTORIES must pass all of it unchanged."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from agents.memory import Session

from asdrp.memory import (
    ConversationKey,
    ConversationSession,
    InvalidCursorError,
    InvalidItemError,
    InvalidSessionIdError,
    SessionBusyError,
    SessionStore,
    StaleTurnError,
    StoredItem,
    StoreUnavailableError,
    WindowSettings,
)
from tests.memory.conftest import StoreFactory
from tests.memory.items import assistant_msg, call, no_orphan_outputs, output, texts, tool_turn, user_msg

# --- the SDK Session protocol -------------------------------------------------------------------


async def test_conversation_session_satisfies_the_sdk_session_protocol(store: SessionStore, user: str) -> None:
    session = ConversationSession(store, "s1", user=user)
    assert isinstance(session, Session)
    assert isinstance(store, SessionStore)
    assert session.session_settings is not None and session.session_settings.limit == 50


async def test_added_items_come_back_in_order(store: SessionStore, user: str) -> None:
    session = ConversationSession(store, "s1", user=user)
    await session.add_items([user_msg("one"), assistant_msg("two")])
    await session.add_items([user_msg("three")])
    assert texts(await session.get_items()) == ["one", "two", "three"]


async def test_get_items_with_limit_returns_the_latest_n_in_chronological_order(store: SessionStore, user: str) -> None:
    session = ConversationSession(store, "s1", user=user)
    await session.add_items([user_msg(f"m{i}") for i in range(10)])
    assert texts(await session.get_items(limit=3)) == ["m7", "m8", "m9"]
    assert len(await session.get_items()) == 10


async def test_pop_removes_and_returns_the_newest_item(store: SessionStore, user: str) -> None:
    session = ConversationSession(store, "s1", user=user)
    assert await session.pop_item() is None
    await session.add_items([user_msg("a"), assistant_msg("b")])
    popped = await session.pop_item()
    assert popped == assistant_msg("b")
    assert texts(await session.get_items()) == ["a"]
    info = await session.info()
    assert info is not None and info.item_count == 1


async def test_clear_removes_items_but_keeps_the_registry_row(store: SessionStore, user: str) -> None:
    session = ConversationSession(store, "s1", user=user, agent_id="geo")
    await session.add_items([user_msg("a"), assistant_msg("b")])
    await session.clear_session()
    assert await session.get_items() == []
    info = await session.info()
    assert info is not None and info.item_count == 0 and info.agent_id == "geo"


async def test_items_round_trip_exactly_including_unicode_and_nested_fields(store: SessionStore, user: str) -> None:
    item = {"type": "function_call_output", "call_id": "c-1", "output": "Zürich ☀ 東京", "extra": {"n": [1, 2.5, None]}}
    await store.append(ConversationKey(user, "s1"), [call("c-1"), item], agent="geo")
    history = await store.read(ConversationKey(user, "s1"))
    assert history[1].item == item
    assert [h.role for h in history] == ["function_call", "function_call_output"]
    assert all(h.agent == "geo" for h in history)


async def test_read_pages_the_full_history_by_seq(store: SessionStore, user: str) -> None:
    key = ConversationKey(user, "s1")
    await store.append(key, [user_msg(f"m{i}") for i in range(7)], agent=None)
    first = await store.read(key, limit=3)
    second = await store.read(key, after_seq=first[-1].seq, limit=3)
    rest = await store.read(key, after_seq=second[-1].seq)
    assert texts([s.item for s in first + second + rest]) == [f"m{i}" for i in range(7)]
    seqs = [s.seq for s in first + second + rest]
    assert seqs == sorted(seqs) and len(set(seqs)) == 7


# --- windows --------------------------------------------------------------------------------------


async def test_window_keeps_only_the_most_recent_max_items(store: SessionStore, user: str) -> None:
    key = ConversationKey(user, "s1")
    await store.append(key, [user_msg(f"m{i}") for i in range(120)], agent=None)
    window = await store.window(key, WindowSettings(max_items=50))
    assert texts(window) == [f"m{i}" for i in range(70, 120)]


async def test_window_cuts_on_turn_boundaries(store: SessionStore, user: str) -> None:
    key = ConversationKey(user, "s1")
    await store.append(key, [user_msg("u1"), assistant_msg("a1"), user_msg("u2"), assistant_msg("a2")], agent=None)
    assert texts(await store.window(key, WindowSettings(max_items=3))) == ["u2", "a2"]


async def test_window_never_separates_a_tool_call_from_its_output(store: SessionStore, user: str) -> None:
    key = ConversationKey(user, "s1")
    for n in range(5):
        await store.append(key, tool_turn(n), agent=None)
    for max_items in range(1, 22):
        window = await store.window(key, WindowSettings(max_items=max_items))
        assert len(window) <= max_items
        assert no_orphan_outputs(window), (max_items, texts(window))
        if max_items >= 4:
            assert window[0].get("role") == "user"  # whole turns only


async def test_window_cuts_inside_an_oversized_newest_turn_without_orphaning_outputs(
    store: SessionStore, user: str
) -> None:
    key = ConversationKey(user, "s1")
    turn = [
        user_msg("u"), call("c1"), call("c2"), output("c1"), output("c2"),
        call("c3"), output("c3"), assistant_msg("a"),
    ]
    await store.append(key, turn, agent=None)
    # a start at index 2..4 would keep output c1 without call c1; the first safe cut is call c3
    assert texts(await store.window(key, WindowSettings(max_items=6))) == [
        "function_call:c3",
        "function_call_output:c3",
        "a",
    ]
    assert texts(await store.window(key, WindowSettings(max_items=7))) == texts(turn[1:])


async def test_window_respects_the_token_budget(store: SessionStore, user: str) -> None:
    key = ConversationKey(user, "s1")
    for n in range(6):
        await store.append(key, [user_msg(f"q{n} " + "x" * 400), assistant_msg(f"a{n} " + "y" * 400)], agent=None)
    window = await store.window(key, WindowSettings(max_items=50, max_tokens=500))
    assert [t.split()[0] for t in texts(window)] == ["q4", "a4", "q5", "a5"]


async def test_window_of_a_conversation_without_items_is_empty(store: SessionStore, user: str) -> None:
    assert await store.window(ConversationKey(user, "nothing"), WindowSettings()) == []


# --- registry ------------------------------------------------------------------------------------


async def test_first_write_creates_the_registry_row_with_title_owner_and_counts(store: SessionStore, user: str) -> None:
    key = ConversationKey(user, "s1")
    long_question = "  What is\n\tnear   Times Square " + "and more " * 20
    await store.append(key, [user_msg(long_question), assistant_msg("lots")], agent="geo", agent_id="moe")
    info = await store.info(key)
    assert info is not None
    expected = " ".join(long_question.split())[:80]
    assert (info.user, info.session_id, info.agent_id, info.title, info.item_count) == (user, "s1", "moe", expected, 2)
    assert len(info.title) == 80
    assert info.created_at <= info.updated_at

    await asyncio.sleep(0.01)
    await store.append(key, [user_msg("second question"), assistant_msg("x")], agent="geo", agent_id="other")
    later = await store.info(key)
    assert later is not None
    assert later.title == expected and later.agent_id == "moe"  # first write decides
    assert later.item_count == 4 and later.updated_at > info.updated_at and later.created_at == info.created_at


async def test_info_of_an_unknown_conversation_is_none(store: SessionStore, user: str) -> None:
    assert await store.info(ConversationKey(user, "never")) is None


async def test_list_sessions_is_newest_updated_first(store: SessionStore, user: str) -> None:
    for sid in ("a", "b", "c"):
        await store.append(ConversationKey(user, sid), [user_msg(sid)], agent=None)
        await asyncio.sleep(0.005)
    await store.append(ConversationKey(user, "a"), [assistant_msg("again")], agent=None)
    sessions, cursor = await store.list_sessions(user)
    assert [s.session_id for s in sessions] == ["a", "c", "b"]
    assert cursor is None


async def test_list_sessions_pages_with_a_cursor_stable_under_concurrent_writes(store: SessionStore, user: str) -> None:
    for n in range(7):
        await store.append(ConversationKey(user, f"s{n}"), [user_msg(f"m{n}")], agent=None)
        await asyncio.sleep(0.002)
    page1, cursor = await store.list_sessions(user, limit=3)
    assert [s.session_id for s in page1] == ["s6", "s5", "s4"] and cursor
    await store.append(ConversationKey(user, "new"), [user_msg("x")], agent=None)  # lands before page 1
    page2, cursor = await store.list_sessions(user, limit=3, cursor=cursor)
    page3, last = await store.list_sessions(user, limit=3, cursor=cursor)
    assert [s.session_id for s in page2] == ["s3", "s2", "s1"]
    assert [s.session_id for s in page3] == ["s0"] and last is None


async def test_a_forged_cursor_is_rejected_with_a_clear_error(store: SessionStore, user: str) -> None:
    with pytest.raises(InvalidCursorError, match="cursor"):
        await store.list_sessions(user, cursor="not-a-cursor")


async def test_delete_removes_items_and_registry_row(store: SessionStore, user: str) -> None:
    key = ConversationKey(user, "s1")
    await store.append(key, [user_msg("a")], agent=None)
    assert await store.delete(key) is True
    assert await store.info(key) is None
    assert await store.read(key) == []
    assert (await store.list_sessions(user))[0] == []
    assert await store.delete(key) is False


async def test_delete_user_removes_every_conversation_of_that_user_only(
    store: SessionStore, user: str, other_user: str
) -> None:
    for sid in ("a", "b", "c"):
        await store.append(ConversationKey(user, sid), [user_msg(sid)], agent=None)
    await store.append(ConversationKey(other_user, "a"), [user_msg("keep")], agent=None)
    assert await store.delete_user(user) == 3
    assert (await store.list_sessions(user))[0] == []
    assert await store.read(ConversationKey(user, "a")) == []
    assert texts([s.item for s in await store.read(ConversationKey(other_user, "a"))]) == ["keep"]


# --- ownership -----------------------------------------------------------------------------------


async def test_two_users_with_the_same_session_id_never_see_each_other(
    store: SessionStore, user: str, other_user: str
) -> None:
    alice = ConversationSession(store, "shared", user=user)
    bob = ConversationSession(store, "shared", user=other_user)
    await alice.add_items([user_msg("alice secret")])
    await bob.add_items([user_msg("bob secret")])
    assert texts(await alice.get_items()) == ["alice secret"]
    assert texts(await bob.get_items(limit=10)) == ["bob secret"]
    assert [s.session_id for s in (await store.list_sessions(other_user))[0]] == ["shared"]
    await bob.clear_session()
    assert await bob.pop_item() is None
    assert texts(await alice.get_items()) == ["alice secret"]
    assert await store.delete(ConversationKey(other_user, "shared"))
    assert (await alice.info()) is not None


# --- concurrency and atomicity -------------------------------------------------------------------


async def test_twenty_concurrent_add_items_on_one_session_lose_nothing(store: SessionStore, user: str) -> None:
    session = ConversationSession(store, "busy", user=user)
    await asyncio.gather(*(session.add_items([user_msg(f"m{i}"), assistant_msg(f"a{i}")]) for i in range(20)))
    items = await session.get_items()
    assert len(items) == 40
    assert sorted(texts(items)) == sorted([f"m{i}" for i in range(20)] + [f"a{i}" for i in range(20)])
    for i in range(20):  # each call's pair stays together: one transaction per call
        position = texts(items).index(f"m{i}")
        assert texts(items)[position + 1] == f"a{i}"
    info = await session.info()
    assert info is not None and info.item_count == 40


async def test_fifty_concurrent_sessions_each_keep_their_own_turns(store: SessionStore, user: str) -> None:
    async def converse(n: int) -> None:
        session = ConversationSession(store, f"s{n}", user=user)
        for turn in range(2):
            await session.add_items(tool_turn(n * 10 + turn))

    await asyncio.gather(*(converse(n) for n in range(50)))
    sessions, cursor = await store.list_sessions(user, limit=100)
    assert len(sessions) == 50 and cursor is None
    assert all(s.item_count == 8 for s in sessions)
    items = await ConversationSession(store, "s7", user=user).get_items()
    assert texts(items)[0] == "question 70" and texts(items)[4] == "question 71"


async def test_a_failing_append_writes_nothing(store: SessionStore, user: str) -> None:
    key = ConversationKey(user, "s1")
    bad_turn = [user_msg("q"), call("c1"), {"type": "function_call_output", "call_id": "c1", "output": object()}]
    with pytest.raises(InvalidItemError, match="Item 2"):
        await store.append(key, bad_turn, agent=None)
    assert await store.info(key) is None
    assert await store.read(key) == []
    await store.append(key, [user_msg("fine")], agent=None)
    with pytest.raises(InvalidItemError):
        await store.append(key, [user_msg("more"), "not a dict"], agent=None)  # type: ignore[list-item]
    assert texts([s.item for s in await store.read(key)]) == ["fine"]


async def test_lock_without_waiting_reports_a_busy_conversation(store: SessionStore, user: str) -> None:
    key = ConversationKey(user, "s1")
    async with store.lock(key):
        with pytest.raises(SessionBusyError, match="s1"):
            async with store.lock(key, wait=False):
                pass
        async with store.lock(ConversationKey(user, "other"), wait=False):
            pass  # other conversations are not blocked
    async with store.lock(key, wait=False):
        pass


async def test_lock_serialises_whole_turns(store: SessionStore, user: str) -> None:
    key = ConversationKey(user, "s1")
    events: list[str] = []

    async def turn(name: str) -> None:
        async with store.lock(key):
            events.append(f"{name}-start")
            await asyncio.sleep(0.01)
            events.append(f"{name}-end")

    await asyncio.gather(turn("a"), turn("b"), turn("c"))
    assert all(events[i].split("-")[0] == events[i + 1].split("-")[0] for i in range(0, 6, 2))


async def test_a_closed_store_reports_unavailable(
    store_factory: tuple[str, StoreFactory], tmp_path: Path, user: str
) -> None:
    opened = await store_factory[1](tmp_path)
    await opened.close()
    with pytest.raises(StoreUnavailableError):
        await opened.read(ConversationKey(user, "s1"))


async def test_a_second_store_instance_sees_writes_at_once(
    shared_store_factory: tuple[str, StoreFactory], tmp_path: Path, user: str
) -> None:
    _, factory = shared_store_factory
    first, second = await factory(tmp_path), await factory(tmp_path)
    try:
        key = ConversationKey(user, "s1")
        await first.append(key, [user_msg("hello")], agent=None)
        assert texts(await second.window(key, WindowSettings())) == ["hello"]
        await second.append(key, [assistant_msg("hi")], agent=None)
        info = await first.info(key)
        assert info is not None and info.item_count == 2
        assert await first.pop(key) == assistant_msg("hi")
        assert texts(await second.window(key, WindowSettings())) == ["hello"]
    finally:
        await first.close()
        await second.close()


# --- staged turns, validation and retention: the rules the store base owns ------------------------


async def test_a_staged_turn_is_invisible_until_settled_with_the_rest_of_its_turn(
    store: SessionStore, user: str
) -> None:
    key = ConversationKey(user, "staged")
    await store.stage(key, "t1", [user_msg("q"), call("c1")])
    assert await store.read(key) == [] and await store.info(key) is None
    assert await store.window(key, WindowSettings()) == []
    assert [(t.turn_id, texts(t.items)) for t in await store.staged(key)] == [("t1", ["q", "function_call:c1"])]
    await store.append(key, [user_msg("q"), call("c1"), output("c1"), assistant_msg("a")], agent="x", settle="t1")
    assert texts([s.item for s in await store.read(key)]) == ["q", "function_call:c1", "function_call_output:c1", "a"]
    assert await store.staged(key) == []


async def test_settling_a_turn_twice_raises_and_writes_nothing_the_second_time(store: SessionStore, user: str) -> None:
    key = ConversationKey(user, "stale")
    await store.stage(key, "t1", [user_msg("q"), call("c1")])
    await store.append(key, [user_msg("q"), call("c1"), output("c1")], agent=None, settle="t1")
    with pytest.raises(StaleTurnError):
        await store.append(key, [user_msg("q"), call("c1"), output("c1")], agent=None, settle="t1")
    assert len(await store.read(key)) == 3


async def test_restaging_replaces_and_discard_forgets_a_staged_turn(store: SessionStore, user: str) -> None:
    key = ConversationKey(user, "restage")
    await store.stage(key, "t1", [user_msg("q")])
    await store.stage(key, "t1", [user_msg("q"), call("c1")])
    await store.stage(key, "t2", [user_msg("other")])
    assert [len(t.items) for t in await store.staged(key)] == [2, 1]
    await store.discard(key, "t1")
    assert [t.turn_id for t in await store.staged(key)] == ["t2"]


async def test_clear_and_delete_remove_staged_turns_too(store: SessionStore, user: str) -> None:
    for name, remove in (("c", "clear"), ("d", "delete"), ("u", "delete_user")):
        key = ConversationKey(user, name)
        await store.append(key, [user_msg("kept")], agent=None)
        await store.stage(key, "t", [user_msg("q"), call("c1")])
        if remove == "delete_user":
            await store.delete_user(user)
        else:
            await getattr(store, remove)(key)
        assert await store.staged(key) == []


async def test_staging_a_non_item_fails_before_writing(store: SessionStore, user: str) -> None:
    key = ConversationKey(user, "bad-stage")
    with pytest.raises(InvalidItemError):
        await store.stage(key, "t", [user_msg("q"), {"set": {1, 2}}])  # type: ignore[dict-item]
    assert await store.staged(key) == []


async def test_list_sessions_refuses_a_bad_limit_or_user_on_every_store(store: SessionStore, user: str) -> None:
    for limit in (0, -1, 10_001):
        with pytest.raises(ValueError, match="limit"):
            await store.list_sessions(user, limit=limit)
    with pytest.raises(InvalidSessionIdError):
        await store.list_sessions("no spaces allowed")
    with pytest.raises(InvalidCursorError):
        await store.list_sessions(user, cursor="")


async def test_read_with_a_limit_of_zero_or_less_is_empty(store: SessionStore, user: str) -> None:
    key = ConversationKey(user, "read0")
    await store.append(key, [user_msg("a"), user_msg("b")], agent=None)
    assert await store.read(key, limit=0) == [] and await store.read(key, limit=-5) == []
    assert texts([s.item for s in await store.read(key, after_seq=-10)]) == ["a", "b"]


async def test_prune_trims_whole_turns_and_keeps_an_oversized_newest_turn(store: SessionStore, user: str) -> None:
    long_key, short_key = ConversationKey(user, "long"), ConversationKey(user, "short")
    await store.append(long_key, tool_turn(1) + tool_turn(2) + tool_turn(3), agent=None)  # 12 items
    await store.append(short_key, [user_msg("q")] + [assistant_msg(f"a{n}") for n in range(7)], agent=None)
    result = await store.prune(max_items=6)
    assert texts([s.item for s in await store.read(long_key)]) == texts(tool_turn(3))  # 4 items: whole turns only
    assert len(await store.read(short_key)) == 8  # one turn of 8 > 6: kept whole
    info = await store.info(long_key)
    assert info is not None and info.item_count == 4
    assert result.sessions_trimmed >= 1 and result.items_removed >= 8  # shared databases hold other tests too


# --- deleting one item ----------------------------------------------------------------------------


def seqs_and_texts(stored: list[StoredItem]) -> list[tuple[int, str]]:
    return list(zip([s.seq for s in stored], texts([s.item for s in stored])))


async def test_delete_item_removes_a_middle_item_and_every_other_keeps_its_seq(store: SessionStore, user: str) -> None:
    key = ConversationKey(user, "del")
    await store.append(key, [user_msg("u1"), assistant_msg("a1"), user_msg("u2"), assistant_msg("a2")], agent=None)
    await store.append(key, [user_msg("u3")], agent=None)
    before = await store.read(key)
    assert await store.delete_item(key, before[2].seq) is True
    after = await store.read(key)
    assert seqs_and_texts(after) == [pair for pair in seqs_and_texts(before) if pair[1] != "u2"]
    assert seqs_and_texts(await store.read(key, after_seq=before[1].seq, limit=1)) == [(before[3].seq, "a2")]
    assert texts(await store.tail(key, 3)) == ["a1", "a2", "u3"]
    info = await store.info(key)
    assert info is not None and info.item_count == 4 and info.title == "u1"
    assert await store.delete_item(key, before[2].seq) is False  # already gone
    assert await store.delete_item(key, before[-1].seq + 10_000) is False  # never there
    await store.append(key, [assistant_msg("a3")], agent=None)
    newest = (await store.read(key))[-1]
    assert newest.seq > before[-1].seq and texts([newest.item]) == ["a3"]


async def test_deleting_the_newest_or_oldest_item_keeps_pop_append_and_prune_consistent(
    store: SessionStore, user: str
) -> None:
    key = ConversationKey(user, "ends")
    await store.append(key, [user_msg("a"), assistant_msg("b"), user_msg("c"), assistant_msg("d")], agent=None)
    first, *_, last = await store.read(key)
    assert await store.delete_item(key, last.seq) and await store.delete_item(key, first.seq)
    assert await store.pop(key) == user_msg("c")  # the newest item still there, not the deleted one
    await store.append(key, [user_msg("e")], agent=None)
    assert texts([s.item for s in await store.read(key)]) == ["b", "e"]
    assert texts([s.item for s in await store.read(key, after_seq=first.seq)]) == ["b", "e"]
    info = await store.info(key)
    assert info is not None and info.item_count == 2
    await store.prune(max_items=1)
    assert texts([s.item for s in await store.read(key)]) == ["e"]
    info = await store.info(key)
    assert info is not None and info.item_count == 1


async def test_the_window_and_tail_still_hold_exactly_their_count_after_deletions(
    store: SessionStore, user: str
) -> None:
    key = ConversationKey(user, "tail")
    await store.append(key, [user_msg(f"m{n}") for n in range(8)], agent=None)
    stored = await store.read(key)
    for gone in (stored[5], stored[6]):
        assert await store.delete_item(key, gone.seq)
    assert texts(await store.tail(key, 3)) == ["m3", "m4", "m7"]
    assert texts(await store.window(key, WindowSettings(max_items=3))) == ["m3", "m4", "m7"]


async def test_deleting_a_tool_call_or_its_output_deletes_both(store: SessionStore, user: str) -> None:
    key = ConversationKey(user, "tools")
    await store.append(key, tool_turn(1) + tool_turn(2), agent=None)
    stored = await store.read(key)
    assert await store.delete_item(key, stored[2].seq)  # output c1: its call goes too
    assert await store.delete_item(key, stored[5].seq)  # call c2: its output goes too
    remaining = [s.item for s in await store.read(key)]
    assert texts(remaining) == ["question 1", "answer 1", "question 2", "answer 2"]
    window = await store.window(key, WindowSettings(max_items=50))
    assert texts(window) == texts(remaining) and no_orphan_outputs(window)
    info = await store.info(key)
    assert info is not None and info.item_count == 4


async def test_a_tool_exchange_is_found_across_a_long_turn_and_no_other_turn_is_touched(
    store: SessionStore, user: str
) -> None:
    key = ConversationKey(user, "long-turn")
    filler = [assistant_msg(f"step {n}") for n in range(110)]  # more than one page of the turn search
    await store.append(key, [user_msg("before"), call("x"), output("x")], agent=None)
    turn = [user_msg("go"), call("a"), *filler, output("a"), call("b"), *filler, output("b")]
    await store.append(key, turn, agent=None)
    await store.append(key, [user_msg("after"), call("x"), output("x")], agent=None)  # a reused call id, next turn
    stored = await store.read(key)
    labels = texts([s.item for s in stored])
    assert await store.delete_item(key, stored[labels.index("function_call_output:a")].seq)  # its call, pages back
    assert await store.delete_item(key, stored[labels.index("function_call:b")].seq)  # its output, pages on
    assert await store.delete_item(key, stored[1].seq)  # the first turn's call x only
    remaining = texts([s.item for s in await store.read(key)])
    assert remaining == ["before", "go", *texts(filler * 2), "after", "function_call:x", "function_call_output:x"]
    info = await store.info(key)
    assert info is not None and info.item_count == len(remaining)


async def test_delete_item_refuses_a_seq_that_is_not_a_positive_integer(store: SessionStore, user: str) -> None:
    key = ConversationKey(user, "bad")
    await store.append(key, [user_msg("keep")], agent=None)
    for seq in (0, -1, True, "1", 1.0, None):
        with pytest.raises(InvalidItemError, match="positive integer"):
            await store.delete_item(key, seq)  # type: ignore[arg-type]
    assert len(await store.read(key)) == 1


async def test_an_item_cannot_be_deleted_through_another_users_or_conversations_key(
    store: SessionStore, user: str, other_user: str
) -> None:
    mine = ConversationKey(user, "s1")
    await store.append(mine, [user_msg("mine"), assistant_msg("reply")], agent=None)
    await store.append(ConversationKey(other_user, "s1"), [user_msg("theirs")], agent=None)
    await store.append(ConversationKey(user, "s2"), [user_msg("other")], agent=None)
    reply = (await store.read(mine))[1]  # a seq the other conversations do not hold (seqs may be per conversation)
    for wrong in (ConversationKey(other_user, "s1"), ConversationKey(user, "s2"), ConversationKey(user, "never")):
        assert await store.delete_item(wrong, reply.seq) is False
    assert texts([s.item for s in await store.read(mine)]) == ["mine", "reply"]
    assert texts([s.item for s in await store.read(ConversationKey(other_user, "s1"))]) == ["theirs"]


async def test_recall_forgets_a_deleted_middle_item_and_still_finds_the_others(store: SessionStore, user: str) -> None:
    key = ConversationKey(user, "recall")
    await store.append(key, [user_msg("My name is Quixotl."), assistant_msg("Nice to meet you, Quixotl.")], agent=None)
    await store.append(key, [user_msg("My locker code is 4471."), assistant_msg("Noted: locker 4471.")], agent=None)
    await store.append(key, [user_msg("My cat is called Brindle."), assistant_msg("Brindle: a fine name.")], agent=None)
    for n in range(10):
        await store.append(key, [user_msg(f"Filler question {n}?"), assistant_msg(f"Filler answer {n}.")], agent=None)
    stored = await store.read(key)
    assert await store.delete_item(key, stored[2].seq)  # "My locker code is 4471."
    found = [texts([s.item])[0] for s in await store.recall(key, "what was my locker code", limit=3)]
    assert "My locker code is 4471." not in found and found[0] == "Noted: locker 4471."
    assert await store.delete_item(key, stored[3].seq)
    assert await store.recall(key, "locker 4471") == []
    assert [texts([s.item])[0] for s in await store.recall(key, "what is my name", limit=1)] == ["My name is Quixotl."]
    assert [s.seq for s in await store.recall(key, "what is my cat called", limit=1)] == [stored[4].seq]
    assert {s.seq for s in await store.recall(key, "Brindle")} == {stored[4].seq, stored[5].seq}  # after the gap


async def test_concurrent_appends_and_deletes_stay_consistent(store: SessionStore, user: str) -> None:
    key = ConversationKey(user, "race")
    await store.append(key, [user_msg(f"elderberry {n}") for n in range(20)], agent=None)
    doomed = (await store.read(key))[::2]
    results = await asyncio.gather(
        *(store.append(key, [assistant_msg(f"newt {n}")], agent=None) for n in range(20)),
        *(store.delete_item(key, stored.seq) for stored in doomed),
    )
    assert results[20:] == [True] * len(doomed)
    final = await store.read(key)
    assert [s.seq for s in final] == sorted({s.seq for s in final})  # unique, in order
    living = {f"elderberry {n}" for n in range(1, 20, 2)}
    assert sorted(texts([s.item for s in final])) == sorted([*living, *(f"newt {n}" for n in range(20))])
    info = await store.info(key)
    assert info is not None and info.item_count == len(final) == 30
    assert len(await store.tail(key, 30)) == 30
    recalled = texts([s.item for s in await store.recall(key, "elderberry", limit=20)])
    assert recalled and set(recalled) <= living
