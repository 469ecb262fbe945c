"""`asdrp serve` and `asdrp sessions list|show|delete|export|import|prune`: the server and session management.

The sessions commands read through the same `SessionDirectory` over the same stores as the
server's `/sessions` endpoints, so the CLI and the API always agree. Mounted on the main app by
`register(app)` (called from `asdrp.cli.main`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer

T = TypeVar("T")

sessions_app = typer.Typer(help="List, read, delete, export, import and prune conversations.", no_args_is_help=True)

ConfigOption = typer.Option(None, "--config", "-c", help="Agents YAML (default: $ASDRP_CONFIG or config/open_agents.yaml).")
UserOption = typer.Option(None, "--user", "-u", help="Whose conversations (default: the local user, as in local server mode).")


def _fail(message: str, code: int = 2) -> NoReturn:
    print(f"asdrp: error: {message}", file=sys.stderr)
    raise typer.Exit(code)


def _user_errors() -> tuple[type[BaseException], ...]:
    from asdrp.agents.config_loader import ConfigError
    from asdrp.agents.protocol import AgentException
    from asdrp.memory.errors import MemoryStoreError

    return (AgentException, ConfigError, MemoryStoreError, ValueError)


def serve_command(
    host: str | None = typer.Option(None, "--host", help="Interface to bind [env ASDRP_HOST, default 127.0.0.1]."),
    port: int | None = typer.Option(None, "--port", "-p", help="Port [env ASDRP_PORT, default 8000]."),
    config: Path | None = typer.Option(None, "--config", "-c", help="Agents YAML [env ASDRP_CONFIG]."),
) -> None:
    """Run the HTTP API and the web chat page (http://HOST:PORT/) under uvicorn."""
    import uvicorn
    from pydantic import ValidationError

    from asdrp.server import ServerSettings, SettingsError, create_app

    overrides: dict[str, Any] = {k: v for k, v in {"host": host, "port": port, "config": config}.items() if v is not None}
    try:
        settings = ServerSettings(**overrides)
        settings.check_bind()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "ASDRP_" + "_".join(str(part) for part in first.get("loc", ())).upper()
        _fail(f"{where}: {first.get('msg')}")
    except SettingsError as exc:
        _fail(str(exc))
    try:
        app = create_app(settings)
    except _user_errors() as exc:
        _fail(str(exc))
    if settings.local_mode:
        print(
            f"asdrp: local mode (no ASDRP_API_KEYS): every request is the local user; serving "
            f"http://{settings.host}:{settings.port}/ on {settings.host} only",
            file=sys.stderr,
            flush=True,
        )
    else:
        print(f"asdrp: serving http://{settings.host}:{settings.port}/ (API keys required)", file=sys.stderr, flush=True)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            timeout_graceful_shutdown=int(settings.shutdown_deadline_s) or None,
            lifespan="on",
        )
    )
    # uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown; a shutdown that finished
    # in-flight turns and closed the stores is a clean exit (status 0), not a kill.
    previous = {sig: signal.signal(sig, _exit_cleanly) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _run(action: Callable[[], Awaitable[T]]) -> T:
    try:
        return asyncio.run(action())
    except _user_errors() as exc:
        _fail(str(exc))


async def _with_directory(config: Path | None, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work(directory)` over the stores the server would use, closing them afterwards."""
    from asdrp.agents.agent_factory import AgentFactory
    from asdrp.orchestration.catalog import ResponderCatalog
    from asdrp.orchestration.directory import SessionDirectory

    factory = AgentFactory(config)
    catalog = ResponderCatalog(factory)
    try:
        return await work(SessionDirectory(catalog.stores()))
    finally:
        try:
            await catalog.aclose()
        finally:
            await factory.aclose()


def _resolve_user(user: str | None) -> str:
    from asdrp.memory.ids import DEFAULT_USER, validate_caller

    return validate_caller(user) if user is not None else DEFAULT_USER


def _time(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M:%S")


@sessions_app.command("list")
def list_sessions(
    user: str | None = UserOption,
    limit: int = typer.Option(100, "--limit", "-n", min=1, help="Show at most this many (newest first)."),
    config: Path | None = ConfigOption,
) -> None:
    """List conversations, most recently active first."""
    from rich.console import Console
    from rich.table import Table

    owner = _resolve_user(user) if user is not None else None

    async def collect(directory: Any) -> list[Any]:
        who = owner or _resolve_user(None)
        found: list[Any] = []
        cursor = None
        while len(found) < limit:
            page, cursor = await directory.list_for_user(who, limit=min(200, limit - len(found)), cursor=cursor)
            found.extend(page)
            if cursor is None:
                break
        return found

    infos = _run(lambda: _with_directory(config, collect))
    if not infos:
        print(f"No conversations for user {owner or _resolve_user(None)!r}.")
        return
    table = Table("session", "agent", "title", "updated", "items")
    for info in infos:
        table.add_row(info.session_id, info.agent_id or "-", info.title, _time(info.updated_at), str(info.item_count))
    Console(width=200).print(table)


def _item_text(item: dict[str, Any]) -> str:
    from asdrp.server.routes.sessions import item_text

    return item_text(item)


async def _get(directory: Any, user: str, session_id: str) -> Any:
    from asdrp.memory.errors import MemoryStoreError
    from asdrp.memory.ids import validate_session_id

    validate_session_id(session_id)
    found = await directory.get(user, session_id)
    if found is None:
        raise MemoryStoreError(f"no session {session_id!r} for user {user!r}")
    return found


@sessions_app.command("show")
def show_session(session_id: str, user: str | None = UserOption, config: Path | None = ConfigOption) -> None:
    """Print a conversation's full history."""
    who = _resolve_user(user)
    info, items = _run(lambda: _with_directory(config, lambda d: _get(d, who, session_id)))
    print(f"session: {info.session_id}  agent: {info.agent_id or '-'}  items: {info.item_count}  title: {info.title}")
    for stored in items:
        speaker = "you" if stored.role == "user" else (stored.agent or stored.role)
        if stored.item.get("type") in ("function_call", "function_call_output"):
            speaker = f"{stored.agent or 'agent'} [{stored.role}]"
        print(f"[{_time(stored.created_at)}] {speaker}> {_item_text(stored.item)}")


@sessions_app.command("delete")
def delete_session(
    session_id: str | None = typer.Argument(None, help="The conversation; omit it with --user to delete ALL of that user's."),
    user: str | None = UserOption,
    config: Path | None = ConfigOption,
) -> None:
    """Delete a conversation and its whole history from every store (or, with --user only, all of theirs)."""
    from asdrp.memory.errors import MemoryStoreError
    from asdrp.memory.ids import validate_session_id

    if session_id is None:
        if user is None:
            _fail("name a session to delete, or --user U to delete every conversation of U")
        who = _resolve_user(user)
        count = _run(lambda: _with_directory(config, lambda d: d.delete_user(who)))
        print(f"deleted {count} conversation(s) of user {who}")
        return
    who = _resolve_user(user)

    async def delete(directory: Any) -> bool:
        validate_session_id(session_id)
        if not await directory.delete(who, session_id):
            raise MemoryStoreError(f"no session {session_id!r} for user {who!r}")
        return True

    _run(lambda: _with_directory(config, delete))
    print(f"deleted session {session_id}")


def export_lines(info: Any, items: list[Any], fmt: str) -> list[str]:
    """The export text: JSON Lines in the `asdrp.memory.transfer` format, or readable Markdown."""
    if fmt == "jsonl":
        header = {
            "type": "session", "format": 1, "user": info.user, "session_id": info.session_id,
            "agent_id": info.agent_id, "title": info.title, "created_at": info.created_at,
            "updated_at": info.updated_at, "item_count": info.item_count,
        }
        lines = [json.dumps(header, ensure_ascii=False)]
        for stored in items:
            lines.append(json.dumps({
                "type": "item", "user": info.user, "session_id": info.session_id, "seq": stored.seq,
                "agent": stored.agent, "role": stored.role, "created_at": stored.created_at, "item": stored.item,
            }, ensure_ascii=False))
        return lines
    lines = [f"# {info.title or info.session_id}", "", f"- session: `{info.session_id}`",
             f"- agent: {info.agent_id or '-'}", f"- started: {_time(info.created_at)}", ""]
    for stored in items:
        kind = stored.item.get("type")
        text = _item_text(stored.item)
        if kind in ("function_call", "function_call_output"):
            lines += [f"> *{stored.agent or 'agent'} {stored.role}:* `{text}`", ""]
        elif stored.role == "user":
            lines += [f"**You** ({_time(stored.created_at)}):", "", text, ""]
        else:
            lines += [f"**{stored.agent or stored.role}** ({_time(stored.created_at)}):", "", text, ""]
    return lines


@sessions_app.command("export")
def export_session(
    session_id: str | None = typer.Argument(None, help="One conversation; omit it to export every conversation (JSON Lines)."),
    fmt: str = typer.Option("jsonl", "--format", "-f", help="jsonl (re-importable) or markdown (readable)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
    user: str | None = UserOption,
    config: Path | None = ConfigOption,
) -> None:
    """Export one conversation as JSON Lines or Markdown, or every conversation as JSON Lines.

    Without a session id it exports every conversation of every user (or of --user) from every
    store, for `asdrp sessions import` into another store.
    """
    if fmt not in ("jsonl", "markdown"):
        _fail(f"unknown --format {fmt!r}; choose jsonl or markdown")
    if session_id is None:
        if fmt != "jsonl":
            _fail("exporting every conversation writes JSON Lines; use --format jsonl")
        _export_all(output, None if user is None else _resolve_user(user), config)
        return
    who = _resolve_user(user)
    info, items = _run(lambda: _with_directory(config, lambda d: _get(d, who, session_id)))
    text = "\n".join(export_lines(info, items, fmt)) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        print(f"exported {len(items)} items to {output}", file=sys.stderr)


def _progress(description: str) -> Any:
    """A rich progress bar on stderr (the data may be going to stdout)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn(description), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=Console(stderr=True), transient=False)


def _export_all(output: Path | None, user: str | None, config: Path | None) -> None:
    from asdrp.memory.transfer import TransferStats, export_sessions

    async def export(directory: Any) -> TransferStats:
        total = TransferStats()
        out = sys.stdout if output is None else output.open("w", encoding="utf-8")
        try:
            with _progress("exporting items") as bar:
                task = bar.add_task("export", total=None)
                for store in directory.stores:
                    stats = await export_sessions(
                        store, out, users=None if user is None else [user],
                        progress=lambda done, todo, base=total.items: bar.update(
                            task, completed=base + done, total=None if todo is None else base + todo),
                    )
                    total.sessions += stats.sessions
                    total.items += stats.items
        finally:
            if output is not None:
                out.close()
        return total

    stats = _run(lambda: _with_directory(config, export))
    print(f"exported {stats.sessions} conversation(s), {stats.items} items", file=sys.stderr)


@sessions_app.command("import")
def import_sessions_command(
    source: Path = typer.Argument(..., help="A JSON Lines file written by `asdrp sessions export`."),
    to: str | None = typer.Option(
        None, "--to", help="Target store: postgresql://..., redis://... or a SQLite file [default: $ASDRP_SESSION_URL]."
    ),
) -> None:
    """Import conversations into a store; items already there are skipped, so importing twice is safe."""
    import os

    from asdrp.memory.stores import open_store
    from asdrp.memory.transfer import TransferStats, count_items, import_sessions

    target = to or os.environ.get("ASDRP_SESSION_URL")
    if not target:
        _fail("name the target store with --to (a postgresql:// or redis:// URL, or a SQLite file)")
    if not source.is_file():
        _fail(f"no such export file: {source}")

    async def run() -> TransferStats:
        if target.startswith(("postgresql://", "postgres://", "postgresql+asyncpg://")):
            store = open_store("postgres", url=target)
        elif target.startswith(("redis://", "rediss://", "unix://")):
            store = open_store("redis", url=target)
        else:
            store = open_store("sqlite", database_path=target)
        try:
            with _progress("importing items") as bar, source.open(encoding="utf-8") as src:
                task = bar.add_task("import", total=count_items(source))
                return await import_sessions(store, src, progress=lambda done, todo: bar.update(task, completed=done))
        finally:
            await store.close()

    stats = _run(run)
    print(f"imported {stats.items} items in {stats.sessions} conversation(s); {stats.skipped} already there",
          file=sys.stderr)


def _duration(text: str) -> float:
    """'90', '90s', '15m', '12h', '30d' -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        if text and text[-1] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except ValueError:
        _fail(f"--max-age {text!r} is not a duration like 3600, 90m, 12h or 30d")


@sessions_app.command("prune")
def prune_sessions(
    max_age: str | None = typer.Option(None, "--max-age", help="Delete conversations idle longer than this (e.g. 30d)."),
    max_items: int | None = typer.Option(None, "--max-items", min=1, help="Keep at most this many items per conversation (whole turns)."),
    config: Path | None = ConfigOption,
) -> None:
    """Apply retention now: the limits given here to every store, or else each agent's configured max_age / max_items."""
    from asdrp.memory.retention import PruneResult, RetentionPolicy, prune
    from asdrp.server.retention import retention_plans

    override = None
    if max_age is not None or max_items is not None:
        override = RetentionPolicy(None if max_age is None else _duration(max_age), max_items)

    async def run() -> PruneResult:
        from asdrp.agents.agent_factory import AgentFactory
        from asdrp.orchestration.catalog import ResponderCatalog

        factory = AgentFactory(config)
        catalog = ResponderCatalog(factory)
        total = PruneResult()
        try:
            for store, policy in retention_plans(factory, catalog.stores()):
                policy = override or policy
                if policy.is_active:
                    total += await prune(store, max_age_seconds=policy.max_age_seconds, max_items=policy.max_items)
        finally:
            try:
                await catalog.aclose()
            finally:
                await factory.aclose()
        return total

    result = _run(run)
    print(f"pruned: {result.sessions_deleted} conversation(s) expired, {result.sessions_trimmed} trimmed, "
          f"{result.items_removed} items removed")


def register(app: typer.Typer) -> None:
    """Mount `serve` and `sessions` on the main `asdrp` app."""
    app.command("serve")(serve_command)
    app.add_typer(sessions_app, name="sessions")
