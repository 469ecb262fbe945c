"""A separate process that writes turns to one conversation (used by the cross-process tests).

    python -m tests.shared_stores.writer KIND NAMESPACE USER SESSION WORKER TURNS MODE

MODE "locked": each turn is two appends (user input, then call/output/answer) inside store.lock,
as the server writes a turn; MODE "atomic": each turn is one 4-item append, no lock.
Prints "done" when every turn was acknowledged.
"""

from __future__ import annotations

import asyncio
import sys

from asdrp.memory.records import ConversationKey
from asdrp.memory.stores.postgres import PostgresSettings, PostgresStore
from asdrp.memory.stores.redis import RedisSettings, RedisStore
from tests.shared_stores.services import PG_URL, REDIS_URL


def turn_items(worker: str, n: int) -> list[dict]:
    tag = f"{worker}-{n}"
    return [
        {"role": "user", "content": f"turn {tag}"},
        {"type": "function_call", "call_id": f"c-{tag}", "name": "lookup", "arguments": "{}"},
        {"type": "function_call_output", "call_id": f"c-{tag}", "output": tag},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": f"answer {tag}"}]},
    ]


async def main(kind: str, namespace: str, user: str, session: str, worker: str, turns: int, mode: str) -> None:
    store = (
        PostgresStore(PG_URL, PostgresSettings(schema=namespace))
        if kind == "postgres"
        else RedisStore(REDIS_URL, RedisSettings(prefix=namespace))
    )
    key = ConversationKey(user, session)
    try:
        for n in range(turns):
            items = turn_items(worker, n)
            if mode == "locked":
                async with store.lock(key):
                    await store.append(key, items[:1], agent="writer")
                    await asyncio.sleep(0)  # let the other process try to get in between
                    await store.append(key, items[1:], agent="writer")
            else:
                await store.append(key, items, agent="writer")
    finally:
        await store.close()
    print("done", flush=True)


if __name__ == "__main__":
    kind, namespace, user, session, worker, turns, mode = sys.argv[1:8]
    asyncio.run(main(kind, namespace, user, session, worker, int(turns), mode))
