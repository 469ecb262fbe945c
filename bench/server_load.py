"""Server load benchmark: 64 concurrent clients x 20 turns over HTTP vs the same turns in-process.

A real uvicorn (`asdrp serve`) on 127.0.0.1 with the offline model and the file store; every
client has its own conversation. Afterwards the stores are read back to prove each turn was
stored exactly once (no lost or duplicated items). Then the same turns run in-process through the
Python API (the catalog's responders) in this process, on a fresh data directory.

    .venv/bin/python bench/server_load.py [--clients 64] [--turns 20] [--agent chitchat]
    .venv/bin/python bench/server_load.py --shared-url postgresql://postgres@127.0.0.1:5432/test
        (one vs two replicas on one shared database; target: 2 replicas >= 1.3x the turns/s of 1)
    .venv/bin/python bench/server_load.py --workers 2
        (`asdrp serve --workers 1` vs `--workers 2` on the embedded SQLite default, in one run;
         target: 2 workers >= 1.5x the turns/s of 1, p99 < 1 s)
    .venv/bin/python bench/server_load.py --v1
        (on one server, in one run: `/agents/{id}/chat` against non-streamed `POST /v1/responses`
         with `conversation` (OpenAI's format, same turns); target: /v1 >= 90% of the turns/s of chat)

Targets: zero errors, zero lost/duplicated/interleaved items, p99 < 1 s, HTTP >= 60% of in-process turns/s.
Not a test: it prints a table and never runs in the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "config" / "open_agents.yaml"


@dataclass
class RunResult:
    mode: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0
    sent: dict[str, list[str]] = field(default_factory=dict)
    stored_ok: int = 0
    lost: int = 0
    duplicated: int = 0
    interleaved: int = 0
    """Conversations whose stored turns are out of the order sent, or not each a user item then its answer."""

    @property
    def turns(self) -> int:
        return len(self.latencies) + self.errors

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def message(client: int, turn: int) -> str:
    return f"Remember that parcel {turn} of client {client} is blue"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def verify(result: RunResult, home: Path, session_url: str | None = None) -> None:
    """Read every conversation back: each sent message stored exactly once, each with one answer."""
    os.environ["ASDRP_HOME"] = str(home)
    from asdrp.agents.agent_factory import AgentFactory
    from asdrp.memory import DEFAULT_USER
    from asdrp.orchestration.catalog import ResponderCatalog
    from asdrp.orchestration.directory import SessionDirectory

    factory = AgentFactory(CONFIG, session_url=session_url)
    catalog = ResponderCatalog(factory)
    try:
        directory = SessionDirectory(catalog.stores())
        for session_id, sent in result.sent.items():
            found = await directory.get(DEFAULT_USER, session_id)
            items = found[1] if found else []
            users = [stored.item.get("content") for stored in items if stored.role == "user"]
            answers = [stored for stored in items if stored.role == "assistant"]
            # Whole turns in order: each user item is followed by its own items, the last an answer.
            turns: list[tuple[object, list[str]]] = []
            whole = bool(items) or not sent
            for stored in items:
                if stored.role == "user":
                    turns.append((stored.item.get("content"), []))
                elif turns:
                    turns[-1][1].append(stored.role)
                else:
                    whole = False  # an answer before any question
            whole = whole and all(roles and roles[-1] == "assistant" for _, roles in turns)
            wanted = set(sent)
            in_order = [text for text, _ in turns if text in wanted] == sent
            result.interleaved += not (whole and in_order)
            for text in sent:
                count = users.count(text)
                result.lost += count == 0
                result.duplicated += max(0, count - 1)
                result.stored_ok += count == 1
            result.duplicated += max(0, len(users) - len(sent) - sum(max(0, users.count(t) - 1) for t in sent))
            if len(answers) != len(users):
                result.lost += abs(len(users) - len(answers))
    finally:
        await catalog.aclose()
        await factory.aclose()


class KeepAliveConnection:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams.

    httpx costs about as much CPU per request as the server's own overhead; on a 2-core machine
    that would measure the load generator, not the server. This speaks just enough HTTP for
    `POST /agents/{id}/chat` with a JSON body and a Content-Length response.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> KeepAliveConnection:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def post_json(self, path: str, payload: dict) -> tuple[int, bytes]:
        await self.connect()
        assert self.reader is not None
        body = json.dumps(payload).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value.strip())
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class ChatApi:
    """Turns through our own `POST /agents/{id}/chat`."""

    def __init__(self, agent: str) -> None:
        self.path = f"/agents/{agent}/chat"

    async def open(self, connection: KeepAliveConnection, name: str) -> str:
        """A session id of its own (a run repeated on one server must not continue an earlier run's)."""
        return f"{name}-{uuid.uuid4().hex[:8]}"

    def payload(self, text: str, session_id: str) -> dict:
        return {"input": text, "session_id": session_id}

    def answered(self, body: bytes, session_id: str) -> bool:
        return json.loads(body)["metadata"]["session_id"] == session_id


class ResponsesApi:
    """Turns through OpenAI's `POST /v1/responses` (not streamed) in a conversation made by `/v1/conversations`."""

    def __init__(self, agent: str) -> None:
        self.path = "/v1/responses"
        self.agent = agent

    async def open(self, connection: KeepAliveConnection, name: str) -> str:
        status, body = await connection.post_json("/v1/conversations", {"metadata": {"bench": name}})
        if status != 200:
            raise SystemExit(f"POST /v1/conversations failed: {status} {body[:200]!r}")
        return json.loads(body)["id"]

    def payload(self, text: str, session_id: str) -> dict:
        return {"model": self.agent, "input": text, "conversation": session_id}

    def answered(self, body: bytes, session_id: str) -> bool:
        reply = json.loads(body)
        return reply["conversation"]["id"] == session_id and reply["status"] == "completed"


async def run_http(
    url: str | list[str], clients: int, turns: int, agent: str, mode: str = "HTTP (uvicorn)",
    connected: Callable[[], None] | None = None, api: ChatApi | ResponsesApi | None = None,
) -> RunResult:
    """`clients` concurrent conversations; with several server URLs (replicas) client i uses URL i mod n.

    Every client opens its keep-alive connection and warms it up (one turn on a conversation of its
    own) before the clock starts, so every worker process that accepted connections is warm;
    `connected()` is then called (to look at how the connections spread over the workers).
    `api` is how a turn is asked (our chat route by default, or `/v1/responses`).
    """
    result = RunResult(mode)
    api = api if api is not None else ChatApi(agent)
    addresses = [u.removeprefix("http://").split(":") for u in ([url] if isinstance(url, str) else url)]
    path = api.path
    connections = await asyncio.gather(*(
        KeepAliveConnection(host, int(port)).connect()
        for host, port in (addresses[index % len(addresses)] for index in range(clients))
    ))
    warmups = await asyncio.gather(*(api.open(c, f"warmup-{i}-{mode}") for i, c in enumerate(connections)))
    for _ in range(2):
        await asyncio.gather(*(
            c.post_json(path, api.payload("hello", warmups[i])) for i, c in enumerate(connections)
        ))
    sessions = await asyncio.gather(*(api.open(c, f"bench-{i}") for i, c in enumerate(connections)))
    if connected is not None:
        connected()

    async def client(index: int) -> None:
        session_id = sessions[index]
        result.sent[session_id] = []
        host, port = addresses[index % len(addresses)]
        connection = connections[index]
        try:
            for turn in range(turns):
                text = message(index, turn)
                started = time.perf_counter()
                try:
                    status, body = await connection.post_json(path, api.payload(text, session_id))
                    ok = status == 200 and api.answered(body, session_id)
                except (OSError, ValueError, asyncio.IncompleteReadError):
                    ok = False
                    await connection.close()
                    connection = KeepAliveConnection(host, int(port))
                if ok:
                    result.latencies.append(time.perf_counter() - started)
                    result.sent[session_id].append(text)
                else:
                    result.errors += 1
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    result.elapsed = time.perf_counter() - started
    return result


async def run_in_process(clients: int, turns: int, agent: str) -> RunResult:
    from asdrp.agents.agent_factory import AgentFactory
    from asdrp.memory import DEFAULT_USER
    from asdrp.orchestration.catalog import ResponderCatalog

    result = RunResult("in-process (Python API)")
    factory = AgentFactory(CONFIG)
    catalog = ResponderCatalog(factory)
    responder = catalog.get(agent)
    try:
        for _ in range(4):
            await responder.route_query("hello", session_id="warmup", user=DEFAULT_USER)

        async def client(index: int) -> None:
            session_id = f"bench-{index}"
            result.sent[session_id] = []
            for turn in range(turns):
                text = message(index, turn)
                started = time.perf_counter()
                try:
                    await responder.route_query(text, session_id=session_id, user=DEFAULT_USER)
                except Exception:
                    result.errors += 1
                    continue
                result.latencies.append(time.perf_counter() - started)
                result.sent[session_id].append(text)

        started = time.perf_counter()
        await asyncio.gather(*(client(i) for i in range(clients)))
        result.elapsed = time.perf_counter() - started
    finally:
        await catalog.aclose()
        await factory.aclose()
    return result


def start_server(
    home: Path, extra_env: dict[str, str] | None = None, workers: int = 1
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "ASDRP_HOME": str(home), "ASDRP_CONFIG": str(CONFIG), "ASDRP_LOG_LEVEL": "warning",
           **(extra_env or {})}
    env.pop("OPENAI_API_KEY", None)
    env.pop("ASDRP_API_KEYS", None)
    env.pop("ASDRP_WORKERS", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "asdrp.cli", "serve", "--port", str(port), "--workers", str(workers)],
        env=env, cwd=str(home),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("server did not start")


def print_rows(results: list[RunResult]) -> None:
    """The per-mode table every run of this benchmark prints."""
    header = (f"{'mode':<26}{'turns':>7}{'errors':>8}{'turns/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'stored 1x':>11}"
              f"{'lost':>6}{'dup':>5}{'interleaved':>13}")
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.mode:<26}{r.turns:>7}{r.errors:>8}{r.turns / r.elapsed:>10.1f}"
            f"{r.percentile(0.5) * 1000:>9.1f}{r.percentile(0.99) * 1000:>9.1f}{r.stored_ok:>11}{r.lost:>6}"
            f"{r.duplicated:>5}{r.interleaved:>13}"
        )


def print_table(results: list[RunResult]) -> None:
    print_rows(results)
    http, local = results
    ratio = (http.turns / http.elapsed) / (local.turns / local.elapsed)
    print(f"\nHTTP throughput = {ratio:.0%} of in-process (target >= 60%); "
          f"HTTP p99 = {http.percentile(0.99) * 1000:.0f} ms (target < 1000 ms)")


def _cpu_seconds(pids: list[int]) -> float:
    """User+system CPU seconds used so far by these processes (Linux /proc; 0 elsewhere)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return total


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU jiffies of the whole machine so far (Linux /proc/stat; zeros elsewhere)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0, 0.0
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return float(sum(values) - idle), float(sum(values))


def _database_pids() -> list[int]:
    """PIDs of the local PostgreSQL / Redis server processes (for the CPU split)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "redis-server"):
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def _children(pid: int) -> list[int]:
    """The direct child processes of `pid` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                pass
    return found


def _wait_for_workers(url: str, workers: int, within_s: float = 120) -> set[int]:
    """Ask /health on fresh connections until `workers` different worker pids have answered."""
    seen: set[int] = set()
    deadline = time.monotonic() + within_s
    while len(seen) < workers:
        if time.monotonic() > deadline:
            raise SystemExit(f"only workers {seen} of {workers} answered /health")
        try:
            seen.add(int(httpx.get(f"{url}/health", timeout=10).json()["pid"]))
        except httpx.HTTPError:
            time.sleep(0.1)
    return seen


def _connections_per_pid(port: int, pids: list[int]) -> dict[int, int]:
    """Established server-side TCP connections on `port` held by each of `pids` (Linux /proc)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    counts = {}
    for pid in pids:
        held = 0
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    target = os.readlink(fd)
                except OSError:
                    continue
                held += target.startswith("socket:[") and target[8:-1] in inodes
        except OSError:
            pass
        counts[pid] = held
    return counts


class CpuMeter:
    """CPU seconds of the server processes, of this load generator and of the whole machine, between two marks."""

    def __init__(self, server_pids: list[int]) -> None:
        self.server_pids = server_pids
        self.marks: list[tuple[float, float, tuple[float, float]]] = []

    def mark(self) -> None:
        self.marks.append((_cpu_seconds(self.server_pids), time.process_time(), _machine_busy()))

    def used(self) -> tuple[float, float, float, float]:
        """(server, load generator, other processes, available) CPU seconds between the first and last mark."""
        (server0, generator0, machine0), (server1, generator1, machine1) = self.marks[0], self.marks[-1]
        tick = os.sysconf("SC_CLK_TCK")
        busy, total = ((after - start) / tick for after, start in zip(machine1, machine0, strict=True))
        server, generator = server1 - server0, generator1 - generator0
        return server, generator, max(0.0, busy - server - generator), total


def run_workers(base: Path, clients: int, turns: int, agent: str, workers: int, repeat: int = 1) -> None:
    """`asdrp serve --workers 1` and then `--workers N`, each on a fresh ASDRP_HOME (the SQLite default);
    `repeat` such pairs in turn (on a shared machine, the pairs show how much other load moved the numbers)."""
    results: list[RunResult] = []
    notes: list[str] = []
    for run, count in ((run, count) for run in range(repeat) for count in (1, workers)):
        home = base / f"{run}-{count}-workers"
        home.mkdir()
        process, url = start_server(home, workers=count)
        port = int(url.rsplit(":", 1)[1])
        label = f"{count} worker{'s' if count > 1 else ''} (sqlite)" + (f" #{run + 1}" if repeat > 1 else "")
        spread: dict[int, int] = {}
        try:
            _wait_for_workers(url, count)
            server_pids = [process.pid, *_children(process.pid)]  # with 1 worker uvicorn serves in `process`
            meter = CpuMeter(server_pids)

            def connected(spread: dict[int, int] = spread, port: int = port, meter: CpuMeter = meter) -> None:
                spread.update(_connections_per_pid(port, meter.server_pids))
                meter.mark()  # connected and warmed up: the timed turns start now

            result = asyncio.run(run_http(url, clients, turns, agent, mode=label, connected=connected))
            meter.mark()
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(60)
        server, generator, other, available = meter.used()
        per_worker = ", ".join(f"{pid}: {n}" for pid, n in spread.items() if n)
        per_turn = server / result.turns * 1000
        notes.append(
            f"{label}: {result.elapsed:.1f} s; CPU s: server {server:.1f} ({per_turn:.1f} ms/turn), "
            f"load generator {generator:.1f}, other processes {other:.1f}, of {available:.1f} available; "
            f"client connections per worker pid: {per_worker}"
        )
        asyncio.run(verify(result, home))
        results.append(result)
    print(f"\n{clients} clients x {turns} turns, agent {agent}, offline model, embedded sqlite default\n")
    print_rows(results)
    print()
    for run in range(repeat):
        one, many = results[2 * run: 2 * run + 2]
        ratio = (many.turns / many.elapsed) / (one.turns / one.elapsed)
        print(f"{'' if repeat == 1 else f'#{run + 1}: '}scaling {workers} workers / 1 worker = {ratio:.2f}x "
              f"(target >= 1.5x); p99 {one.percentile(0.99) * 1000:.0f} / {many.percentile(0.99) * 1000:.0f} ms "
              f"(target < 1000 ms)")
    print(f"{os.cpu_count()} cores shared by the server, this load generator and whatever else runs")
    print("where the CPU goes (timed turns only):\n  " + "\n  ".join(notes))


def run_replicas(shared_url: str, base: Path, clients: int, turns: int, agent: str) -> None:
    """One and then two `asdrp serve` replicas on one shared database (a fresh schema / prefix each)."""
    from urllib.parse import urlsplit

    from asdrp.memory.stores import open_store

    kind = "redis" if shared_url.startswith("redis") else "postgres"
    results: list[RunResult] = []
    cpu_split: list[str] = []
    for replicas in (1, 2):
        name = f"bench_{uuid.uuid4().hex[:10]}"
        param = f"prefix={name}:" if kind == "redis" else f"schema={name}"
        url = f"{shared_url}{'&' if urlsplit(shared_url).query else '?'}{param}"
        servers = []
        try:
            for r in range(replicas):
                home = base / f"{replicas}-replicas-{r}"
                home.mkdir()
                servers.append(start_server(home, {"ASDRP_SESSION_URL": url}))
            label = f"{replicas} replica{'s' if replicas > 1 else ''} on {kind}"
            server_pids, db_pids = [p.pid for p, _ in servers], _database_pids()
            before = (_cpu_seconds(server_pids), _cpu_seconds(db_pids), time.process_time())
            machine_before = _machine_busy()
            result = asyncio.run(run_http([u for _, u in servers], clients, turns, agent, mode=label))
            db_after = _database_pids()  # the replicas' connections are new backend processes
            db_new = [pid for pid in db_after if pid not in db_pids]
            used = (_cpu_seconds(server_pids) - before[0],
                    _cpu_seconds([pid for pid in db_after if pid in db_pids]) - before[1] + _cpu_seconds(db_new),
                    time.process_time() - before[2])
            machine = [after - start for after, start in zip(_machine_busy(), machine_before)]
            busy = machine[0] / machine[1] if machine[1] else float("nan")
            cpu_split.append(f"{label}: {result.elapsed:.1f} s wall; CPU s: replicas {used[0]:.1f}, "
                             f"database {used[1]:.1f}, load generator {used[2]:.1f} "
                             f"(of {result.elapsed * (os.cpu_count() or 1):.1f} available; "
                             f"whole machine {busy:.0%} busy)")
        finally:
            for process, _ in servers:
                process.send_signal(signal.SIGTERM)
            for process, _ in servers:
                process.wait(60)
        asyncio.run(verify(result, base / f"{replicas}-replicas-0", session_url=url))
        results.append(result)

        async def drop(url: str = url) -> None:
            store = open_store(url)
            try:
                await (store.drop_prefix() if kind == "redis" else store.drop_schema())  # type: ignore[attr-defined]
            finally:
                await store.close()

        asyncio.run(drop())
    print(f"\n{clients} clients x {turns} turns, agent {agent}, offline model, shared {kind} store\n")
    print_rows(results)
    one, two = results
    ratio = (two.turns / two.elapsed) / (one.turns / one.elapsed)
    print(f"\nscaling 2 replicas / 1 replica = {ratio:.2f}x (target >= 1.3x; {os.cpu_count()} cores shared by "
          f"the replicas, the database and this load generator)")
    print("where the time goes: " + "; ".join(cpu_split))


def run_v1(base: Path, clients: int, turns: int, agent: str, repeat: int = 1) -> None:
    """`/agents/{id}/chat` and `/v1/responses` on one server, alternating `repeat` times (fresh conversations each)."""
    home = base / "v1"
    home.mkdir()
    process, url = start_server(home)
    results: list[RunResult] = []
    try:
        for run in range(repeat):
            suffix = f" #{run + 1}" if repeat > 1 else ""
            for label, api in ((f"/agents/{agent}/chat", ChatApi(agent)), ("/v1/responses", ResponsesApi(agent))):
                result = asyncio.run(run_http(url, clients, turns, agent, mode=label + suffix, api=api))
                results.append(result)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
    for result in results:
        asyncio.run(verify(result, home))
    print(f"\n{clients} clients x {turns} turns, agent {agent}, offline model, sqlite file store, one server\n")
    print_rows(results)
    for run in range(repeat):
        chat, v1 = results[2 * run: 2 * run + 2]
        ratio = (v1.turns / v1.elapsed) / (chat.turns / chat.elapsed)
        print(f"{'' if repeat == 1 else f'#{run + 1}: '}/v1/responses throughput = {ratio:.0%} of "
              f"/agents/{agent}/chat (target >= 90%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--agent", default="chitchat")
    parser.add_argument("--shared-url", default=None,
                        help="postgresql://... or redis://...: instead, compare one and two replicas sharing it")
    parser.add_argument("--workers", type=int, default=None,
                        help="instead, compare `asdrp serve --workers 1` with `--workers N` on the SQLite default")
    parser.add_argument("--repeat", type=int, default=1, help="with --workers: how many 1-vs-N pairs to run")
    parser.add_argument("--v1", action="store_true",
                        help="instead, compare /agents/{id}/chat with non-streamed /v1/responses on one server")
    args = parser.parse_args()
    os.environ.pop("OPENAI_API_KEY", None)
    base = Path(tempfile.mkdtemp(prefix="asdrp-bench-"))
    if args.v1:
        run_v1(base, args.clients, args.turns, args.agent, args.repeat)
        return
    if args.workers:
        run_workers(base, args.clients, args.turns, args.agent, args.workers, args.repeat)
        return
    if args.shared_url:
        run_replicas(args.shared_url, base, args.clients, args.turns, args.agent)
        return
    http_home, local_home = base / "http", base / "inproc"
    http_home.mkdir()
    local_home.mkdir()

    process, url = start_server(http_home)
    try:
        http = asyncio.run(run_http(url, args.clients, args.turns, args.agent))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
    asyncio.run(verify(http, http_home))

    os.environ["ASDRP_HOME"] = str(local_home)
    local = asyncio.run(run_in_process(args.clients, args.turns, args.agent))
    asyncio.run(verify(local, local_home))

    print(f"\n{args.clients} clients x {args.turns} turns, agent {args.agent}, offline model, sqlite file store\n")
    print_table([http, local])


if __name__ == "__main__":
    main()
