"""`asdrp chat AGENT`: a REPL on one conversation, in this process or against `asdrp serve --server URL`.

Both ways print the session id before the first prompt and answer each line until EOF or `/exit`;
the same `--session` continues the conversation later. Remotely, a new conversation's id is made
here (any valid id starts a conversation on the server) so it can be shown first, and it is sent
on every line, which is what any API client is expected to do. Answers are markdown (the MoE merge
bolds each expert's name): they are rendered with rich, never printed as raw `**...**`.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markdown import Markdown

from asdrp.cli.app import CliError, ConfigOption, DbOption, SessionUrlOption, app, open_factory
from asdrp.memory import DEFAULT_USER, new_session_id, validate_session_id

if TYPE_CHECKING:
    import httpx

    from asdrp.agents.agent_factory import AgentFactory


@app.command("chat")
def chat(
    agent: Annotated[str, typer.Argument(help="Agent or orchestrator id (see `asdrp agents`).")],
    session: Annotated[
        str | None, typer.Option("--session", "-s", help="Session id to start or continue (default: a new one).")
    ] = None,
    db: DbOption = None,
    session_url: SessionUrlOption = None,
    server: Annotated[
        str | None, typer.Option("--server", help="URL of a running `asdrp serve` to talk to instead of in-process.")
    ] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", envvar="ASDRP_API_KEY", help="X-API-Key for --server.")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Chat in a REPL: prints the session id, then answers each line until EOF or /exit."""
    if session is not None:
        validate_session_id(session)
    if server:
        if db is not None or session_url is not None:
            raise CliError("--db and --session-url are for in-process chat; with --server the server keeps the history")
        chat_remote(server, agent, session, api_key)
        return
    asyncio.run(chat_in_process(agent, session, open_factory(config, db, session_url)))


async def chat_in_process(agent: str, session: str | None, factory: AgentFactory) -> None:
    """The REPL over the catalog of `factory`; the factory and catalog are closed on the way out."""
    from asdrp.orchestration.catalog import ResponderCatalog

    catalog = ResponderCatalog(factory)
    try:
        responder = catalog.get(agent)
        session_id = session or new_session_id()
        _announce(session_id, responder.agent_id)
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, read_line)
            if line is None or line.strip() == "/exit":
                break
            if not line.strip():
                continue
            result = await responder.route_query(line.strip(), session_id=session_id, user=DEFAULT_USER)
            print_answer(result.agent_id, result.answer)
    finally:
        try:
            await catalog.aclose()
        finally:
            await factory.aclose()


def chat_remote(server: str, agent: str, session_id: str | None, api_key: str | None) -> None:
    """The REPL against `server` over `POST /agents/{agent}/chat`; a refusal or no answer is a CliError."""
    import httpx

    headers = {"X-API-Key": api_key} if api_key else {}
    url = f"{server.rstrip('/')}/agents/{agent}/chat"
    session_id = session_id or new_session_id()
    with httpx.Client(headers=headers, timeout=120.0) as client:
        # Ask for the agent first: an unknown agent, a wrong key or a server that is down is then
        # reported before the session line and the first prompt, not after the user typed a message.
        _checked(client, "GET", f"{server.rstrip('/')}/agents/{agent}", server)
        _announce(session_id, f"{agent} at {server}")
        while (line := read_line()) is not None and line.strip() != "/exit":
            if not line.strip():
                continue
            body = _checked(client, "POST", url, server, json={"input": line.strip(), "session_id": session_id}).json()
            session_id = body["metadata"]["session_id"]
            print_answer(body["metadata"].get("agent_id", agent), body["response"])


def _checked(client: httpx.Client, method: str, url: str, server: str, **kwargs: object) -> httpx.Response:
    """The response of one request; no connection or an error status is a CliError naming it."""
    import httpx

    try:
        response = client.request(method, url, **kwargs)  # type: ignore[arg-type]
    except httpx.HTTPError as exc:
        raise CliError(f"cannot reach {server}: {exc}") from None
    if response.status_code >= 400:
        raise CliError(f"{response.status_code}: {_detail(response)}")
    return response


def _announce(session_id: str, where: str) -> None:
    print(f"session: {session_id}  (agent: {where}; /exit to quit)", flush=True)


def print_answer(who: str, answer: str, console: Console | None = None) -> None:
    """`who> ` and the answer rendered as markdown; continuation lines are indented under the answer.

    On a terminal the markdown is styled and wrapped to the window; piped, it is plain text with no
    markup and one line per paragraph, so a script (or a test) reads whole sentences.
    """
    console = console or Console(highlight=False)
    prefix = f"{who}> "
    terminal = console.is_terminal
    width = max((console.width if terminal else 100_000) - len(prefix), 20)
    painter = Console(
        width=width, force_terminal=terminal, color_system=console.color_system if terminal else None,
        no_color=console.no_color or not terminal, highlight=False,
    )
    with painter.capture() as captured:
        painter.print(Markdown(answer))
    lines = [line.rstrip() for line in captured.get().splitlines()]
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    head = f"\x1b[1m{prefix}\x1b[0m" if terminal and not console.no_color else prefix
    out = [head + (lines[0] if lines else "")]
    out += [(" " * len(prefix) + line) if line.strip() else "" for line in lines[1:]]
    console.file.write("\n".join(out) + "\n")
    console.file.flush()


def _detail(response: httpx.Response) -> str:
    """The `detail` of an error body, or the raw text when the body is not our JSON."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    return str(detail) if detail is not None else response.text


def read_line() -> str | None:
    """One line from stdin with a prompt on a terminal; None at EOF."""
    try:
        return input("you> " if sys.stdin.isatty() else "")
    except EOFError:
        return None

