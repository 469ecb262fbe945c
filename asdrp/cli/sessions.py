"""`asdrp sessions list|show|delete|export|import|prune`: conversations from the command line.

These commands read through the same `SessionDirectory`, over the same stores, as the server's
`/sessions` endpoints, so the CLI and the API always agree on what a user has; `export` and
`import` move conversations between stores (the SQLite files to PostgreSQL, for instance).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from asdrp.cli.app import CliError, ConfigOption, DbOption, SessionUrlOption, UserOption, app, console, open_factory
from asdrp.cli.chat import print_answer
from asdrp.memory import DEFAULT_USER, MemoryStoreError, validate_caller, validate_session_id
from asdrp.memory.rows import item_text

if TYPE_CHECKING:
    from rich.progress import Progress

    from asdrp.memory.records import SessionInfo, StoredItem
    from asdrp.memory.retention import PruneResult
    from asdrp.memory.transfer import TransferStats
    from asdrp.orchestration.catalog import ResponderCatalog
    from asdrp.orchestration.directory import SessionDirectory

T = TypeVar("T")

sessions_app = typer.Typer(help="List, read, delete, export, import and prune conversations.", no_args_is_help=True)
app.add_typer(sessions_app, name="sessions")

class Stores:
    """Where the commands look: the config and store overrides every sessions command shares."""

    def __init__(self, config: Path | None, db: Path | None, session_url: str | None) -> None:
        self.config, self.db, self.session_url = config, db, session_url

    @asynccontextmanager
    async def catalog(self) -> AsyncIterator[ResponderCatalog]:
        """The catalog the server would build (agents' and orchestrators' stores), closed afterwards."""
        from asdrp.orchestration.catalog import ResponderCatalog

        factory = open_factory(self.config, self.db, self.session_url)
        catalog = ResponderCatalog(factory)
        try:
            yield catalog
        finally:
            try:
                await catalog.aclose()
            finally:
                await factory.aclose()

    async def run(self, work: Callable[[SessionDirectory], Awaitable[T]]) -> T:
        """`work(directory)` over the stores the server would use."""
        from asdrp.orchestration.directory import SessionDirectory
        from asdrp.server.idempotency import IdempotencyRecords, idempotency_store

        async with self.catalog() as catalog:
            # the server's records of turns (their answers) are the user's data too: deleted with them
            records = IdempotencyRecords(idempotency_store(catalog.factory), lambda: directory)
            directory = SessionDirectory(catalog.stores(), [*catalog.side_memories(), records])
            return await work(directory)

    async def prune(self, max_age: float | None, max_items: int | None) -> PruneResult:
        """Apply retention to every store: these limits if given, else each store's configured policy."""
        from asdrp.memory.retention import PruneResult, RetentionPolicy, prune
        from asdrp.orchestration.retention import retention_plans

        override = None if max_age is None and max_items is None else RetentionPolicy(max_age, max_items)
        total = PruneResult()
        async with self.catalog() as catalog:
            for store, policy in retention_plans(catalog.factory, catalog.retained_stores()):
                policy = override or policy
                if policy.is_active:
                    total += await prune(store, max_age_seconds=policy.max_age_seconds, max_items=policy.max_items)
        return total


def _user(user: str | None) -> str:
    return validate_caller(user) if user is not None else DEFAULT_USER


def _time(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M:%S")


async def _conversation(
    directory: SessionDirectory, user: str, session_id: str
) -> tuple[SessionInfo, list[StoredItem]]:
    validate_session_id(session_id)
    found = await directory.get(user, session_id)
    if found is None:
        raise MemoryStoreError(f"no session {session_id!r} for user {user!r}")
    return found


@sessions_app.command("list")
def list_sessions(
    user: UserOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Show at most this many (newest first).")] = 100,
    config: ConfigOption = None,
    db: DbOption = None,
    session_url: SessionUrlOption = None,
) -> None:
    """List conversations, most recently active first."""
    from rich.table import Table

    who = _user(user)

    async def collect(directory: SessionDirectory) -> list[SessionInfo]:
        found: list[SessionInfo] = []
        cursor = None
        while len(found) < limit:
            page, cursor = await directory.list_for_user(who, limit=min(200, limit - len(found)), cursor=cursor)
            found.extend(page)
            if cursor is None:
                break
        return found

    infos = asyncio.run(Stores(config, db, session_url).run(collect))
    if not infos:
        print(f"No conversations for user {who!r}.")
        return
    table = Table("session", "agent", "title", "updated", "items")
    for info in infos:
        table.add_row(info.session_id, info.agent_id or "-", info.title, _time(info.updated_at), str(info.item_count))
    console.print(table)


@sessions_app.command("show")
def show_session(
    session_id: str,
    user: UserOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
    session_url: SessionUrlOption = None,
) -> None:
    """Print a conversation's full history."""
    who = _user(user)
    info, items = asyncio.run(Stores(config, db, session_url).run(lambda d: _conversation(d, who, session_id)))
    print(f"session: {info.session_id}  agent: {info.agent_id or '-'}  items: {info.item_count}  title: {info.title}")
    for stored in items:
        speaker = "you" if stored.role == "user" else (stored.agent or stored.role)
        if stored.item.get("type") in ("function_call", "function_call_output"):
            speaker = f"{stored.agent or 'agent'} [{stored.role}]"
        elif stored.role == "assistant":  # answers are markdown, rendered as `asdrp chat` renders them
            print_answer(f"[{_time(stored.created_at)}] {speaker}", item_text(stored.item))
            continue
        print(f"[{_time(stored.created_at)}] {speaker}> {item_text(stored.item)}")


@sessions_app.command("delete")
def delete_session(
    session_id: Annotated[
        str | None, typer.Argument(help="The conversation; omit it with --user to delete ALL of that user's.")
    ] = None,
    user: UserOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
    session_url: SessionUrlOption = None,
) -> None:
    """Delete a conversation and its whole history from every store (or, with --user only, all of theirs)."""
    stores = Stores(config, db, session_url)
    if session_id is None:
        if user is None:
            raise CliError("name a session to delete, or --user U to delete every conversation of U")
        who = _user(user)
        count = asyncio.run(stores.run(lambda d: d.delete_user(who)))
        print(f"deleted {count} conversation(s) of user {who}")
        return
    who = _user(user)
    validate_session_id(session_id)

    async def delete(directory: SessionDirectory) -> None:
        if not await directory.delete(who, session_id):
            raise MemoryStoreError(f"no session {session_id!r} for user {who!r}")

    asyncio.run(stores.run(delete))
    print(f"deleted session {session_id}")


def export_lines(info: SessionInfo, items: list[StoredItem], fmt: str) -> list[str]:
    """The export text: JSON Lines in the `asdrp.memory.transfer` format, or readable Markdown."""
    if fmt == "jsonl":
        header = {
            "type": "session", "format": 1, "user": info.user, "session_id": info.session_id,
            "agent_id": info.agent_id, "title": info.title, "created_at": info.created_at,
            "updated_at": info.updated_at, "item_count": info.item_count,
        }
        lines = [_json_line(header)]
        for stored in items:
            lines.append(_json_line({
                "type": "item", "user": info.user, "session_id": info.session_id, "seq": stored.seq,
                "agent": stored.agent, "role": stored.role, "created_at": stored.created_at, "item": stored.item,
            }))
        return lines
    lines = [f"# {info.title or info.session_id}", "", f"- session: `{info.session_id}`",
             f"- agent: {info.agent_id or '-'}", f"- started: {_time(info.created_at)}", ""]
    for stored in items:
        text = item_text(stored.item)
        if stored.item.get("type") in ("function_call", "function_call_output"):
            lines += [f"> *{stored.agent or 'agent'} {stored.role}:* `{text}`", ""]
        elif stored.role == "user":
            lines += [f"**You** ({_time(stored.created_at)}):", "", text, ""]
        else:
            lines += [f"**{stored.agent or stored.role}** ({_time(stored.created_at)}):", "", text, ""]
    return lines


def _json_line(value: dict[str, Any]) -> str:
    """Compact, as `asdrp.memory.transfer` writes its lines (its item count scans for that prefix)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@sessions_app.command("export")
def export_session(
    session_id: Annotated[
        str | None, typer.Argument(help="One conversation; omit it to export every conversation (JSON Lines).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="jsonl (re-importable) or markdown (readable).")] = "jsonl",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
    user: UserOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
    session_url: SessionUrlOption = None,
) -> None:
    """Export one conversation as JSON Lines or Markdown, or every conversation as JSON Lines.

    Without a session id it exports every conversation of every user (or of --user) from every
    store, for `asdrp sessions import` into another store.
    """
    if fmt not in ("jsonl", "markdown"):
        raise CliError(f"unknown --format {fmt!r}; choose jsonl or markdown")
    stores = Stores(config, db, session_url)
    if session_id is None:
        if fmt != "jsonl":
            raise CliError("exporting every conversation writes JSON Lines; use --format jsonl")
        stats = asyncio.run(stores.run(lambda d: _export_all(d, output, None if user is None else _user(user))))
        print(f"exported {stats.sessions} conversation(s), {stats.items} items", file=sys.stderr)
        return
    who = _user(user)
    info, items = asyncio.run(stores.run(lambda d: _conversation(d, who, session_id)))
    text = "\n".join(export_lines(info, items, fmt)) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        print(f"exported {len(items)} items to {output}", file=sys.stderr)


def _progress(description: str) -> Progress:
    """A rich progress bar on stderr (the data may be going to stdout)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn(description), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=Console(stderr=True), transient=False)


async def _export_all(directory: SessionDirectory, output: Path | None, user: str | None) -> TransferStats:
    from asdrp.memory.transfer import TransferStats, export_sessions

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


@sessions_app.command("import")
def import_sessions_command(
    source: Annotated[Path, typer.Argument(help="A JSON Lines file written by `asdrp sessions export`.")],
    to: Annotated[
        str | None,
        typer.Option(
            "--to", help="Target store: postgresql://..., redis://... or a SQLite file [default: $ASDRP_SESSION_URL]."
        ),
    ] = None,
) -> None:
    """Import conversations into a store; items already there are skipped, so importing twice is safe."""
    from asdrp.memory.stores import open_store
    from asdrp.memory.transfer import count_items, import_sessions

    target = to or os.environ.get("ASDRP_SESSION_URL")
    if not target:
        raise CliError("name the target store with --to (a postgresql:// or redis:// URL, or a SQLite file)")
    if not source.is_file():
        raise CliError(f"no such export file: {source}")

    async def run() -> TransferStats:
        store = open_store(target)
        try:
            with _progress("importing items") as bar, source.open(encoding="utf-8") as src:
                task = bar.add_task("import", total=count_items(source))
                return await import_sessions(store, src, progress=lambda done, todo: bar.update(task, completed=done))
        finally:
            await store.close()

    stats = asyncio.run(run())
    print(f"imported {stats.items} items in {stats.sessions} conversation(s); {stats.skipped} already there",
          file=sys.stderr)


@sessions_app.command("prune")
def prune_sessions(
    max_age: Annotated[
        str | None,
        typer.Option("--max-age", help="Delete conversations idle longer than this: 3600, 90s, 15m, 12h, 30d or 2w."),
    ] = None,
    max_items: Annotated[
        int | None,
        typer.Option("--max-items", min=1, help="Keep at most this many items per conversation (whole turns)."),
    ] = None,
    config: ConfigOption = None,
    db: DbOption = None,
    session_url: SessionUrlOption = None,
) -> None:
    """Apply retention now: the limits given here to every store, or else each agent's max_age / max_items."""
    from asdrp.memory.retention import parse_duration

    try:
        max_age_seconds = None if max_age is None else parse_duration(max_age)
    except ValueError as exc:
        raise CliError(f"--max-age: {exc}") from None
    result = asyncio.run(Stores(config, db, session_url).prune(max_age_seconds, max_items))
    print(f"pruned: {result.sessions_deleted} conversation(s) expired, {result.sessions_trimmed} trimmed, "
          f"{result.items_removed} items removed")
