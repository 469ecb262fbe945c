"""Redis session store: conversations in one shared Redis so several server replicas serve them.

redis-py's asyncio client over a bounded connection pool. Per conversation: a list of JSON items
and a hash of registry fields; per user: a sorted set of session ids scored by `updated_at`. Every
write is one Lua script (atomic, serialized by Redis itself); whole turns are serialized across
replicas by a `SET NX PX` lock released with compare-and-delete.

Key layout (prefix configurable, default `asdrp:`; ids never contain `{`, `}` or `/`):
    {prefix}{<user>}/<session_id>:items   list of items, oldest first
    {prefix}{<user>}/<session_id>:info    hash: session_id, agent_id, title, created_at, updated_at,
                                          item_count, next_seq, last_token
    {prefix}{<user>}/<session_id>:lock    turn lock (token, with expiry)
    {prefix}{<user>}:sessions             sorted set of session ids, score = updated_at
The `{<user>}` hash tag keeps one user's keys in one cluster slot, so every script touches one slot.

Each list element is `{"s":seq,"u":turn_start,"k":tokens,"a":agent,"r":role,"t":created_at,"i":item}`;
`s` is a per-conversation sequence that stays contiguous (pop hands its number back, trims remove
from the head), so `read(after_seq)` is an index computation, not a scan.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis import exceptions as redis_exc
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from asdrp.memory.errors import MemoryStoreError, SessionBusyError, StoreUnavailableError
from asdrp.memory.records import ConversationKey, SessionInfo, StoredItem, WindowSettings
from asdrp.memory.retention import PruneResult
from asdrp.memory.ids import validate_user
from asdrp.memory.items import item_role, serialize_items, title_from
from asdrp.memory.paging import decode_cursor, encode_cursor
from asdrp.memory.window import WindowRow, is_turn_start, select_window

_T = TypeVar("_T")

DEFAULT_PREFIX = "asdrp:"
_PREFIX_RE = re.compile(r"^[A-Za-z0-9_.:\-]{0,64}$")


@dataclass(frozen=True)
class RedisSettings:
    """How the Redis store connects; defaults suit one replica on a small machine."""

    prefix: str = DEFAULT_PREFIX
    """Prepended to every key; tests use a unique one per run."""
    max_connections: int = 20
    """Pool size; a caller waits (up to pool_timeout) when all are busy rather than opening more."""
    pool_timeout: float = 10.0
    """Seconds to wait for a free pooled connection."""
    connect_timeout: float = 5.0
    """Seconds to wait for a new connection."""
    socket_timeout: float = 30.0
    """Seconds one command may take."""
    lock_ttl_ms: int = 30_000
    """A turn lock expires after this long unless renewed (a crashed replica frees it by itself)."""


_APPEND = """
local n = #ARGV - 6
if ARGV[6] ~= '' and redis.call('HGET', KEYS[2], 'last_token') == ARGV[6] then return -1 end
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('HSET', KEYS[2], 'session_id', ARGV[1], 'created_at', ARGV[3], 'updated_at', ARGV[2],
             'agent_id', ARGV[4], 'title', ARGV[5], 'item_count', 0, 'next_seq', 0)
else
  if ARGV[4] ~= '' and redis.call('HGET', KEYS[2], 'agent_id') == '' then
    redis.call('HSET', KEYS[2], 'agent_id', ARGV[4])
  end
  if ARGV[5] ~= '' and redis.call('HGET', KEYS[2], 'title') == '' then
    redis.call('HSET', KEYS[2], 'title', ARGV[5])
  end
end
local last = redis.call('HINCRBY', KEYS[2], 'next_seq', n)
local first = last - n
local batch = {}
for i = 1, n do
  batch[#batch + 1] = '{"s":' .. string.format('%d', first + i) .. ',' .. ARGV[6 + i]
  if #batch == 1000 then
    redis.call('RPUSH', KEYS[1], unpack(batch))
    batch = {}
  end
end
if #batch > 0 then redis.call('RPUSH', KEYS[1], unpack(batch)) end
redis.call('HINCRBY', KEYS[2], 'item_count', n)
local updated = redis.call('HGET', KEYS[2], 'updated_at')
if tonumber(ARGV[2]) > tonumber(updated) then
  redis.call('HSET', KEYS[2], 'updated_at', ARGV[2])
  updated = ARGV[2]
end
redis.call('ZADD', KEYS[3], updated, ARGV[1])
if ARGV[6] ~= '' then redis.call('HSET', KEYS[2], 'last_token', ARGV[6]) end
return last
"""

_READ = """
local first = redis.call('LINDEX', KEYS[1], 0)
if not first then return '' end
local head = tonumber(string.match(first, '^{"s":(%d+),'))
local start = tonumber(ARGV[1]) - head + 1
if start < 0 then start = 0 end
local limit = tonumber(ARGV[2])
local stop = -1
if limit >= 0 then
  if limit == 0 then return '' end
  stop = start + limit - 1
end
return table.concat(redis.call('LRANGE', KEYS[1], start, stop), ',')
"""

# The tail as ONE reply: the elements joined by commas, i.e. the inside of a JSON array. Parsing one
# bulk string with one json.loads is several times cheaper than one RESP element + json.loads each.
_TAIL = """
return table.concat(redis.call('LRANGE', KEYS[1], -tonumber(ARGV[1]), -1), ',')
"""

_TOUCH = """
local updated = redis.call('HGET', KEYS[2], 'updated_at')
if tonumber(ARGV[2]) > tonumber(updated) then
  redis.call('HSET', KEYS[2], 'updated_at', ARGV[2])
  updated = ARGV[2]
end
redis.call('ZADD', KEYS[3], updated, ARGV[1])
"""

_POP = (
    """
if redis.call('EXISTS', KEYS[2]) == 0 then return false end
local el = redis.call('RPOP', KEYS[1])
if not el then return false end
redis.call('HINCRBY', KEYS[2], 'item_count', -1)
redis.call('HINCRBY', KEYS[2], 'next_seq', -1)
"""
    + _TOUCH
    + "return el\n"
)

_CLEAR = (
    """
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[2], 'item_count', 0)
"""
    + _TOUCH
    + "return 1\n"
)

_DELETE = """
local existed = redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return existed
"""

_EXPIRE = """
local updated = redis.call('HGET', KEYS[2], 'updated_at')
if updated and tonumber(updated) >= tonumber(ARGV[2]) then return -1 end
local n = redis.call('LLEN', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return n
"""

_TRIM = """
local n = redis.call('LLEN', KEYS[1])
local m = tonumber(ARGV[1])
if n <= m then return 0 end
local function starts_turn(el) return string.match(el, '^{"s":%d+,"u":1') ~= nil end
local cut = nil
local tail = redis.call('LRANGE', KEYS[1], n - m, -1)
for i = 1, #tail do
  if starts_turn(tail[i]) then cut = n - m + i - 1; break end
end
if not cut then
  local stop = n - m - 1
  while stop >= 0 and not cut do
    local start = stop - 99
    if start < 0 then start = 0 end
    local chunk = redis.call('LRANGE', KEYS[1], start, stop)
    for i = #chunk, 1, -1 do
      if starts_turn(chunk[i]) then cut = start + i - 1; break end
    end
    stop = start - 1
  end
  if not cut then cut = n - m end
end
if cut <= 0 then return 0 end
redis.call('LTRIM', KEYS[1], cut, -1)
redis.call('HINCRBY', KEYS[2], 'item_count', -cut)
return cut
"""

_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


def parse_redis_url(url: str) -> tuple[str, str | None]:
    """`redis://...[?prefix=x]` -> (URL for redis-py, prefix or None); `prefix` is ours, not the driver's."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise MemoryStoreError(f"redis store URL must start with redis://, got {_redact(url)!r}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = next((v for k, v in query if k == "prefix"), None)
    rest = [(k, v) for k, v in query if k != "prefix"]
    return urlunsplit(parts._replace(query=urlencode(rest))), prefix


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))
    return url


def _glob_escape(value: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", value)


class RedisStore:
    """A `SessionStore` on Redis; safe to share between tasks and between replicas.

    Construction is synchronous and opens no connection; the pool connects on first use.
    """

    kind = "redis"

    def __init__(self, url: str, settings: RedisSettings | None = None) -> None:
        driver_url, url_prefix = parse_redis_url(url)
        settings = settings or RedisSettings()
        if url_prefix is not None and settings.prefix == DEFAULT_PREFIX:
            settings = RedisSettings(**{**settings.__dict__, "prefix": url_prefix})
        if not _PREFIX_RE.match(settings.prefix):
            raise MemoryStoreError(
                f"redis key prefix {settings.prefix!r} is invalid: up to 64 characters of A-Za-z0-9_.:-"
            )
        self.settings = settings
        self.prefix = settings.prefix
        self._url = driver_url
        self._where = _redact(urlunsplit(urlsplit(url)._replace(query="")))
        self._client: aioredis.Redis | None = None
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scripts: dict[str, Any] = {}
        self._local_locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = weakref.WeakValueDictionary()

    # ---- plumbing -------------------------------------------------------------------------------

    def _redis(self) -> aioredis.Redis:
        """The client for the running event loop (pooled connections belong to the loop that made them)."""
        if self._closed:
            raise StoreUnavailableError(f"The Redis session store at {self._where} is closed")
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            s = self.settings
            pool = aioredis.BlockingConnectionPool.from_url(
                self._url,
                max_connections=s.max_connections,
                timeout=s.pool_timeout,
                socket_connect_timeout=s.connect_timeout,
                socket_timeout=s.socket_timeout,
                health_check_interval=30,
                # One immediate retry on a fresh connection: a pooled connection left dead by a
                # server restart costs nothing visible. Appends are made idempotent by a token.
                retry=Retry(NoBackoff(), 1),
            )
            self._client = aioredis.Redis(connection_pool=pool)
            self._loop = loop
            self._local_locks = weakref.WeakValueDictionary()
            self._scripts = {
                name: self._client.register_script(src)
                for name, src in (
                    ("append", _APPEND), ("read", _READ), ("tail", _TAIL), ("pop", _POP), ("clear", _CLEAR),
                    ("delete", _DELETE), ("expire", _EXPIRE), ("trim", _TRIM), ("unlock", _UNLOCK),
                    ("renew", _RENEW),
                )
            }
        return self._client

    def _keys(self, key: ConversationKey) -> tuple[str, str, str]:
        base = f"{self.prefix}{{{key.user}}}/{key.session_id}"
        return f"{base}:items", f"{base}:info", self._user_index(key.user)

    def _user_index(self, user: str) -> str:
        return f"{self.prefix}{{{user}}}:sessions"

    async def _run(self, op: str, fn: Callable[[aioredis.Redis], Awaitable[_T]]) -> _T:
        try:
            return await fn(self._redis())
        except (redis_exc.ConnectionError, redis_exc.TimeoutError, OSError, asyncio.TimeoutError) as exc:
            raise StoreUnavailableError(f"Redis at {self._where} is unavailable ({op}): {exc}") from exc
        except redis_exc.ResponseError as exc:
            if str(exc).startswith(("LOADING", "MASTERDOWN", "TRYAGAIN", "BUSY")):
                raise StoreUnavailableError(f"Redis at {self._where} is unavailable ({op}): {exc}") from exc
            raise MemoryStoreError(f"Redis error during {op} at {self._where}: {exc}") from exc

    async def _script(self, op: str, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        async def call(client: aioredis.Redis) -> Any:
            return await self._scripts[name](keys=list(keys), args=list(args))

        return await self._run(op, call)

    # ---- SessionStore ---------------------------------------------------------------------------

    async def append(
        self, key: ConversationKey, items: Sequence[dict], *, agent: str | None, agent_id: str | None = None
    ) -> None:
        items = list(items)
        texts = serialize_items(key, items)
        if not items:
            return
        now = time.time()
        tails = [_tail(item, data, agent, now) for item, data in zip(items, texts)]
        await self._append(key, tails, agent_id=agent_id, title=title_from(items), now=now, created_at=now)

    async def _append(
        self, key: ConversationKey, tails: list[str], *, agent_id: str | None, title: str, now: float,
        created_at: float, token: str | None = None,
    ) -> None:
        items_key, info_key, index_key = self._keys(key)
        args = [key.session_id, repr(now), repr(created_at), agent_id or "", title, token or uuid.uuid4().hex, *tails]
        await self._script("append", "append", [items_key, info_key, index_key], args)

    async def window(self, key: ConversationKey, settings: WindowSettings) -> list[dict]:
        if settings.max_items <= 0:
            return []
        joined = await self._script("window", "tail", [self._keys(key)[0]], [settings.max_items])
        rows = [WindowRow(d["i"], d["k"], bool(d["u"])) for d in _elements(joined)]
        return select_window(rows, settings)

    async def read(self, key: ConversationKey, *, after_seq: int = 0, limit: int | None = None) -> list[StoredItem]:
        joined = await self._script(
            "read", "read", [self._keys(key)[0]], [max(0, after_seq), -1 if limit is None else max(0, limit)]
        )
        return [StoredItem(seq=d["s"], item=d["i"], agent=d["a"], role=d["r"], created_at=d["t"])
                for d in _elements(joined)]

    async def pop(self, key: ConversationKey) -> dict | None:
        raw = await self._script("pop", "pop", self._keys(key), [key.session_id, repr(time.time())])
        return _stored(raw).item if raw else None

    async def clear(self, key: ConversationKey) -> None:
        await self._script("clear", "clear", self._keys(key), [key.session_id, repr(time.time())])

    async def info(self, key: ConversationKey) -> SessionInfo | None:
        info_key = self._keys(key)[1]
        raw = await self._run("info", lambda r: r.hgetall(info_key))
        return _info(key.user, raw) if raw else None

    async def list_sessions(
        self, user: str, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[SessionInfo], str | None]:
        validate_user(user)
        if limit < 1:
            raise ValueError(f"list_sessions limit must be at least 1, got {limit}")
        after = decode_cursor(cursor) if cursor else None
        index = self._user_index(user)

        async def page(r: aioredis.Redis) -> list[str]:
            # Newest first by (updated_at, session_id), keyset-paged: skip what the cursor already showed.
            top: Any = "+inf" if after is None else repr(after[0])
            chosen: list[str] = []
            offset = 0
            batch = limit + 1 + 16
            while len(chosen) <= limit:
                rows = await r.zrange(index, top, "-inf", desc=True, byscore=True, offset=offset, num=batch,
                                      withscores=True)
                if not rows:
                    break
                for member, score in rows:
                    sid = member.decode()
                    if after is not None and score == after[0] and sid >= after[1]:
                        continue
                    chosen.append(sid)
                offset += len(rows)
            return chosen[: limit + 1]

        sids = await self._run("list_sessions", page)

        async def load(r: aioredis.Redis) -> list[dict]:
            pipe = r.pipeline(transaction=False)
            for sid in sids:
                pipe.hgetall(self._keys(ConversationKey(user, sid))[1])
            return await pipe.execute()

        infos = [_info(user, raw) for raw in await self._run("list_sessions", load) if raw]
        if len(sids) > limit:
            infos = infos[:limit]
            last = infos[-1] if infos else None
            return infos, encode_cursor(last.updated_at, last.session_id) if last else None
        return infos, None

    async def delete(self, key: ConversationKey) -> bool:
        return bool(await self._script("delete", "delete", self._keys(key), [key.session_id]))

    async def delete_user(self, user: str) -> int:
        validate_user(user)
        index = self._user_index(user)

        async def delete_all(r: aioredis.Redis) -> int:
            sids = [m.decode() for m in await r.zrange(index, 0, -1)]
            count = 0
            for start in range(0, len(sids), 500):
                pipe = r.pipeline(transaction=True)
                for sid in sids[start : start + 500]:
                    items_key, info_key, _ = self._keys(ConversationKey(user, sid))
                    pipe.delete(items_key, info_key)
                    pipe.zrem(index, sid)
                results = await pipe.execute()
                count += sum(1 for existed in results[0::2] if existed)
            return count

        return await self._run("delete_user", delete_all)

    @asynccontextmanager
    async def lock(self, key: ConversationKey, *, wait: bool = True) -> AsyncIterator[None]:
        """Hold the conversation for a whole turn, across every process sharing this Redis.

        In-process waiters queue on an asyncio lock so only one per process polls Redis; the Redis lock
        expires by itself (lock_ttl_ms) if its holder dies, and is renewed while the turn runs.
        """
        self._redis()
        local = self._local_locks.get((key.user, key.session_id))
        if local is None:
            local = asyncio.Lock()
            self._local_locks[(key.user, key.session_id)] = local
        if not wait and local.locked():
            raise SessionBusyError(f"conversation {key.session_id!r} of user {key.user!r} is busy with another turn")
        async with local:
            lock_key = f"{self.prefix}{{{key.user}}}/{key.session_id}:lock"
            token = uuid.uuid4().hex
            ttl = self.settings.lock_ttl_ms
            delay = 0.002
            while not await self._run("lock", lambda r: r.set(lock_key, token, nx=True, px=ttl)):
                if not wait:
                    raise SessionBusyError(
                        f"conversation {key.session_id!r} of user {key.user!r} is busy with another turn"
                    )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.05)
            renewer = asyncio.create_task(self._renew(lock_key, token, ttl))
            try:
                yield
            finally:
                renewer.cancel()
                with suppress(asyncio.CancelledError):
                    await renewer
                with suppress(MemoryStoreError):
                    # If Redis is down the lock simply expires; nobody else can hold it meanwhile.
                    await self._script("unlock", "unlock", [lock_key], [token])

    async def _renew(self, lock_key: str, token: str, ttl: int) -> None:
        while True:
            await asyncio.sleep(ttl / 3000)
            with suppress(MemoryStoreError):
                await self._script("lock", "renew", [lock_key], [token, ttl])

    async def close(self) -> None:
        client, self._client = self._client, None
        self._closed = True
        if client is not None:
            with suppress(Exception):
                await client.aclose()
            with suppress(Exception):
                await client.connection_pool.disconnect()

    # ---- retention and transfer (beyond the core protocol) ----------------------------------------

    async def _user_indexes(self) -> list[tuple[str, str]]:
        """(user, sorted-set key) for every user with conversations under this prefix (SCAN, not KEYS)."""
        pattern = f"{_glob_escape(self.prefix)}{{*}}:sessions"
        start = len(self.prefix) + 1

        async def scan(r: aioredis.Redis) -> list[tuple[str, str]]:
            found = []
            async for raw in r.scan_iter(match=pattern, count=500, _type="zset"):
                name = raw.decode()
                user = name[start : name.rindex("}:sessions")]
                if "/" not in user:
                    found.append((user, name))
            return sorted(found)

        return await self._run("scan", scan)

    async def list_users(self) -> list[str]:
        """Every user with at least one conversation (for export and sweeps)."""
        return [user for user, _ in await self._user_indexes()]

    async def prune(
        self, *, max_age_seconds: float | None = None, max_items: int | None = None, now: float | None = None
    ) -> PruneResult:
        """Delete conversations idle longer than `max_age_seconds`; trim the rest to `max_items` whole turns."""
        now = time.time() if now is None else now
        result = PruneResult()
        for user, index in await self._user_indexes():
            if max_age_seconds is not None:
                cut = now - max_age_seconds
                old = await self._run("prune", lambda r: r.zrange(index, "-inf", f"({cut!r}", byscore=True))
                for member in old:
                    key = ConversationKey(user, member.decode())
                    removed = await self._script("prune", "expire", self._keys(key), [key.session_id, repr(cut)])
                    if removed >= 0:
                        result.sessions_deleted += 1
                        result.items_removed += removed
            if max_items is not None:
                for member in await self._run("prune", lambda r: r.zrange(index, 0, -1)):
                    key = ConversationKey(user, member.decode())
                    removed = await self._script("prune", "trim", self._keys(key)[:2], [max_items])
                    if removed > 0:
                        result.sessions_trimmed += 1
                        result.items_removed += removed
        return result

    async def import_session(self, info: SessionInfo, items: Sequence[StoredItem]) -> None:
        """Write imported items with their original agent/role/timestamps (used by asdrp.memory.transfer)."""
        if not items:
            return
        key = ConversationKey(info.user, info.session_id)
        texts = serialize_items(key, [i.item for i in items])
        tails = [_tail(i.item, data, i.agent, i.created_at, role=i.role) for i, data in zip(items, texts)]
        await self._append(
            ConversationKey(info.user, info.session_id), tails, agent_id=info.agent_id, title=info.title,
            now=info.updated_at, created_at=info.created_at,
        )

    async def drop_prefix(self) -> int:
        """Delete every key under this store's prefix (tests and decommissioning only)."""
        pattern = f"{_glob_escape(self.prefix)}*"

        async def drop(r: aioredis.Redis) -> int:
            count = 0
            batch: list[bytes] = []
            async for raw in r.scan_iter(match=pattern, count=1000):
                batch.append(raw)
                if len(batch) >= 500:
                    count += await r.unlink(*batch)
                    batch = []
            if batch:
                count += await r.unlink(*batch)
            return count

        return await self._run("drop_prefix", drop)


def _tail(item: dict, data: str, agent: str | None, created_at: float, *, role: str | None = None) -> str:
    """The list element without its leading `{"s":N,` (the append script adds the sequence number).

    `data` is the item's compact JSON (already validated); it is spliced in rather than re-encoded.
    """
    return (
        f'"u":{1 if is_turn_start(item) else 0},"k":{max(1, len(data) // 4)},'  # k: estimate_tokens' rule
        f'"a":{json.dumps(agent, ensure_ascii=False)},"r":{json.dumps(role or item_role(item), ensure_ascii=False)},'
        f'"t":{created_at!r},"i":{data}}}'
    )


def _elements(joined: bytes) -> list[dict[str, Any]]:
    """The list elements a script returned joined by commas (see _TAIL)."""
    return json.loads(b"[" + joined + b"]") if joined else []


def _stored(raw: bytes | str) -> StoredItem:
    d = json.loads(raw)
    return StoredItem(seq=d["s"], item=d["i"], agent=d["a"], role=d["r"], created_at=d["t"])


def _info(user: str, raw: dict[bytes, bytes]) -> SessionInfo:
    f = {k.decode(): v.decode() for k, v in raw.items()}
    return SessionInfo(
        user=user,
        session_id=f["session_id"],
        agent_id=f.get("agent_id") or None,
        title=f.get("title", ""),
        created_at=float(f["created_at"]),
        updated_at=float(f["updated_at"]),
        item_count=int(f.get("item_count", 0)),
    )
