"""The server's side of retention and own-data deletion: `DELETE /sessions` and the periodic sweep."""

from __future__ import annotations

import asyncio
from pathlib import Path

import yaml

from asdrp.memory.records import ConversationKey
from tests.server.conftest import AGENTS_YAML, ALICE_KEY, BOB_KEY, app_client, home, settings_for  # noqa: F401 (home: fixture)


async def test_delete_sessions_removes_every_conversation_of_the_caller_and_nobody_elses(home: Path) -> None:
    async with app_client(settings_for(api_keys=f"{ALICE_KEY}:alice,{BOB_KEY}:bob")) as client:
        for key, sid in ((ALICE_KEY, "a1"), (ALICE_KEY, "a2"), (BOB_KEY, "b1")):
            response = await client.post("/agents/chitchat/chat", json={"input": "hello", "session_id": sid},
                                         headers={"X-API-Key": key})
            assert response.status_code == 200, response.text
        deleted = await client.delete("/sessions", headers={"X-API-Key": ALICE_KEY})
        assert deleted.status_code == 200 and deleted.json()["deleted"] >= 2
        alice = (await client.get("/sessions", headers={"X-API-Key": ALICE_KEY})).json()["sessions"]
        bob = (await client.get("/sessions", headers={"X-API-Key": BOB_KEY})).json()["sessions"]
        assert alice == [] and [s["session_id"] for s in bob] == ["b1"]
        assert (await client.delete("/sessions")).status_code == 401


async def test_the_server_sweep_applies_the_configured_max_items(home: Path) -> None:
    config = yaml.safe_load(AGENTS_YAML.read_text())
    config["agents"]["chitchat"]["session_memory"] = {
        "type": "sqlite", "database_path": "data/sessions/chitchat.db", "enabled": True, "max_items": 2,
    }
    path = home / "agents.yaml"
    path.write_text(yaml.safe_dump(config))
    async with app_client(settings_for(config=path, retention_sweep_s=0.05)) as client:
        for text in ("first message", "second message", "third message"):
            assert (await client.post("/agents/chitchat/chat",
                                      json={"input": text, "session_id": "swept"})).status_code == 200
        store = client.app.state.services.factory.session_store("chitchat")  # type: ignore[attr-defined]
        key = ConversationKey("local", "swept")
        for _ in range(200):
            info = await store.info(key)
            if info is not None and info.item_count <= 2:
                break
            await asyncio.sleep(0.05)
        items = [s.item for s in await store.read(key)]
        assert len(items) == 2 and items[0] == {"role": "user", "content": "third message"}
