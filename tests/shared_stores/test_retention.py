"""Retention: idle conversations expire, long ones lose whole old turns, the rest is untouched."""

from __future__ import annotations

import asyncio
import time

import pytest

from asdrp.memory.errors import StoreUnavailableError
from asdrp.memory.records import ConversationKey, SessionInfo, StoredItem, WindowSettings
from asdrp.memory.retention import (
    PruneResult,
    RetentionPolicy,
    RetentionSweeper,
    keep_from_for_max_items,
    merge_policies,
    prune,
)
from tests.shared_stores.writer import turn_items


def test_the_cut_keeps_from_the_oldest_turn_start_within_the_newest_items() -> None:
    assert keep_from_for_max_items([(9, False), (8, True), (7, False), (6, True), (5, False)]) == 6
    assert keep_from_for_max_items([(9, False), (8, False)]) is None


async def test_prune_rejects_meaningless_limits(any_store) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="max_items"):
        await prune(any_store, max_items=0)
    with pytest.raises(ValueError, match="max_age_seconds"):
        await prune(any_store, max_age_seconds=-1)
    assert await prune(any_store) == PruneResult()


async def test_max_age_deletes_only_conversations_idle_longer_than_it(any_store) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    old, fresh = ConversationKey("alice", "old"), ConversationKey("alice", "fresh")
    two_hours_ago = now - 7200
    await any_store.import_session(  # a conversation last written two hours ago
        SessionInfo("alice", "old", "geo", "turn O-0", two_hours_ago, two_hours_ago, 0),
        [StoredItem(0, item, "geo", item.get("role") or item["type"], two_hours_ago) for item in turn_items("O", 0)],
    )
    await any_store.append(fresh, turn_items("F", 0), agent="geo")

    assert (await prune(any_store, max_age_seconds=3 * 3600, now=now)).sessions_deleted == 0
    result = await prune(any_store, max_age_seconds=3600, now=now)
    assert (result.sessions_deleted, result.items_removed) == (1, 4)
    assert await any_store.info(old) is None and await any_store.read(old) == []
    assert [info.session_id for info in (await any_store.list_sessions("alice"))[0]] == ["fresh"]
    assert len(await any_store.read(fresh)) == 4


async def test_max_items_trims_whole_old_turns_and_keeps_the_history_consistent(any_store) -> None:  # type: ignore[no-untyped-def]
    key, small = ConversationKey("alice", "long"), ConversationKey("alice", "short")
    for n in range(5):
        await any_store.append(key, turn_items("L", n), agent="geo")
    await any_store.append(small, turn_items("S", 0), agent="geo")

    result = await prune(any_store, max_items=10)
    assert (result.sessions_trimmed, result.items_removed) == (1, 12)
    remaining = [s.item for s in await any_store.read(key)]
    assert remaining == turn_items("L", 3) + turn_items("L", 4)  # 8 items: cut at a turn start, never mid-turn
    info = await any_store.info(key)
    assert info is not None and info.item_count == 8
    assert await any_store.window(key, WindowSettings(max_items=50)) == remaining
    assert len(await any_store.read(small)) == 4
    await any_store.append(key, turn_items("L", 5), agent="geo")  # still appendable after a trim
    assert [s.item for s in await any_store.read(key)][-4:] == turn_items("L", 5)


async def test_a_newest_turn_longer_than_max_items_is_kept_whole(any_store) -> None:  # type: ignore[no-untyped-def]
    key = ConversationKey("alice", "big-turn")
    await any_store.append(key, turn_items("B", 0), agent="geo")
    await any_store.append(key, turn_items("B", 1), agent="geo")
    await prune(any_store, max_items=2)
    assert [s.item for s in await any_store.read(key)] == turn_items("B", 1)


def test_several_agents_on_one_store_get_the_most_lenient_policy() -> None:
    merged = merge_policies([RetentionPolicy(3600, 10), RetentionPolicy(7200, 4)])
    assert merged == RetentionPolicy(7200, 10)
    assert merge_policies([RetentionPolicy(3600, 10), RetentionPolicy(None, 4)]) == RetentionPolicy(None, 10)
    assert not merge_policies([]).is_active


async def test_the_background_sweeper_trims_and_survives_a_failing_store(any_store) -> None:  # type: ignore[no-untyped-def]
    class Broken:
        kind = "broken"

        async def prune(self, **_: object) -> PruneResult:
            raise StoreUnavailableError("database down")

    key = ConversationKey("alice", "swept")
    for n in range(3):
        await any_store.append(key, turn_items("S", n), agent="geo")
    sweeper = RetentionSweeper(lambda: [(Broken(), RetentionPolicy(max_items=4)),
                                        (any_store, RetentionPolicy(max_items=4))], interval_s=0.01)
    sweeper.start()
    try:
        for _ in range(500):
            if (await any_store.info(key)).item_count == 4:
                break
            await asyncio.sleep(0.01)
    finally:
        await sweeper.stop()
    assert [s.item for s in await any_store.read(key)] == turn_items("S", 2)
