"""`asdrp serve` and `asdrp sessions list|show|delete|export`: the server and session management.

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

sessions_app = typer.Typer(help="List, read, delete and export your conversations.", no_args_is_help=True)

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
    from asdrp.memory.ids import DEFAULT_USER, validate_user

    return validate_user(user) if user is not None else DEFAULT_USER


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
def delete_session(session_id: str, user: str | None = UserOption, config: Path | None = ConfigOption) -> None:
    """Delete a conversation and its whole history from every store."""
    from asdrp.memory.errors import MemoryStoreError
    from asdrp.memory.ids import validate_session_id

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
    session_id: str,
    fmt: str = typer.Option("jsonl", "--format", "-f", help="jsonl (re-importable) or markdown (readable)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
    user: str | None = UserOption,
    config: Path | None = ConfigOption,
) -> None:
    """Export one conversation as JSON Lines or Markdown."""
    if fmt not in ("jsonl", "markdown"):
        _fail(f"unknown --format {fmt!r}; choose jsonl or markdown")
    who = _resolve_user(user)
    info, items = _run(lambda: _with_directory(config, lambda d: _get(d, who, session_id)))
    text = "\n".join(export_lines(info, items, fmt)) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        print(f"exported {len(items)} items to {output}", file=sys.stderr)


def register(app: typer.Typer) -> None:
    """Mount `serve` and `sessions` on the main `asdrp` app."""
    app.command("serve")(serve_command)
    app.add_typer(sessions_app, name="sessions")
