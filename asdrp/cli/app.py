"""The typer app behind `asdrp`, its shared options, and the CLI's one error path.

Commands live one group per module (`agents`, `chat`, `serve`, `sessions`) and register themselves
on `app`. They raise; they never print errors themselves: `main` turns every error a user can cause
(unknown agent, bad session id, broken YAML, a bad option value, an unreachable database or file)
into one line on stderr and exit status 2, so no command can leak a traceback or word it
differently.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from asdrp.agents.config_loader import ConfigError
from asdrp.agents.protocol import AgentException
from asdrp.memory import MemoryStoreError

if TYPE_CHECKING:
    from asdrp.agents.agent_factory import AgentFactory

ERROR_EXIT_CODE = 2
"""Exit status of every error a user can cause (click uses the same for usage errors)."""

app = typer.Typer(
    help="asdrp: specialist agents and orchestrators with persistent session memory.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(width=200)  # tables must not truncate paths when stdout is not a terminal


class CliError(Exception):
    """A command line that cannot be carried out as given; the message says what to change."""


USER_ERRORS: tuple[type[BaseException], ...] = (
    CliError, AgentException, ConfigError, MemoryStoreError, ValueError, OSError
)
"""Errors caused by the user's input, configuration or environment: one line, exit status 2.

ValueError covers the settings and duration parsers; OSError a file that cannot be written or a
database that cannot be reached.
"""

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="Agents YAML [env ASDRP_CONFIG, default config/open_agents.yaml].")
]
UserOption = Annotated[
    str | None,
    typer.Option("--user", "-u", help="Whose conversations (default: the local user, as in local server mode)."),
]
DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="SQLite file for every SQLite-backed agent (default: each agent's configured store)."),
]
SessionUrlOption = Annotated[
    str | None,
    typer.Option(
        "--session-url",
        help="postgresql://... or redis://...: every agent and orchestrator on that database [env ASDRP_SESSION_URL].",
    ),
]


def open_factory(config: Path | None, db: Path | None = None, session_url: str | None = None) -> AgentFactory:
    """An AgentFactory on the given config (ConfigError if it is broken), with the store overrides."""
    from asdrp.agents.agent_factory import AgentFactory

    return AgentFactory(config, session_url=session_url, database_path=None if db is None else str(db))


def error_line(exc: BaseException) -> str:
    """The one stderr line for an error: its message with any line breaks folded."""
    text = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return f"asdrp: error: {text or type(exc).__name__}"


def main() -> None:
    """Console-script entry point: run the app; a user-caused error is one line on stderr, exit 2."""
    try:
        app(prog_name="asdrp")
    except USER_ERRORS as exc:
        print(error_line(exc), file=sys.stderr, flush=True)
        sys.exit(ERROR_EXIT_CODE)
