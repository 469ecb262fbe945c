"""`asdrp serve`: the HTTP API and the web chat page under uvicorn, in one or several worker processes.

uvicorn starts every worker from the app factory's import string, and each worker builds its app
from `ServerSettings()`, that is from `ASDRP_*` environment variables: so the options given here are
validated once in this process, handed to the workers as those variables, and the settings, the
bind check and the agents YAML are checked before any worker starts. A broken YAML is then one line
from this process, not a traceback in every worker that uvicorn would keep restarting.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from asdrp.cli.app import CliError, ConfigOption, SessionUrlOption, app

if TYPE_CHECKING:
    from types import FrameType

    from asdrp.server import ServerSettings

APP_FACTORY = "asdrp.server.app:create_app"
"""What uvicorn imports and calls (factory=True) in each worker: `create_app()` reads the environment."""


@app.command("serve")
def serve(
    host: Annotated[
        str | None, typer.Option("--host", help="Interface to bind [env ASDRP_HOST, default 127.0.0.1].")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", "-p", help="Port [env ASDRP_PORT, default 8000].")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", "-w", help="Worker processes serving the same port, 1-64 [env ASDRP_WORKERS, default 1]."
        ),
    ] = None,
    config: ConfigOption = None,
    session_url: SessionUrlOption = None,
) -> None:
    """Run the HTTP API and the web chat page (http://HOST:PORT/) under uvicorn."""
    import uvicorn

    from asdrp.server import create_app
    from asdrp.server.http_protocol import HTTP_PROTOCOL

    given: dict[str, Any] = {
        name: value
        for name, value in {
            "host": host, "port": port, "workers": workers,
            "config": None if config is None else config.resolve(), "session_url": session_url,
        }.items()
        if value is not None
    }
    settings = read_settings(given)
    settings.check_bind()
    # load and check the agents YAML and every store once, here; the workers build their own app
    asyncio.run(_check_stores(create_app(settings)))
    for name, value in given.items():
        os.environ[f"ASDRP_{name.upper()}"] = str(value)
    print(banner(settings), file=sys.stderr, flush=True)
    # uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown; a shutdown that finished
    # in-flight turns and closed the stores is a clean exit (status 0), not a kill.
    previous = {sig: signal.signal(sig, _exit_cleanly) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            log_level=settings.log_level,
            timeout_graceful_shutdown=int(settings.shutdown_deadline_s) or None,
            lifespan="on",
            http=HTTP_PROTOCOL,
            limit_concurrency=settings.max_connections,
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


async def _check_stores(app: Any) -> None:
    """Open every store the server will use, then close them (a bad one is one line, not 500s)."""
    services = app.state.services
    try:
        await services.check_stores()
    finally:
        await services.aclose()


def read_settings(given: dict[str, Any]) -> ServerSettings:
    """The server settings: the environment, overridden by `given`; a bad value is a CliError naming its source."""
    from pydantic import ValidationError

    from asdrp.server import ServerSettings

    try:
        return ServerSettings(**given)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first.get("loc") else ""
        where = f"--{name.replace('_', '-')}" if name in given else f"ASDRP_{name.upper()}"
        message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        if first.get("type") != "value_error" and name != "api_keys":  # never echo an API key
            message += f" (got {first.get('input')!r})"
        raise CliError(message if message.startswith(where) else f"{where}: {message}") from None


def banner(settings: ServerSettings) -> str:
    """The one start-up line: where the server listens and whether callers need an API key."""
    url = f"http://{settings.host}:{settings.port}/"
    processes = f" with {settings.workers} worker processes" if settings.workers > 1 else ""
    if settings.local_mode:
        return (
            f"asdrp: local mode (no ASDRP_API_KEYS): every request is the local user; serving "
            f"{url} on {settings.host} only{processes}"
        )
    return f"asdrp: serving {url} (API keys required){processes}"


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)

