"""The database restarts mid-run: clear errors while it is down, full recovery after, no torn turns.

Each test starts a PRIVATE PostgreSQL cluster or Redis server of its own, on a free port in a
temporary directory, and stops and starts that one: the machine's shared instances (which other
tests use at the same time, in other workers) are never touched. That needs root (PostgreSQL runs
as its own `postgres` user) and the server binaries; without them the test skips locally and fails
when CI=true. The outage lasts about a second.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from asdrp.memory.errors import StoreUnavailableError
from asdrp.memory.records import ConversationKey, WindowSettings
from asdrp.memory.stores.postgres import PostgresSettings, PostgresStore
from asdrp.memory.stores.redis import RedisSettings, RedisStore
from tests.shared_stores.writer import turn_items

pytestmark = pytest.mark.restarts_services


def _binary(kind: str) -> str | None:
    """The server binary of `kind` on this machine (PostgreSQL's from its versioned directory)."""
    if kind == "redis":
        return shutil.which("redis-server")
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return found[-1] if found else shutil.which("pg_ctl")


def _require(kind: str) -> str:
    binary = _binary(kind)
    if os.geteuid() == 0 and binary and (kind == "redis" or shutil.which("runuser")):
        return binary
    message = f"cannot run a private {kind} here (needs root and the {kind} server binaries)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(f"{message} (outside CI only; CI=true fails instead)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(command: list[str], **kwargs: object) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip() or done.stdout.strip()}")


@dataclass
class PrivateServer:
    """A database server of our own: `stop()` and `start()` it at will; its URL for the store."""

    kind: str
    binary: str
    directory: Path
    port: int

    @property
    def url(self) -> str:
        if self.kind == "postgres":
            return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        return f"redis://127.0.0.1:{self.port}/0"

    def _as_postgres(self, *command: str) -> None:
        _run(["runuser", "-u", "postgres", "--", *command])

    def start(self) -> None:
        if self.kind == "postgres":
            options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
            self._as_postgres(self.binary, "-D", str(self.directory / "data"), "-o", options,
                              "-l", str(self.directory / "log"), "-w", "start")
        else:
            _run([self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                  "--daemonize", "yes", "--dir", str(self.directory),
                  "--pidfile", str(self.directory / "redis.pid")])
            _wait_for_port(self.port)

    def stop(self) -> None:
        if self.kind == "postgres":
            self._as_postgres(self.binary, "-D", str(self.directory / "data"), "-m", "fast", "-w", "stop")
        else:
            subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), "shutdown", "nosave"],
                           capture_output=True, timeout=60, check=False)

    def running(self) -> bool:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            return probe.connect_ex(("127.0.0.1", self.port)) == 0


def _wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout:.0f} s")


@contextmanager
def private_server(kind: str) -> Iterator[PrivateServer]:
    """A fresh private server of `kind`, running; stopped and removed afterwards."""
    binary = _require(kind)
    with tempfile.TemporaryDirectory(prefix=f"asdrp-private-{kind}-") as tmp:
        directory = Path(tmp)
        server = PrivateServer(kind, binary, directory, _free_port())
        if kind == "postgres":
            shutil.chown(directory, "postgres", "postgres")
            initdb = str(Path(binary).with_name("initdb"))
            server._as_postgres(initdb, "-D", str(directory / "data"), "-U", "postgres", "-A", "trust", "--no-sync")
        server.start()
        try:
            yield server
        finally:
            if server.running():
                server.stop()


async def _writer(store: PostgresStore | RedisStore, key: ConversationKey, stop: asyncio.Event,
                  acknowledged: list[int], errors: list[Exception]) -> None:
    """Write one 4-item turn after another, recording which were acknowledged and which failed."""
    n = 0
    while not stop.is_set():
        try:
            async with store.lock(key):
                await store.append(key, turn_items("W", n), agent="writer")
            acknowledged.append(n)
        except StoreUnavailableError as exc:
            errors.append(exc)
            await asyncio.sleep(0.05)
        n += 1
        await asyncio.sleep(0.005)


async def _wait_until(predicate, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the writer")
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("kind", ["postgres", "redis"])
async def test_store_reports_unavailable_while_the_database_is_down_and_recovers_after_restart(
    kind: str,
) -> None:
    with private_server(kind) as server:
        store: PostgresStore | RedisStore
        if kind == "postgres":
            store = PostgresStore(server.url, PostgresSettings(schema="restart"))
        else:
            store = RedisStore(server.url, RedisSettings(prefix="restart:"))
        try:
            await _run_through_restart(server, store)
        finally:
            await store.close()


async def _run_through_restart(server: PrivateServer, store: PostgresStore | RedisStore) -> None:
    kind = server.kind
    key = ConversationKey("alice", "through-a-restart")
    stop, acknowledged, errors = asyncio.Event(), [], []  # type: ignore[var-annotated]
    task = asyncio.create_task(_writer(store, key, stop, acknowledged, errors))
    try:
        await _wait_until(lambda: len(acknowledged) >= 5, 30)
        await asyncio.to_thread(server.stop)
        before_outage = list(acknowledged)
        await _wait_until(lambda: len(errors) >= 2, 30)
        with pytest.raises(StoreUnavailableError) as down:
            await store.window(key, WindowSettings())
        await asyncio.to_thread(server.start)
        recovered_from = len(acknowledged)
        await _wait_until(lambda: len(acknowledged) >= recovered_from + 5, 60)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)

    print(f"{kind}: {len(acknowledged)} acknowledged, {len(errors)} refused; e.g. {down.value}")
    name = "PostgreSQL" if kind == "postgres" else "Redis"
    assert all(name in str(e) and "unavailable" in str(e) for e in errors + [down.value]), errors[:3]
    history = [stored.item for stored in await store.read(key)]
    assert len(history) % 4 == 0, "a turn was stored partly"
    turns = [int(history[i]["content"].split("-")[1]) for i in range(0, len(history), 4)]
    for index, n in enumerate(turns):
        assert history[index * 4 : index * 4 + 4] == turn_items("W", n), f"turn {n} is torn"
    assert turns == sorted(set(turns)), "a turn is stored twice or out of order"
    after_restart = acknowledged[recovered_from:]
    assert set(after_restart) <= set(turns), "an acknowledged turn written after the restart is missing"
    if kind == "postgres":
        # Durable store: every turn acknowledged before the outage survives it too.
        assert set(before_outage) <= set(turns)
        assert set(acknowledged) <= set(turns)
    # (Redis runs here without persistence: --save "" --appendonly no loses data on restart by design.)
    info = await store.info(key)
    assert info is not None and info.item_count == len(history)
