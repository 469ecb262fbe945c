"""Redis key-layout versions (numbered, append-only) and their runner.

Redis has no tables, but the layout of its keys is a schema all the same: `{prefix}schema_version`
records the version, so a store refuses a layout newer than it knows and upgrades an older one.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from asdrp.memory.errors import MemoryStoreError
from asdrp.memory.stores.migrations import MigrationRegistry


def glob_escape(value: str) -> str:
    """`value` with the glob metacharacters of SCAN MATCH escaped."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", value)


RedisMigration = Callable[[aioredis.Redis, str], Awaitable[None]]
REDIS_MIGRATIONS: MigrationRegistry[RedisMigration] = MigrationRegistry("redis")


@REDIS_MIGRATIONS
async def m001_initial(client: aioredis.Redis, prefix: str) -> None:
    """The first layout: per conversation `:items` (list) and `:info` (hash), per user `:sessions`
    (sorted set), plus `:staged` (hash of interrupted turns). Data written before versioning began
    already has this layout, so there is nothing to rewrite."""


@REDIS_MIGRATIONS
async def m002_recall_index(client: aioredis.Redis, prefix: str) -> None:
    """Index the items written before recall existed: each element gains its recall length ("n") and
    terms ("w"), and its terms' posting strings and the conversation's term set and counters are
    built, one conversation per MULTI/EXEC. Idempotent: elements that already carry "w" are kept."""
    import json

    from asdrp.memory.recall import item_terms
    from asdrp.memory.rows import is_opaque

    async for raw in client.scan_iter(match=f"{glob_escape(prefix)}{{*}}/*:items", count=500):
        items_key = raw.decode()
        base = items_key[: -len(":items")]
        elements = [json.loads(e) for e in await client.lrange(items_key, 0, -1)]
        if not elements or all("w" in e for e in elements):
            continue
        pipe = client.pipeline(transaction=True)
        pipe.delete(items_key, f"{base}:terms")
        indexed = length = 0
        for element in elements:
            terms = {} if is_opaque(element["i"]) else item_terms(element["i"])
            element["n"], element["w"] = sum(terms.values()), list(terms)
            for term, tf in terms.items():
                pipe.append(f"{base}:t:{term}", f" {element['s']}:{tf}:{element['n']}")
                pipe.sadd(f"{base}:terms", term)
            indexed += 1 if terms else 0
            length += element["n"]
        pipe.rpush(items_key, *(json.dumps(e, separators=(",", ":"), ensure_ascii=False) for e in elements))
        pipe.hset(f"{base}:info", mapping={"recall_items": indexed, "recall_length": length})
        await pipe.execute()


@REDIS_MIGRATIONS
async def m003_item_tombstones(client: aioredis.Redis, prefix: str) -> None:
    """A deleted item leaves a tombstone `{"s":seq,"x":1}` in its conversation's list (its seq keeps
    indexing the list). No tombstone exists before this version, so nothing is rewritten; the version
    is recorded so that an older asdrp, which would read a tombstone as an item, refuses the layout."""


async def migrate_redis(client: aioredis.Redis, prefix: str) -> list[str]:
    """Bring the layout under `prefix` up to date; returns the names of the migrations that ran.

    Each migration must be idempotent: two replicas starting at once may both run it.
    """
    version_key = f"{prefix}schema_version"
    raw = await client.get(version_key)
    current = int(raw) if raw is not None else 0
    if current > REDIS_MIGRATIONS.latest:
        raise MemoryStoreError(
            f"Redis keys under {prefix!r} have layout version {current}, newer than this asdrp knows "
            f"({REDIS_MIGRATIONS.latest}); upgrade asdrp"
        )
    ran: list[str] = []
    for migration in REDIS_MIGRATIONS.pending(range(1, current + 1)):
        await migration.apply(client, prefix)
        await client.set(version_key, migration.version)
        ran.append(migration.name)
    return ran
