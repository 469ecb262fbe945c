"""The `asdrp` console script: list agents, chat with an agent or orchestrator, serve, manage sessions.

A thin typer app: every command translates its options into calls of the agents/orchestration
layer and prints the result. Errors a user can cause (unknown agent, bad session id, broken YAML)
end with exit code 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from asdrp.agents.config_loader import ConfigError
from asdrp.agents.protocol import AgentException
from asdrp.memory import DEFAULT_USER, MemoryStoreError, new_session_id, validate_session_id

app = typer.Typer(
    help="asdrp: specialist agents and orchestrators with persistent session memory.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(width=200)  # tables must not truncate paths when stdout is not a terminal
T = TypeVar("T")

USER_ERRORS = (AgentException, ConfigError, MemoryStoreError, ValueError)
"""Exceptions caused by the user's input or configuration: reported in one line, exit code 2."""


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one line on stderr and exit: the CLI's error contract."""
    print(f"asdrp: error: {message}", file=sys.stderr)
    raise typer.Exit(code)


def run_or_fail(action: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine, turning user-caused errors into the one-line error contract."""
    try:
        return asyncio.run(action())
    except USER_ERRORS as exc:
        fail(str(exc))


def make_factory(config: Path | None, db: Path | None = None) -> Any:
    """An AgentFactory on the given config; `db` puts every sqlite-backed agent on that file."""
    from asdrp.agents.agent_factory import AgentFactory

    try:
        return AgentFactory(config, database_path=str(db) if db else None)
    except USER_ERRORS as exc:
        fail(str(exc))


ConfigOption = typer.Option(None, "--config", "-c", help="Agents YAML (default: $ASDRP_CONFIG or config/open_agents.yaml).")


@app.command("agents")
def list_agents(config: Path | None = ConfigOption) -> None:
    """List the configured agents and orchestrators with their session memory settings."""
    from asdrp.orchestration.catalog import ResponderCatalog

    factory = make_factory(config)

    async def describe() -> list[dict[str, Any]]:
        catalog = ResponderCatalog(factory)
        try:
            return catalog.descriptors()
        finally:
            await catalog.aclose()
            await factory.aclose()

    table = Table("id", "name", "kind", "session memory", "context", "tools")
    for column in table.columns:
        column.overflow = "fold"  # never cut a path or a tool name off with an ellipsis
    for entry in run_or_fail(describe):
        memory = entry.get("session_memory") or {}
        if memory.get("enabled") and memory.get("type") != "none":
            where = _display_path(memory.get("database_path")) or memory.get("url") or "in memory"
            session_text = f"{memory.get('type')} ({where})"
        else:
            session_text = "none (stateless)"
        context = f"{memory.get('context_items', '-')} items" if memory.get("enabled") else "-"
        table.add_row(
            entry["id"], entry.get("display_name", ""), entry.get("kind", ""), session_text, context,
            ", ".join(entry.get("tools", [])),
        )
    console.print(table)


@app.command("chat")
def chat(
    agent: str = typer.Argument(..., help="Agent or orchestrator id (see `asdrp agents`)."),
    session: str | None = typer.Option(None, "--session", "-s", help="Session id to start or continue (default: a new one)."),
    db: Path | None = typer.Option(None, "--db", help="SQLite file for the conversation (default: the agent's configured store)."),
    server: str | None = typer.Option(None, "--server", help="URL of a running `asdrp serve` to talk to instead of in-process."),
    api_key: str | None = typer.Option(None, "--api-key", envvar="ASDRP_API_KEY", help="X-API-Key for --server."),
    config: Path | None = ConfigOption,
) -> None:
    """Chat in a REPL: prints the session id, then answers each line until EOF or /exit."""
    if session is not None:
        try:
            validate_session_id(session)
        except MemoryStoreError as exc:
            fail(str(exc))
    if server:
        from asdrp.cli_remote import chat_remote

        chat_remote(server, agent, session, api_key)
        return
    run_or_fail(lambda: _chat_in_process(agent, session, db, config))


async def _chat_in_process(agent: str, session: str | None, db: Path | None, config: Path | None) -> None:
    from asdrp.orchestration.catalog import ResponderCatalog

    factory = make_factory(config, db)
    catalog = ResponderCatalog(factory)
    try:
        responder = catalog.get(agent)
        session_id = session or new_session_id()
        print(f"session: {session_id}  (agent: {responder.agent_id}; /exit to quit)", flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, _read_line)
            if line is None or line.strip() == "/exit":
                break
            if not line.strip():
                continue
            result = await responder.route_query(line.strip(), session_id=session_id, user=DEFAULT_USER)
            print(f"{result.agent_id}> {result.answer}", flush=True)
    finally:
        await catalog.aclose()
        await factory.aclose()


def _display_path(path: str | None) -> str | None:
    """A store path as the user wrote it in the YAML: relative to ASDRP_HOME when inside it."""
    if not path:
        return None
    from asdrp.memory.paths import home_dir

    try:
        return str(Path(path).resolve().relative_to(home_dir().resolve()))
    except ValueError:
        return path


def _read_line() -> str | None:
    """One line from stdin with a prompt on a terminal; None at EOF."""
    try:
        return input("you> " if sys.stdin.isatty() else "")
    except EOFError:
        return None


def main() -> None:
    """Console-script entry point."""
    _mount_optional_commands()
    app()


def _mount_optional_commands() -> None:
    """Add the server and session-management commands (kept in their own module)."""
    from asdrp.cli_server import register

    register(app)


if __name__ == "__main__":
    main()
