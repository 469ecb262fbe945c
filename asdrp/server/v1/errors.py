"""OpenAI's error body for `/v1`: `{"error": {"message", "type", "param", "code"}}`.

The rest of the server answers errors as `{"detail", "error_code"}` (the HTTP contract), and the
guard, the validation handler and the catch-all all build that shape. Rather than teach each of
them a second shape, this middleware rewrites an error response on a `/v1` path on its way out,
so every failure there — whoever raised it — reaches OpenAI's clients in the shape their typed
exceptions (`NotFoundError`, `BadRequestError`, `AuthenticationError`, `ConflictError`) expect.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

V1_PREFIX = "/v1"

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "conflict_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
    503: "service_unavailable_error",
}

_STATUS = {422: 400}
"""OpenAI reports a request it cannot accept as 400, where our own API says 422."""


def openai_error(status: int, message: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    """The OpenAI error body for a status and our error code."""
    kind = _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def is_v1(scope: Scope) -> bool:
    path = str(scope.get("path", ""))
    return path == V1_PREFIX or path.startswith(V1_PREFIX + "/")


class OpenAIErrorMiddleware:
    """Rewrites `/v1` error responses (status >= 400, our JSON shape) into OpenAI's shape and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_v1(scope):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def rewriting_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                if message["status"] < 400:
                    await send(message)
                    return
                start = message  # hold it until the whole error body is known
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            status, body = _rewrite(start["status"], b"".join(chunks))
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() not in (b"content-length",)]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, rewriting_send)


def _rewrite(status: int, body: bytes) -> tuple[int, bytes]:
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        return status, body  # already OpenAI's shape
    if isinstance(payload, dict) and "detail" in payload:
        message = str(payload.get("detail"))
        code = payload.get("error_code")
    else:
        message, code = body.decode("utf-8", "replace") or f"HTTP {status}", None
    new_status = _STATUS.get(status, status)
    return new_status, json.dumps(openai_error(new_status, message, code), ensure_ascii=False).encode()
