"""Redis-specific behaviour beyond the conformance suite: key layout, idempotent appends, lock expiry."""

from __future__ import annotations

import asyncio

import pytest

from asdrp.memory.errors import MemoryStoreError, SessionBusyError, StoreUnavailableError
from asdrp.memory.records import ConversationKey, WindowSettings
from asdrp.memory.stores.redis import RedisSettings, RedisStore, parse_redis_url
from tests.shared_stores import services


def test_prefix_is_taken_out_of_the_url_query_and_validated() -> None:
    assert parse_redis_url("redis://127.0.0.1:6379/0?prefix=team-a:") == ("redis://127.0.0.1:6379/0", "team-a:")
    assert RedisStore("redis://127.0.0.1:6379/0?prefix=team-a:").prefix == "team-a:"
    with pytest.raises(MemoryStoreError, match="redis://"):
        RedisStore("http://127.0.0.1:6379")
    with pytest.raises(MemoryStoreError, match="prefix"):
        RedisStore("redis://127.0.0.1:6379/0", RedisSettings(prefix="bad prefix*"))


async def test_an_unreachable_server_is_reported_as_unavailable() -> None:
    store = RedisStore("redis://127.0.0.1:1/0")
    try:
        with pytest.raises(StoreUnavailableError, match="Redis at redis://127.0.0.1:1/0 is unavailable"):
            await store.append(ConversationKey("alice", "s1"), [{"role": "user", "content": "hi"}], agent=None)
    finally:
        await store.close()


async def test_ids_containing_colons_never_share_keys() -> None:
    async with services.fresh_store("redis") as store:
        one, two = ConversationKey("a:b", "c"), ConversationKey("a", "b:c")
        await store.append(one, [{"role": "user", "content": "one"}], agent=None)
        await store.append(two, [{"role": "user", "content": "two"}], agent=None)
        assert await store.window(one, WindowSettings()) == [{"role": "user", "content": "one"}]
        assert await store.window(two, WindowSettings()) == [{"role": "user", "content": "two"}]
        assert sorted(await store.list_users()) == ["a", "a:b"]


async def test_a_retried_append_with_the_same_token_is_written_once() -> None:
    async with services.fresh_store("redis") as store:
        assert isinstance(store, RedisStore)
        key = ConversationKey("alice", "retry")
        tails = ['"u":1,"k":1,"a":null,"r":"user","t":1.0,"i":{"role":"user","content":"hi"}}']
        for _ in range(2):  # what redis-py's retry does after a lost reply
            await store._append_elements(
                key, tails, agent_id=None, title="hi", now=1.0, created_at=1.0, settle=None, token="t-1"
            )
        assert [s.item for s in await store.read(key)] == [{"role": "user", "content": "hi"}]


async def test_seq_stays_contiguous_after_pop_so_reads_page_correctly() -> None:
    async with services.fresh_store("redis") as store:
        key = ConversationKey("alice", "pages")
        await store.append(key, [{"role": "user", "content": str(i)} for i in range(5)], agent=None)
        await store.pop(key)
        await store.append(key, [{"role": "user", "content": "new"}], agent=None)
        history = await store.read(key)
        assert [s.seq for s in history] == [1, 2, 3, 4, 5]
        assert [s.item["content"] for s in await store.read(key, after_seq=3, limit=1)] == ["3"]
        assert [s.item["content"] for s in await store.read(key, after_seq=4)] == ["new"]


async def test_a_turn_lock_of_a_crashed_holder_expires_by_itself() -> None:
    async with services.fresh_store("redis") as store:
        assert isinstance(store, RedisStore)
        key = ConversationKey("alice", "crashed")
        client = (await store._client()).redis
        await client.set(f"{store.prefix}{{alice}}/crashed:lock", "someone-else", px=200)  # a dead replica's lock
        with pytest.raises(SessionBusyError):
            async with store.lock(key, wait=False):
                pass
        async with asyncio.timeout(5):
            async with store.lock(key):  # waits until the dead holder's lock expires
                pass


async def test_the_key_layout_has_a_version_and_a_newer_one_is_refused() -> None:
    async with services.fresh_store("redis") as store:
        assert isinstance(store, RedisStore)
        await store.info(ConversationKey("alice", "s"))
        client = (await store._client()).redis
        assert await client.get(f"{store.prefix}schema_version") == b"3"
        await client.set(f"{store.prefix}schema_version", 99)
        newer = RedisStore(f"redis://127.0.0.1:6379/0?prefix={store.prefix}")
        try:
            with pytest.raises(MemoryStoreError, match="layout version 99, newer than this asdrp knows"):
                await newer.info(ConversationKey("alice", "s"))
        finally:
            await newer.close()
