"""Fixtures for the server tests: apps on a temporary ASDRP_HOME, httpx clients, uvicorn processes."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from asdrp.memory import ConversationKey, SqliteStore
from asdrp.orchestration.base import RouteResult, StreamEvent
from asdrp.server import ServerSettings, create_app

REPO = Path(__file__).resolve().parents[2]
AGENTS_YAML = REPO / "config" / "open_agents.yaml"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private data root: every store file of the test lands under it."""
    monkeypatch.setenv("ASDRP_HOME", str(tmp_path))
    for name in ("OPENAI_API_KEY", "ASDRP_SESSION_URL", "ASDRP_API_KEYS", "ASDRP_CONFIG", "ASDRP_BUSY"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def settings_for(**values: Any) -> ServerSettings:
    values.setdefault("config", AGENTS_YAML)
    return ServerSettings(**values)


@asynccontextmanager
async def app_client(settings: ServerSettings | None = None, **kwargs: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on a fresh app, with the app's lifespan run (stores closed at the end)."""
    app = create_app(settings or settings_for(), **kwargs)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", timeout=60) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


@pytest.fixture
async def client(home: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A local-mode client on the repository's agents configuration."""
    async with app_client() as c:
        yield c


ALICE_KEY, BOB_KEY = "alice-key-123", "bob-key-456"


@pytest.fixture
async def keyed_client(home: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client on a server with API keys for alice and bob (send X-API-Key per request)."""
    async with app_client(settings_for(api_keys=f"{ALICE_KEY}:alice,{BOB_KEY}:bob")) as c:
        yield c


def parse_sse(body: str) -> list[dict[str, Any]]:
    """The JSON payloads of an SSE body, checking the `data: ...\\n\\n` framing."""
    import json

    assert body.endswith("\n\n"), body[-200:]
    events = []
    for frame in body.split("\n\n"):
        if not frame:
            continue
        assert frame.startswith("data: "), frame
        events.append(json.loads(frame[len("data: "):]))
    return events


# --- a controllable responder for concurrency and failure tests --------------------------------


class GatedResponder:
    """A responder whose turns wait on a gate, holding the conversation lock like real ones do."""

    def __init__(self, store: SqliteStore, *, wait_when_busy: bool, agent_id: str = "gated") -> None:
        self.agent_id = agent_id
        self.store = store
        self.wait_when_busy = wait_when_busy
        self.gate = asyncio.Event()
        self.started: list[str] = []
        self.finished: list[str] = []
        self.fail_with: BaseException | None = None

    async def route_query(self, query: str, session_id: str | None = None, user: str | None = None) -> RouteResult:
        assert session_id is not None and user is not None
        key = ConversationKey(user, session_id)
        async with self.store.lock(key, wait=self.wait_when_busy):
            self.started.append(query)
            if self.fail_with is not None:
                raise self.fail_with
            await self.gate.wait()
            answer = f"echo: {query}"
            await self.store.append(
                key,
                [{"role": "user", "content": query},
                 {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": answer}]}],
                agent=self.agent_id,
                agent_id=self.agent_id,
            )
            self.finished.append(query)
        return RouteResult(answer=answer, session_id=session_id, agent_id=self.agent_id)

    async def stream_query(
        self, query: str, session_id: str | None = None, user: str | None = None
    ) -> AsyncIterator[StreamEvent]:
        result = await self.route_query(query, session_id, user)
        for word in result.answer.split(" "):
            yield StreamEvent("token", word + " ")
        yield StreamEvent("done", result.answer, result)


class FakeCatalog:
    """A catalog of one gated responder over one in-memory store."""

    def __init__(self, *, wait_when_busy: bool = True) -> None:
        self.store = SqliteStore(None)
        self.responder = GatedResponder(self.store, wait_when_busy=wait_when_busy)

    def descriptors(self) -> list[dict[str, Any]]:
        return [{"id": "gated", "display_name": "Gated", "kind": "agent", "description": "test", "tools": [],
                 "session_memory": {"type": "sqlite", "enabled": True}}]

    def get(self, agent_id: str) -> GatedResponder:
        from asdrp.agents.protocol import AgentException

        if agent_id.lower() != "gated":
            raise AgentException(f"Unknown agent {agent_id!r}. Valid agents: gated", agent_name=agent_id)
        return self.responder

    def stores(self) -> list[SqliteStore]:
        return [self.store]

    def side_memories(self) -> list[Any]:
        return []

    def retained_stores(self) -> list[SqliteStore]:
        return [self.store]

    async def aclose(self) -> None:
        await self.store.close()


async def eventually(condition: Callable[[], bool], what: str, attempts: int = 500) -> None:
    """Yield to the loop until `condition()` holds (no wall-clock assertion, just a bounded wait)."""
    for _ in range(attempts):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


# --- real uvicorn processes ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """`asdrp serve [args]` as a real subprocess on a free loopback port."""

    def __init__(
        self, home: Path, env: dict[str, str] | None = None, config: Path = AGENTS_YAML, args: Sequence[str] = ()
    ) -> None:
        self.home = home
        self.args = list(args)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{
                k: v for k, v in os.environ.items()
                if k not in ("OPENAI_API_KEY", "ASDRP_SESSION_URL", "ASDRP_API_KEYS", "ASDRP_WORKERS")
            },
            "ASDRP_HOME": str(home),
            "ASDRP_CONFIG": str(config),
            "ASDRP_LOG_LEVEL": "warning",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
            **(env or {}),
        }
        self.process: subprocess.Popen[str] | None = None
        self.log = home / f"server-{self.port}.log"

    def start(self) -> ServerProcess:
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "asdrp.cli", "serve", "--port", str(self.port), *self.args],
            env=self.env, stdout=self._log_file, stderr=subprocess.STDOUT, text=True, cwd=str(self.home),
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError(f"server did not start:\n{self.log.read_text()}")

    def terminate(self, timeout: float = 60) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self._log_file.close()
        return code

    def output(self) -> str:
        return self.log.read_text()


@pytest.fixture
def server_process(home: Path) -> Callable[..., ServerProcess]:
    started: list[ServerProcess] = []

    def start(**kwargs: Any) -> ServerProcess:
        server = ServerProcess(home, **kwargs).start()
        started.append(server)
        return server

    yield start  # type: ignore[misc]
    for server in started:
        if server.process is not None and server.process.poll() is None:
            server.terminate()


Chat = Callable[..., Awaitable[httpx.Response]]


def config_with_agent(home: Path, name: str, entry: dict[str, Any]) -> Path:
    """The repository's agents YAML plus one test agent `name`, written under `home` with the
    orchestrators' YAMLs beside it (so moe and smartrouter stay available); returns its path."""
    raw = yaml.safe_load(AGENTS_YAML.read_text())
    raw["agents"][name] = entry
    path = home / "config" / "open_agents.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw))
    for orchestrator in ("moe.yaml", "smartrouter.yaml"):
        if (AGENTS_YAML.parent / orchestrator).exists():
            (path.parent / orchestrator).write_text((AGENTS_YAML.parent / orchestrator).read_text())
    return path
