"""Redis session store: conversations in one shared Redis so several server replicas serve them.

Usage::

    store = RedisStore("redis://127.0.0.1:6379/0?prefix=asdrp:")
    session = ConversationSession(store, "s1")
    await Runner.run(agent, "Hello", session=session)

redis-py's asyncio client over a bounded connection pool. Every write is one Lua script (atomic,
serialised by Redis itself); whole turns are serialised across replicas by a `SET NX PX` lock
released with compare-and-delete and renewed while the turn runs.

Key layout (prefix configurable, default `asdrp:`; ids never contain `{`, `}` or `/`), version 1
(`{prefix}schema_version`, see migrations/redis.py):
    {prefix}{<user>}/<session_id>:items   list of items, oldest first
    {prefix}{<user>}/<session_id>:info    hash: session_id, agent_id, title, created_at, updated_at,
                                          item_count, next_seq, last_token
    {prefix}{<user>}/<session_id>:staged  hash: turn id -> JSON array of an interrupted turn's items
    {prefix}{<user>}/<session_id>:lock    turn lock (token, with expiry)
    {prefix}{<user>}:sessions             sorted set of session ids, score = updated_at
The `{<user>}` hash tag keeps one user's keys in one cluster slot, so every script touches one slot.

Each list element is `{"s":seq,"u":turn_start,"k":tokens,"a":agent,"r":role,"t":created_at,"i":item}`;
`s` is a per-conversation sequence that stays contiguous (pop hands its number back, trims remove
from the head), so `read(after_seq)` is an index computation, not a scan. A deleted item
(`delete_item`) therefore leaves a tombstone `{"s":seq,"x":1}` in its place, which every reader
skips; tombstones at the head are dropped, and pop hands theirs back with its own.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis import exceptions as redis_exc
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from asdrp.memory.errors import MemoryStoreError, StaleTurnError, StoreUnavailableError
from asdrp.memory.recall import CorpusStats, Posting
from asdrp.memory.records import ConversationKey, SessionInfo, StoredItem
from asdrp.memory.rows import Row, item_json
from asdrp.memory.stores.base import LoopBound, StagedTurn, StoreBase, busy_error, redact_url, take_url_option
from asdrp.memory.stores.migrations.redis import glob_escape, migrate_redis
from asdrp.memory.window import WindowRow

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


# KEYS: items, info, user index, staged, recall term set, recall term key prefix.
# ARGV: session_id, now, created_at, agent_id, title, token, settle turn id ('' = none), n, indexed items,
# indexed length, then n elements without their leading `{"s":N,`, then postings as (ord, term, tf, length).
_APPEND = """
local n = tonumber(ARGV[8])
if ARGV[6] ~= '' and redis.call('HGET', KEYS[2], 'last_token') == ARGV[6] then return -1 end
if ARGV[7] ~= '' and redis.call('HDEL', KEYS[4], ARGV[7]) == 0 then return -2 end
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
  batch[#batch + 1] = '{"s":' .. string.format('%d', first + i) .. ',' .. ARGV[10 + i]
  if #batch == 1000 then
    redis.call('RPUSH', KEYS[1], unpack(batch))
    batch = {}
  end
end
if #batch > 0 then redis.call('RPUSH', KEYS[1], unpack(batch)) end
redis.call('HINCRBY', KEYS[2], 'item_count', n)
redis.call('HINCRBY', KEYS[2], 'recall_items', ARGV[9])
redis.call('HINCRBY', KEYS[2], 'recall_length', ARGV[10])
for p = 11 + n, #ARGV, 4 do
  local seq = string.format('%d', first + tonumber(ARGV[p]))
  redis.call('APPEND', KEYS[6] .. ARGV[p + 1], ' ' .. seq .. ':' .. ARGV[p + 2] .. ':' .. ARGV[p + 3])
  redis.call('SADD', KEYS[5], ARGV[p + 1])
end
local updated = redis.call('HGET', KEYS[2], 'updated_at')
if tonumber(ARGV[2]) > tonumber(updated) then
  redis.call('HSET', KEYS[2], 'updated_at', ARGV[2])
  updated = ARGV[2]
end
redis.call('ZADD', KEYS[3], updated, ARGV[1])
if ARGV[6] ~= '' then redis.call('HSET', KEYS[2], 'last_token', ARGV[6]) end
return last
"""

# A deleted item's tombstone keeps the list's seqs contiguous (see the module docstring); readers skip it.
_LIVE = """
local function live(element) return not string.find(element, '^{"s":%d+,"x":1}$') end
"""

# Up to `count` live elements ending at list index `stop` (negative: from the tail), oldest first; and up
# to `limit` from index `start` on (negative limit: all). In chunks: tombstones are rare, so usually one.
_LIVE_RANGES = _LIVE + """
local function live_before(stop, count)
  local len = redis.call('LLEN', KEYS[1])
  if stop < 0 then stop = len + stop end
  if stop > len - 1 then stop = len - 1 end
  local found = {}
  while #found < count and stop >= 0 do
    local start = stop - (count - #found) + 1
    if start < 0 then start = 0 end
    local chunk = redis.call('LRANGE', KEYS[1], start, stop)
    for i = #chunk, 1, -1 do
      if live(chunk[i]) then found[#found + 1] = chunk[i] end
    end
    stop = start - 1
  end
  local out = {}
  for i = #found, 1, -1 do out[#out + 1] = found[i] end
  return out
end

local function live_after(start, limit)
  local found = {}
  if limit < 0 then
    for _, element in ipairs(redis.call('LRANGE', KEYS[1], start, -1)) do
      if live(element) then found[#found + 1] = element end
    end
    return found
  end
  local len = redis.call('LLEN', KEYS[1])
  while #found < limit and start < len do
    local stop = start + (limit - #found) - 1
    for _, element in ipairs(redis.call('LRANGE', KEYS[1], start, stop)) do
      if live(element) then found[#found + 1] = element end
    end
    start = stop + 1
  end
  return found
end

local function head_seq()
  local first = redis.call('LINDEX', KEYS[1], 0)
  if not first then return nil end
  return tonumber(string.match(first, '^{"s":(%d+),'))
end
"""

# Drop every recall key of a conversation (KEYS[5] = its term set, KEYS[6] = the term key prefix).
_DROP_INDEX = """
local function drop_index()
  local terms = redis.call('SMEMBERS', KEYS[5])
  for i = 1, #terms do redis.call('DEL', KEYS[6] .. terms[i]) end
  redis.call('DEL', KEYS[5])
end
"""

# An element's recall length and terms, read without decoding the item (which may hold escapes that
# Lua's JSON decoder refuses, such as a lone surrogate). A JSON string cannot contain `"n":` unescaped,
# so the first match is the element's own field.
_RECALL_FIELDS = """
local function recall_fields(element)
  local n, w = string.match(element, '"n":(%d+),"w":(%b[])')
  if not n then return 0, {} end
  return tonumber(n), cjson.decode(w)
end
"""

# Remove one item's postings from its terms' posting strings (used when pop hands its seq back).
_UNINDEX = _RECALL_FIELDS + """
local function unindex(element)
  local n, terms = recall_fields(element)
  local pattern = ' ' .. string.match(element, '^{"s":(%d+),') .. ':%d+:%d+'
  for _, term in ipairs(terms) do
    local key = KEYS[6] .. term
    local rest = string.gsub(redis.call('GET', KEYS[6] .. term) or '', pattern, '')
    if rest == '' then
      redis.call('DEL', key)
      redis.call('SREM', KEYS[5], term)
    else
      redis.call('SET', key, rest)
    end
  end
  if n > 0 then
    redis.call('HINCRBY', KEYS[2], 'recall_items', -1)
    redis.call('HINCRBY', KEYS[2], 'recall_length', string.format('%d', 0 - n))
  end
end
"""

_READ = _LIVE_RANGES + """
local head = head_seq()
if not head then return '' end
local start = tonumber(ARGV[1]) - head + 1
if start < 0 then start = 0 end
return table.concat(live_after(start, tonumber(ARGV[2])), ',')
"""

# ARGV: before seq, limit: the live elements just before that seq, joined like _TAIL (oldest first).
_BEFORE = _LIVE_RANGES + """
local head = head_seq()
if not head then return '' end
local stop = tonumber(ARGV[1]) - head - 1
if stop < 0 then return '' end
return table.concat(live_before(stop, tonumber(ARGV[2])), ',')
"""

# The tail as ONE reply: the elements joined by commas, i.e. the inside of a JSON array. Parsing one
# bulk string with one json.loads is several times cheaper than one RESP element + json.loads each.
_TAIL = _LIVE_RANGES + """
return table.concat(live_before(-1, tonumber(ARGV[1])), ',')
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
    _UNINDEX
    + _LIVE
    + """
if redis.call('EXISTS', KEYS[2]) == 0 then return false end
local el = redis.call('RPOP', KEYS[1])
while el and not live(el) do  -- a deleted item's tombstone: hand its seq back too
  redis.call('HINCRBY', KEYS[2], 'next_seq', -1)
  el = redis.call('RPOP', KEYS[1])
end
if not el then return false end
unindex(el)
redis.call('HINCRBY', KEYS[2], 'item_count', -1)
redis.call('HINCRBY', KEYS[2], 'next_seq', -1)
"""
    + _TOUCH
    + "return el\n"
)

# ARGV: session_id, now, then seqs: each live item among them becomes a tombstone (its postings and
# counters go with it); tombstones left at the head are dropped. Returns how many items were deleted.
_DELETE_ITEMS = (
    _UNINDEX
    + _LIVE_RANGES
    + """
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
local head = head_seq()
if not head then return 0 end
local removed = 0
for i = 3, #ARGV do
  local index = tonumber(ARGV[i]) - head
  local el = index >= 0 and redis.call('LINDEX', KEYS[1], index)
  if el and live(el) then
    unindex(el)
    redis.call('LSET', KEYS[1], index, '{"s":' .. string.format('%d', tonumber(ARGV[i])) .. ',"x":1}')
    removed = removed + 1
  end
end
if removed == 0 then return 0 end
while true do
  local first = redis.call('LINDEX', KEYS[1], 0)
  if not first or live(first) then break end
  redis.call('LPOP', KEYS[1])
end
redis.call('HINCRBY', KEYS[2], 'item_count', -removed)
"""
    + _TOUCH
    + "return removed\n"
)

_CLEAR = (
    _DROP_INDEX
    + """
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('DEL', KEYS[1], KEYS[4])
drop_index()
redis.call('HSET', KEYS[2], 'item_count', 0, 'recall_items', 0, 'recall_length', 0)
"""
    + _TOUCH
    + "return 1\n"
)

_DELETE = _DROP_INDEX + """
drop_index()
local existed = redis.call('DEL', KEYS[1], KEYS[2], KEYS[4])
redis.call('ZREM', KEYS[3], ARGV[1])
return existed
"""

_EXPIRE = _DROP_INDEX + """
local updated = redis.call('HGET', KEYS[2], 'updated_at')
if updated and tonumber(updated) >= tonumber(ARGV[2]) then return -1 end
drop_index()
local n = tonumber(redis.call('HGET', KEYS[2], 'item_count') or 0)
redis.call('DEL', KEYS[1], KEYS[2], KEYS[4])
redis.call('ZREM', KEYS[3], ARGV[1])
return n
"""

# The seq of the newest turn start, walking back from the tail 100 elements at a time.
_LAST_TURN_START = """
local stop = redis.call('LLEN', KEYS[1]) - 1
while stop >= 0 do
  local start = stop - 99
  if start < 0 then start = 0 end
  local chunk = redis.call('LRANGE', KEYS[1], start, stop)
  for i = #chunk, 1, -1 do
    local seq = string.match(chunk[i], '^{"s":(%d+),"u":1')
    if seq then return tonumber(seq) end
  end
  stop = start - 1
end
return false
"""

# Trim the head up to seq ARGV[1]; the removed items' postings (the oldest entries of their terms'
# posting strings, which are in seq order) are cut off those strings' fronts.
_REMOVE_BEFORE = _RECALL_FIELDS + _LIVE + """
local first = redis.call('LINDEX', KEYS[1], 0)
if not first then return 0 end
local keep = tonumber(ARGV[1])
local cut = keep - tonumber(string.match(first, '^{"s":(%d+),'))
if cut <= 0 then return 0 end
local n = redis.call('LLEN', KEYS[1])
if cut > n then cut = n end
local terms, items, length, removed = {}, 0, 0, 0
for _, element in ipairs(redis.call('LRANGE', KEYS[1], 0, cut - 1)) do
  if live(element) then removed = removed + 1 end
  local n, words = recall_fields(element)
  for _, term in ipairs(words) do terms[term] = true end
  if n > 0 then items = items + 1 end
  length = length + n
end
for term in pairs(terms) do
  local key = KEYS[6] .. term
  local postings = redis.call('GET', key) or ''
  local at = 1
  while true do
    local s, e, seq = string.find(postings, '^ (%d+):%d+:%d+', at)
    if not s or tonumber(seq) >= keep then break end
    at = e + 1
  end
  if at > #postings then
    redis.call('DEL', key)
    redis.call('SREM', KEYS[5], term)
  elseif at > 1 then
    redis.call('SET', key, string.sub(postings, at))
  end
end
redis.call('LTRIM', KEYS[1], cut, -1)
redis.call('HINCRBY', KEYS[2], 'item_count', -removed)
redis.call('HINCRBY', KEYS[2], 'recall_items', string.format('%d', 0 - items))
redis.call('HINCRBY', KEYS[2], 'recall_length', string.format('%d', 0 - length))
return removed
"""

# Each term's document frequency (entries in its posting string) and the conversation's counters.
_FREQUENCIES = """
local out = {tonumber(redis.call('HGET', KEYS[2], 'recall_items') or 0),
             tonumber(redis.call('HGET', KEYS[2], 'recall_length') or 0)}
for i = 1, #ARGV do
  local postings = redis.call('GET', KEYS[6] .. ARGV[i]) or ''
  local _, count = string.gsub(postings, ' ', '')
  out[#out + 1] = count
end
return out
"""

# ARGV: T, T terms, then positions: each term's posting string, only the entries at those positions
# when some are given (so a frequent term's long string never crosses the network whole).
_POSTINGS = """
local t = tonumber(ARGV[1])
local wanted = nil
if #ARGV > t + 1 then
  wanted = {}
  for i = t + 2, #ARGV do wanted[ARGV[i]] = true end
end
local out = {}
for i = 2, t + 1 do
  local postings = redis.call('GET', KEYS[6] .. ARGV[i]) or ''
  if wanted then
    local kept = {}
    for entry, seq in string.gmatch(postings, '( (%d+):%d+:%d+)') do
      if wanted[seq] then kept[#kept + 1] = entry end
    end
    postings = table.concat(kept)
  end
  out[#out + 1] = postings
end
return out
"""

# Several items by seq, joined like _TAIL (the head's seq turns a seq into a list index; tombstones
# included, `_elements` drops them).
_AT = """
local first = redis.call('LINDEX', KEYS[1], 0)
if not first then return '' end
local head = tonumber(string.match(first, '^{"s":(%d+),'))
local found = {}
for i = 1, #ARGV do
  local el = redis.call('LINDEX', KEYS[1], tonumber(ARGV[i]) - head)
  if el then found[#found + 1] = el end
end
return table.concat(found, ',')
"""

_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

_SCRIPTS = {
    "append": _APPEND, "read": _READ, "before": _BEFORE, "tail": _TAIL, "pop": _POP, "delete_items": _DELETE_ITEMS,
    "clear": _CLEAR, "delete": _DELETE,
    "expire": _EXPIRE, "last_turn_start": _LAST_TURN_START, "remove_before": _REMOVE_BEFORE, "at": _AT,
    "frequencies": _FREQUENCIES, "postings": _POSTINGS,
    "unlock": _UNLOCK, "renew": _RENEW,
}


def parse_redis_url(url: str) -> tuple[str, str | None]:
    """`redis://...[?prefix=x]` -> (URL for redis-py, prefix or None)."""
    rest, prefix = take_url_option(url, "prefix")
    if not rest.startswith(("redis://", "rediss://", "unix://")):
        raise MemoryStoreError(f"redis store URL must start with redis://, got {redact_url(url)!r}")
    return rest, prefix


@dataclass
class _Client:
    """A pooled client of one event loop with its registered scripts."""

    redis: aioredis.Redis
    scripts: dict[str, Any]
    migrated: bool = False


class RedisStore(StoreBase):
    """A `SessionStore` on Redis; safe to share between tasks and between replicas.

    Construction is synchronous and opens no connection; the pool connects on first use.
    """

    kind = "redis"

    def __init__(self, url: str, settings: RedisSettings | None = None) -> None:
        driver_url, url_prefix = parse_redis_url(url)
        super().__init__(redact_url(url))
        settings = settings or RedisSettings()
        if url_prefix is not None and settings.prefix == DEFAULT_PREFIX:
            settings = replace(settings, prefix=url_prefix)
        if not _PREFIX_RE.match(settings.prefix):
            raise MemoryStoreError(
                f"redis key prefix {settings.prefix!r} is invalid: up to 64 characters of A-Za-z0-9_.:-"
            )
        self.settings = settings
        self.prefix = settings.prefix
        self._url = driver_url
        self._clients = LoopBound(self._make_client, lambda client: None)

    # ---- plumbing -------------------------------------------------------------------------------

    def _make_client(self) -> _Client:
        s = self.settings
        pool = aioredis.BlockingConnectionPool.from_url(
            self._url,
            max_connections=s.max_connections,
            timeout=s.pool_timeout,
            socket_connect_timeout=s.connect_timeout,
            socket_timeout=s.socket_timeout,
            health_check_interval=30,
            # One immediate retry on a fresh connection: a pooled connection left dead by a server
            # restart costs nothing visible. Appends are made idempotent by a token.
            retry=Retry(NoBackoff(), 1),
        )
        client = aioredis.Redis(connection_pool=pool)
        return _Client(client, {name: client.register_script(src) for name, src in _SCRIPTS.items()})

    async def _client(self) -> _Client:
        self._check_open()
        client = self._clients.get()
        if not client.migrated:
            await migrate_redis(client.redis, self.prefix)
            client.migrated = True
        return client

    async def _run(self, op: str, fn: Callable[[aioredis.Redis], Awaitable[_T]]) -> _T:
        try:
            return await fn((await self._client()).redis)
        except (TimeoutError, redis_exc.ConnectionError, redis_exc.TimeoutError, OSError) as exc:
            raise StoreUnavailableError(f"Redis at {self.location} is unavailable ({op}): {exc}") from exc
        except redis_exc.ResponseError as exc:
            if str(exc).startswith(("LOADING", "MASTERDOWN", "TRYAGAIN", "BUSY")):
                raise StoreUnavailableError(f"Redis at {self.location} is unavailable ({op}): {exc}") from exc
            raise MemoryStoreError(f"Redis error during {op} at {self.location}: {exc}") from exc

    async def _script(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        async def call(_: aioredis.Redis) -> Any:
            return await (await self._client()).scripts[name](keys=list(keys), args=list(args))

        return await self._run(name, call)

    def _keys(self, key: ConversationKey) -> list[str]:
        """items, info, user index, staged, recall term set, recall term key prefix."""
        base = f"{self.prefix}{{{key.user}}}/{key.session_id}"
        return [
            f"{base}:items", f"{base}:info", self._user_index(key.user), f"{base}:staged", f"{base}:terms",
            f"{base}:t:",
        ]

    def _user_index(self, user: str) -> str:
        return f"{self.prefix}{{{user}}}:sessions"

    # ---- items ----------------------------------------------------------------------------------

    async def _append_rows(
        self,
        key: ConversationKey,
        rows: list[Row],
        *,
        agent_id: str | None,
        title: str,
        now: float,
        created_at: float | None = None,
        settle: str | None = None,
    ) -> None:
        postings: list[Any] = []
        for position, row in enumerate(rows):
            for term, tf in row.terms.items():
                postings += (position + 1, term, tf, row.terms_length)
        await self._append_elements(
            key, [_element(row) for row in rows], agent_id=agent_id, title=title, now=now,
            created_at=now if created_at is None else created_at, settle=settle, token=uuid.uuid4().hex,
            indexed=(sum(1 for r in rows if r.terms), sum(r.terms_length for r in rows)), postings=postings,
        )

    async def _append_elements(
        self, key: ConversationKey, elements: list[str], *, agent_id: str | None, title: str, now: float,
        created_at: float, settle: str | None, token: str, indexed: tuple[int, int] = (0, 0),
        postings: Sequence[Any] = (),
    ) -> None:
        """The append script; `token` makes the one automatic retry after a dropped reply idempotent."""
        args = [key.session_id, repr(now), repr(created_at), agent_id or "", title, token, settle or "",
                len(elements), *indexed]
        result = await self._script("append", self._keys(key), [*args, *elements, *postings])
        if result == -2:
            raise StaleTurnError(f"The interrupted turn of session {key.session_id!r} was already stored")

    async def _stage(self, key: ConversationKey, turn_id: str, items: list[dict[str, Any]]) -> None:
        staged = self._keys(key)[3]
        data = json.dumps([time.time(), "[" + ",".join(item_json(i) for i in items) + "]"])
        await self._run("stage", lambda r: r.hset(staged, turn_id, data))

    async def _staged(self, key: ConversationKey) -> list[StagedTurn]:
        staged = self._keys(key)[3]
        raw = await self._run("staged", lambda r: r.hgetall(staged))
        turns = sorted((json.loads(v)[0], k.decode(), json.loads(json.loads(v)[1])) for k, v in raw.items())
        return [StagedTurn(turn_id, items) for _, turn_id, items in turns]

    async def _discard(self, key: ConversationKey, turn_id: str) -> None:
        staged = self._keys(key)[3]
        await self._run("discard", lambda r: r.hdel(staged, turn_id))

    async def _tail(self, key: ConversationKey, count: int) -> list[WindowRow]:
        joined = await self._script("tail", self._keys(key)[:1], [count])
        return [WindowRow(d["i"], d["k"], bool(d["u"])) for d in _elements(joined)]

    async def _read(self, key: ConversationKey, after_seq: int, limit: int | None) -> list[StoredItem]:
        joined = await self._script("read", self._keys(key)[:1], [after_seq, -1 if limit is None else limit])
        return [_stored(d) for d in _elements(joined)]

    async def _read_before(self, key: ConversationKey, before_seq: int, limit: int) -> list[StoredItem]:
        joined = await self._script("before", self._keys(key)[:1], [before_seq, limit])
        return [_stored(d) for d in reversed(_elements(joined))]

    async def _remove_items(self, key: ConversationKey, seqs: list[int], now: float) -> int:
        return int(await self._script("delete_items", self._keys(key), [key.session_id, repr(now), *seqs]))

    async def _frequencies(self, key: ConversationKey, terms: list[str]) -> tuple[dict[str, int], CorpusStats]:
        raw = await self._script("frequencies", self._keys(key), terms)
        items, length, *counts = raw
        return {t: int(n) for t, n in zip(terms, counts) if int(n)}, CorpusStats(int(items), int(length))

    async def _postings(
        self, key: ConversationKey, terms: list[str], positions: list[int] | None = None
    ) -> list[Posting]:
        args: list[Any] = [len(terms), *terms, *(positions or [])]
        lists = await self._script("postings", self._keys(key), args)
        return [
            Posting(int(seq), term, int(tf), int(n))
            for term, raw in zip(terms, lists)
            if raw
            for seq, tf, n in (entry.split(b":") for entry in raw.split())
        ]

    async def _items_at(self, key: ConversationKey, positions: list[int]) -> dict[int, StoredItem]:
        """A conversation's seqs here ARE its positions (see the module docstring; a deleted one is skipped)."""
        stored = [_stored(d) for d in _elements(await self._script("at", self._keys(key)[:1], positions))]
        return {item.seq: item for item in stored}

    async def _pop(self, key: ConversationKey, now: float) -> dict[str, Any] | None:
        raw = await self._script("pop", self._keys(key), [key.session_id, repr(now)])
        return json.loads(raw)["i"] if raw else None

    async def _clear(self, key: ConversationKey, now: float) -> None:
        await self._script("clear", self._keys(key), [key.session_id, repr(now)])

    # ---- registry -------------------------------------------------------------------------------

    async def _info(self, key: ConversationKey) -> SessionInfo | None:
        info_key = self._keys(key)[1]
        raw = await self._run("info", lambda r: r.hgetall(info_key))
        return _info(key.user, raw) if raw else None

    async def _page_sessions(self, user: str, after: tuple[float, str] | None, count: int) -> list[SessionInfo]:
        index = self._user_index(user)

        async def page(r: aioredis.Redis) -> list[str]:
            # Newest first by (updated_at, session_id): skip what the cursor already showed.
            top: Any = "+inf" if after is None else repr(after[0])
            chosen: list[str] = []
            offset = 0
            while len(chosen) < count:
                rows = await r.zrange(
                    index, top, "-inf", desc=True, byscore=True, offset=offset, num=count + 16, withscores=True
                )
                if not rows:
                    break
                for member, score in rows:
                    sid = member.decode()
                    if after is None or score < after[0] or sid < after[1]:
                        chosen.append(sid)
                offset += len(rows)
            return chosen[:count]

        sids = await self._run("list_sessions", page)

        async def load(r: aioredis.Redis) -> list[Any]:
            pipe = r.pipeline(transaction=False)
            for sid in sids:
                pipe.hgetall(self._keys(ConversationKey(user, sid))[1])
            return await pipe.execute()

        return [_info(user, raw) for raw in await self._run("list_sessions", load) if raw]

    async def _user_indexes(self) -> list[tuple[str, str]]:
        """(user, sorted-set key) for every user with conversations under this prefix (SCAN, not KEYS)."""
        pattern = f"{glob_escape(self.prefix)}{{*}}:sessions"
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

    async def _list_users(self) -> list[str]:
        return [user for user, _ in await self._user_indexes()]

    async def _delete(self, key: ConversationKey) -> bool:
        return bool(await self._script("delete", self._keys(key), [key.session_id]))

    async def _delete_user(self, user: str) -> int:
        index = self._user_index(user)

        async def sessions(r: aioredis.Redis) -> list[str]:
            return [m.decode() for m in await r.zrange(index, 0, -1)]

        count = 0
        for sid in await self._run("delete_user", sessions):
            count += await self._delete(ConversationKey(user, sid))
        return count

    # ---- retention ------------------------------------------------------------------------------

    async def _expire(self, cut: float) -> tuple[int, int]:
        sessions = items = 0
        for user, index in await self._user_indexes():
            old = await self._run("prune", lambda r, index=index: r.zrange(index, "-inf", f"({cut!r}", byscore=True))
            for member in old:
                key = ConversationKey(user, member.decode())
                removed = await self._script("expire", self._keys(key), [key.session_id, repr(cut)])
                if removed >= 0:
                    sessions += 1
                    items += removed
        return sessions, items

    async def _over_limit(self, max_items: int) -> list[ConversationKey]:
        over: list[ConversationKey] = []
        for user, index in await self._user_indexes():
            members = await self._run("prune", lambda r, index=index: r.zrange(index, 0, -1))
            keys = [ConversationKey(user, m.decode()) for m in members]

            async def counts(r: aioredis.Redis, keys: list[ConversationKey] = keys) -> list[Any]:
                pipe = r.pipeline(transaction=False)
                for key in keys:
                    pipe.hget(self._keys(key)[1], "item_count")
                return await pipe.execute()

            over += [key for key, n in zip(keys, await self._run("prune", counts)) if n and int(n) > max_items]
        return over

    async def _tail_flags(self, key: ConversationKey, count: int) -> list[tuple[int, bool]]:
        tail = _elements(await self._script("tail", self._keys(key)[:1], [count]))
        return [(d["s"], bool(d["u"])) for d in reversed(tail)]

    async def _last_turn_start(self, key: ConversationKey) -> int | None:
        seq = await self._script("last_turn_start", self._keys(key)[:1], [])
        return None if seq is None else int(seq)

    async def _remove_before(self, key: ConversationKey, seq: int) -> int:
        return int(await self._script("remove_before", self._keys(key), [seq]))

    # ---- turns and lifetime ---------------------------------------------------------------------

    async def _acquire_turn(
        self, key: ConversationKey, wait: bool
    ) -> tuple[str, str, asyncio.Event, asyncio.Task[None]]:
        lock_key = f"{self.prefix}{{{key.user}}}/{key.session_id}:lock"
        token = uuid.uuid4().hex
        ttl = self.settings.lock_ttl_ms
        delay = 0.002
        while not await self._run("lock", lambda r: r.set(lock_key, token, nx=True, px=ttl)):
            if not wait:
                raise busy_error(key)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)
        released = asyncio.Event()
        return lock_key, token, released, asyncio.create_task(self._renew(lock_key, token, ttl, released))

    async def _release_turn(
        self, key: ConversationKey, handle: tuple[str, str, asyncio.Event, asyncio.Task[None]]
    ) -> None:
        lock_key, token, released, renewer = handle
        released.set()  # ends the renewer even if a driver swallows the cancellation below
        renewer.cancel()
        with suppress(asyncio.CancelledError):
            await renewer
        with suppress(MemoryStoreError):
            # If Redis is down the lock simply expires; nobody else can hold it meanwhile.
            await self._script("unlock", [lock_key], [token])

    async def _renew(self, lock_key: str, token: str, ttl: int, released: asyncio.Event) -> None:
        """Extend the turn lock every third of its lifetime until the turn releases it."""
        while not released.is_set():
            try:
                await asyncio.wait_for(released.wait(), ttl / 3000)
            except TimeoutError:
                with suppress(MemoryStoreError):
                    await self._script("renew", [lock_key], [token, ttl])

    async def _close(self) -> None:
        client = self._clients.take()
        if client is not None:
            with suppress(Exception):
                await client.redis.aclose()
            with suppress(Exception):
                await client.redis.connection_pool.disconnect()

    async def drop_prefix(self) -> int:
        """Delete every key under this store's prefix (tests and decommissioning only)."""
        pattern = f"{glob_escape(self.prefix)}*"

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

        self._check_open()
        try:
            return await drop(self._clients.get().redis)
        finally:
            self._clients.get().migrated = False


def _element(row: Row) -> str:
    """A list element without its leading `{"s":N,` (the append script adds the sequence number).

    `row.data` is the item's compact JSON (already validated); it is spliced in rather than re-encoded.
    """
    return (
        f'"u":{1 if row.turn_start else 0},"k":{row.tokens},'
        f'"a":{json.dumps(row.agent, ensure_ascii=False)},"r":{json.dumps(row.role, ensure_ascii=False)},'
        f'"t":{row.created_at!r},"n":{row.terms_length},"w":{json.dumps(list(row.terms), ensure_ascii=False)},'
        f'"i":{row.data}}}'
    )


def _elements(joined: bytes) -> list[dict[str, Any]]:
    """The list elements a script returned joined by commas (see _TAIL), without deleted items' tombstones."""
    return [d for d in json.loads(b"[" + joined + b"]") if "i" in d] if joined else []


def _stored(d: dict[str, Any]) -> StoredItem:
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
