"""Histories read in the order they were written (the store's sequence), whatever the clocks said;
`GET /sessions/{id}` is cursor-paged."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from asdrp.memory import ConversationKey, SqliteStore
from asdrp.orchestration.directory import SessionDirectory
from tests.server.conftest import AGENTS_YAML, REPO, app_client

WORDS = ("one", "two", "three", "four", "five")


@pytest.fixture
def clock_stepping_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stores' wall clock steps back 60 s at every reading (an NTP step, a replica behind)."""
    readings = itertools.count()
    fake = types.SimpleNamespace(time=lambda: 1_800_000_000.0 - 60 * next(readings))
    monkeypatch.setattr("asdrp.memory.stores.base.time", fake)


def user_texts(items: list[dict[str, object]]) -> list[str]:
    return [str(item["content"]) for item in items if item["role"] == "user"]


async def test_history_follows_the_sequence_when_the_clock_steps_back(
    home: Path, clock_stepping_back: None
) -> None:
    async with app_client() as client:
        for word in WORDS:
            response = await client.post("/agents/chitchat/chat", json={"input": word, "session_id": "skewed"})
            assert response.status_code == 200, response.text
        detail = (await client.get("/sessions/skewed")).json()
        items = detail["items"]
        assert user_texts(items) == list(WORDS)
        assert [item["seq"] for item in items] == sorted(item["seq"] for item in items)
        assert items[0]["created_at"] > items[-1]["created_at"]  # the clock really went backwards
        assert detail["next_cursor"] is None

        paged: list[dict[str, object]] = []
        cursor = None
        pages = 0
        while True:
            params: dict[str, object] = {"limit": 3}
            if cursor:
                params["cursor"] = cursor
            page = (await client.get("/sessions/skewed", params=params)).json()
            assert len(page["items"]) <= 3
            paged.extend(page["items"])
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert paged == items and pages == -(-len(items) // 3)

        forged = await client.get("/sessions/skewed", params={"cursor": "bm90IGEgY3Vyc29y"})
        assert forged.status_code == 422 and forged.json()["error_code"] == "invalid_cursor"
        too_many = await client.get("/sessions/skewed", params={"limit": 100_000})
        assert too_many.status_code == 422

    env = {**os.environ, "ASDRP_HOME": str(home), "ASDRP_CONFIG": str(AGENTS_YAML), "PYTHONPATH": str(REPO)}
    shown = subprocess.run([sys.executable, "-m", "asdrp.cli", "sessions", "show", "skewed"],
                           env=env, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    positions = [shown.stdout.index(f"you> {word}") for word in WORDS]
    assert positions == sorted(positions), shown.stdout
    exported = subprocess.run(
        [sys.executable, "-m", "asdrp.cli", "sessions", "export", "skewed", "--format", "jsonl"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert exported.returncode == 0, exported.stderr
    lines = [json.loads(line) for line in exported.stdout.splitlines()][1:]
    assert [line["item"]["content"] for line in lines if line["role"] == "user"] == list(WORDS)


async def test_a_history_held_in_two_stores_keeps_each_stores_order(clock_stepping_back: None) -> None:
    """Two replicas with different clocks wrote to two stores: within each, the sequence rules."""
    first, second = SqliteStore(None), SqliteStore(None)
    key = ConversationKey("alice", "split")
    try:
        for word in ("a1", "a2", "a3"):
            await first.append(key, [{"role": "user", "content": word}], agent="x", agent_id="x")
        for word in ("b1", "b2"):
            await second.append(key, [{"role": "user", "content": word}], agent="y", agent_id="y")
        directory = SessionDirectory([first, second])
        found = await directory.get("alice", "split")
        assert found is not None
        texts = [stored.item["content"] for stored in found[1]]
        assert [t for t in texts if t.startswith("a")] == ["a1", "a2", "a3"]
        assert [t for t in texts if t.startswith("b")] == ["b1", "b2"]

        collected: list[str] = []
        cursor = None
        while True:
            page = await directory.page("alice", "split", limit=2, cursor=cursor)
            assert page is not None
            collected += [stored.item["content"] for stored in page[1]]
            cursor = page[2]
            if cursor is None:
                break
        assert collected == texts
    finally:
        await first.close()
        await second.close()


async def test_a_history_without_paging_parameters_is_whole_up_to_the_page_limit(home: Path) -> None:
    async with app_client() as client:
        response = await client.post("/agents/chitchat/chat", json={"input": "hi", "session_id": "whole"})
        assert response.status_code == 200
        detail = (await client.get("/sessions/whole")).json()
        assert user_texts(detail["items"]) == ["hi"] and detail["next_cursor"] is None
        assert (await client.get("/sessions/none-such")).status_code == 404


def test_openapi_documents_history_paging(home: Path) -> None:
    import asyncio

    async def schema() -> dict[str, object]:
        async with app_client() as client:
            return (await client.get("/openapi.json")).json()

    spec = asyncio.run(schema())
    params = {p["name"] for p in spec["paths"]["/sessions/{session_id}"]["get"]["parameters"]}  # type: ignore[index]
    assert {"limit", "cursor"} <= params
