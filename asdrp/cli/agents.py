"""`asdrp agents`: what can be chatted with, and where each one keeps its conversations.

The table is the catalog's own description (the same one `GET /agents` serves), so the CLI never
has its own idea of which agents exist or how their memory is configured.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from rich.table import Table

from asdrp.cli.app import ConfigOption, app, console, open_factory


@app.command("agents")
def list_agents(config: ConfigOption = None) -> None:
    """List the configured agents and orchestrators with their session memory settings."""
    from asdrp.orchestration.catalog import ResponderCatalog

    factory = open_factory(config)

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
    for entry in asyncio.run(describe()):
        table.add_row(
            entry["id"], entry.get("display_name", ""), entry.get("kind", ""),
            _memory_text(entry.get("session_memory") or {}), _context_text(entry.get("session_memory") or {}),
            ", ".join(entry.get("tools", [])),
        )
    console.print(table)


def _memory_text(memory: dict[str, Any]) -> str:
    """"sqlite (data/sessions/agents.db)", "postgres (postgresql://...)", or "none (stateless)"."""
    if memory.get("enabled") and memory.get("type") != "none":
        where = _display_path(memory.get("database_path")) or memory.get("url") or "in memory"
        return f"{memory.get('type')} ({where})"
    return "none (stateless)"


def _context_text(memory: dict[str, Any]) -> str:
    return f"{memory.get('context_items', '-')} items" if memory.get("enabled") else "-"


def _display_path(path: str | None) -> str | None:
    """A store path as the user wrote it in the YAML: relative to ASDRP_HOME when inside it."""
    if not path:
        return None
    from asdrp.memory import home_dir

    try:
        return str(Path(path).resolve().relative_to(home_dir().resolve()))
    except ValueError:
        return path
