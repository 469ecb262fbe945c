"""Redis key-layout versions (numbered, append-only) and their runner.

Redis has no tables, but the layout of its keys is a schema all the same: `{prefix}schema_version`
records the version, so a store refuses a layout newer than it knows and upgrades an older one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from asdrp.memory.errors import MemoryStoreError
from asdrp.memory.stores.migrations import MigrationRegistry

RedisMigration = Callable[[aioredis.Redis, str], Awaitable[None]]
REDIS_MIGRATIONS: MigrationRegistry[RedisMigration] = MigrationRegistry("redis")


@REDIS_MIGRATIONS
async def m001_initial(client: aioredis.Redis, prefix: str) -> None:
    """The first layout: per conversation `:items` (list) and `:info` (hash), per user `:sessions`
    (sorted set), plus `:staged` (hash of interrupted turns). Data written before versioning began
    already has this layout, so there is nothing to rewrite."""


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
