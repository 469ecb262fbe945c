"""The `asdrp` console script (`asdrp = "asdrp.cli:main"`): one module per command group.

`app` holds the typer app, the shared options and the one error path; importing the command
modules registers their commands on it, in the order `asdrp --help` lists them.
"""

from asdrp.cli import agents, chat, serve, sessions  # noqa: F401  (registers the commands on `app`)
from asdrp.cli.app import app, main

__all__ = ["app", "main"]
