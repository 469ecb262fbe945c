"""SessionDirectory: one view of a user's conversations across several stores."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from asdrp.memory import ConversationKey, InvalidCursorError, SqliteStore
from asdrp.orchestration.directory import SessionDirectory


def turn(text: str) -> list[dict]:
    return [
        {"role": "user", "content": text},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": f"re: {text}"}]},
    ]


@pytest.fixture
async def stores() -> AsyncIterator[list[SqliteStore]]:
    made = [SqliteStore(None), SqliteStore(None)]
    yield made
    for store in made:
        await store.close()


async def test_lists_sessions_of_all_stores_newest_first_with_cursor_paging(stores: list[SqliteStore]) -> None:
    a, b = stores
    for index in range(7):
        store = a if index % 3 else b
        await store.append(ConversationKey("alice", f"s{index}"), turn(f"hello {index}"), agent="geo", agent_id="geo")
    await a.append(ConversationKey("bob", "s-bob"), turn("bob's"), agent="geo", agent_id="geo")
    directory = SessionDirectory(stores)
    seen: list[str] = []
    cursor = None
    while True:
        page, cursor = await directory.list_for_user("alice", limit=3, cursor=cursor)
        assert len(page) <= 3
        seen.extend(info.session_id for info in page)
        if cursor is None:
            break
    assert seen == [f"s{index}" for index in reversed(range(7))]


async def test_one_session_id_in_two_stores_is_one_conversation(stores: list[SqliteStore]) -> None:
    a, b = stores
    await a.append(ConversationKey("alice", "shared"), turn("first, via moe"), agent="moe", agent_id="moe")
    await b.append(ConversationKey("alice", "shared"), turn("second, via geo"), agent="geo", agent_id="geo")
    await a.append(ConversationKey("alice", "other"), turn("other"), agent="moe", agent_id="moe")
    directory = SessionDirectory(stores)
    page, cursor = await directory.list_for_user("alice", limit=10)
    assert cursor is None
    assert [info.session_id for info in page] == ["other", "shared"]
    shared = page[1]
    assert shared.item_count == 4 and shared.title == "first, via moe"
    found = await directory.get("alice", "shared")
    assert found is not None
    info, items = found
    assert [item.item.get("content") for item in items if item.role == "user"] == ["first, via moe", "second, via geo"]
    assert await directory.delete("alice", "shared") is True
    assert await directory.get("alice", "shared") is None
    assert await a.info(ConversationKey("alice", "shared")) is None
    assert await b.info(ConversationKey("alice", "shared")) is None
    assert await directory.delete("alice", "shared") is False


async def test_users_never_see_each_others_conversations(stores: list[SqliteStore]) -> None:
    a, _ = stores
    await a.append(ConversationKey("alice", "s1"), turn("my name is Alice"), agent="geo")
    directory = SessionDirectory(stores)
    assert (await directory.list_for_user("bob"))[0] == []
    assert await directory.get("bob", "s1") is None
    assert await directory.delete("bob", "s1") is False
    assert await directory.get("alice", "s1") is not None
    assert await directory.delete_user("alice") == 1


async def test_a_tampered_cursor_is_refused_by_name(stores: list[SqliteStore]) -> None:
    with pytest.raises(InvalidCursorError, match="cursor"):
        await SessionDirectory(stores).list_for_user("alice", cursor="not-a-cursor!!")
