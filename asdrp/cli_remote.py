"""`asdrp chat --server URL`: the same REPL as in-process chat, over the HTTP contract.

The server generates a session id when none is given; the REPL prints it and sends it back on
every later line, which is exactly what any client of the API is expected to do.
"""

from __future__ import annotations

import sys

import httpx


def chat_remote(server: str, agent: str, session_id: str | None, api_key: str | None) -> None:
    """Run the REPL against `server`; exits 2 with one line on stderr when the server refuses."""
    import typer

    headers = {"X-API-Key": api_key} if api_key else {}
    url = f"{server.rstrip('/')}/agents/{agent}/chat"
    with httpx.Client(headers=headers, timeout=120.0) as client:
        announced = False
        if session_id:
            print(f"session: {session_id}  (agent: {agent} at {server}; /exit to quit)", flush=True)
            announced = True
        while True:
            try:
                line = input("you> " if sys.stdin.isatty() else "")
            except EOFError:
                break
            if line.strip() == "/exit":
                break
            if not line.strip():
                continue
            try:
                response = client.post(url, json={"input": line.strip(), "session_id": session_id})
            except httpx.HTTPError as exc:
                print(f"asdrp: error: cannot reach {server}: {exc}", file=sys.stderr)
                raise typer.Exit(2) from None
            if response.status_code >= 400:
                try:
                    detail = response.json().get("detail", response.text)
                except ValueError:
                    detail = response.text
                print(f"asdrp: error: {response.status_code}: {detail}", file=sys.stderr)
                raise typer.Exit(2)
            body = response.json()
            session_id = body["metadata"]["session_id"]
            if not announced:
                print(f"session: {session_id}  (agent: {agent} at {server}; /exit to quit)", flush=True)
                announced = True
            print(f"{body['metadata'].get('agent_id', agent)}> {body['response']}", flush=True)
