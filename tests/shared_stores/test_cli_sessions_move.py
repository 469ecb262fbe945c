"""`asdrp sessions export | import | prune | delete --user`: moving the SQLite files to PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from asdrp.memory import SqliteStore
from asdrp.memory.records import ConversationKey
from tests.shared_stores import services
from tests.shared_stores.writer import turn_items

REPO = Path(__file__).resolve().parents[2]


def asdrp(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {
        **{k: v for k, v in os.environ.items() if k not in ("ASDRP_SESSION_URL", "OPENAI_API_KEY", "ASDRP_CONFIG")},
        "ASDRP_HOME": str(home), "ASDRP_CONFIG": str(REPO / "config" / "open_agents.yaml"), **(env or {}),
    }
    return subprocess.run([sys.executable, "-m", "asdrp.cli", *args], env=environment, cwd=home,
                          capture_output=True, text=True, timeout=180)


async def test_sqlite_conversations_move_to_postgres_and_a_second_import_adds_nothing(tmp_path: Path) -> None:
    services.require("postgres")
    agents_db = SqliteStore(tmp_path / "data" / "sessions" / "agents.db")  # where geo/clock/... keep sessions
    try:
        for user in ("alice", "bob"):
            for n in range(3):
                await agents_db.append(ConversationKey(user, "trip"), turn_items(user, n), agent="geo", agent_id="geo")
    finally:
        await agents_db.close()

    export = asdrp(tmp_path, "sessions", "export", "-o", "all.jsonl")
    assert export.returncode == 0, export.stderr
    assert "exported 2 conversation(s), 24 items" in export.stderr

    async with services.fresh_store("postgres") as target:
        url = f"{services.PG_URL}?schema={target.schema}"
        first = asdrp(tmp_path, "sessions", "import", "all.jsonl", "--to", url)
        assert first.returncode == 0, first.stderr
        assert "imported 24 items in 2 conversation(s); 0 already there" in first.stderr
        again = asdrp(tmp_path, "sessions", "import", "all.jsonl", "--to", url)
        assert "imported 0 items in 2 conversation(s); 24 already there" in again.stderr
        moved = [s.item for s in await target.read(ConversationKey("alice", "trip"))]
        assert moved == [item for n in range(3) for item in turn_items("alice", n)]
        info = await target.info(ConversationKey("alice", "trip"))
        assert info is not None and info.agent_id == "geo" and info.title == "turn alice-0"

        on_pg = {"ASDRP_SESSION_URL": url}
        pruned = asdrp(tmp_path, "sessions", "prune", "--max-items", "4", env=on_pg)
        assert pruned.returncode == 0, pruned.stderr
        assert "2 trimmed, 16 items removed" in pruned.stdout
        gone = asdrp(tmp_path, "sessions", "delete", "--user", "alice", env=on_pg)
        assert gone.returncode == 0 and "deleted 1 conversation(s) of user alice" in gone.stdout
        assert await target.info(ConversationKey("alice", "trip")) is None
        assert await target.info(ConversationKey("bob", "trip")) is not None

    refused = asdrp(tmp_path, "sessions", "delete")
    assert refused.returncode != 0 and "--user" in refused.stderr and "Traceback" not in refused.stderr
