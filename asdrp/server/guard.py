"""What a request must pass before the app reads a byte of its body: Host, interface, API key, size, time.

FastAPI parses a body before any dependency runs, so a route's `current_user` alone would let an
unauthenticated client make the server read and parse 100 MB. This ASGI middleware runs first:
in local mode it refuses a request that reached a non-loopback interface (however the app was
started: `asdrp serve`, `uvicorn --factory`, gunicorn) or that names a Host the user did not
configure (DNS rebinding: a web page whose name now resolves to 127.0.0.1); in key mode it
refuses a body-carrying request without a valid key unread; then it reads the body itself, up to
`max_body_bytes` and within `body_timeout_s`, whether declared by Content-Length or chunked, and
hands the app the buffered body. Memory per request is therefore bounded by the limit.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from asdrp.server.auth import ApiKeyAuthenticator, key_in_headers
from asdrp.server.errors import ApiError, record_error
from asdrp.server.settings import ServerSettings, is_loopback

log = logging.getLogger("asdrp.server")

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class GuardRejection(Exception):
    """A request refused before the app saw it: status, stable code, readable detail."""

    def __init__(self, status: int, error_code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.error_code = error_code
        self.detail = detail


def host_name(host_header: str) -> str:
    """The name part of a Host header: `[::1]:8000` -> `::1`, `localhost:80` -> `localhost`."""
    value = host_header.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


def host_allowed(settings: ServerSettings, host_header: str | None) -> bool:
    """Whether a local-mode server answers a request naming `host_header`.

    Loopback names always; the configured `allowed_hosts` (`*` = any); and, when the operator let
    remote clients in (allow_remote), any IP address: rebinding needs a DNS name the attacker
    controls, and a page can only send a literal IP as Host if it was loaded from that address.
    A request without a Host header (HTTP/1.0 tools) cannot be a browser's, so it passes.
    """
    if host_header is None:
        return True
    name = host_name(host_header)
    allowed = {host_name(entry) for entry in settings.allowed_hosts}
    if "*" in allowed or name in allowed or is_loopback(name):
        return True
    return settings.allow_remote and _is_ip(name)


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class RequestGuardMiddleware:
    """The checks above, as the outermost layer of the app (inside CORS, so refusals carry its headers)."""

    def __init__(self, app: ASGIApp, settings: ServerSettings, authenticator: ApiKeyAuthenticator) -> None:
        self.app = app
        self.settings = settings
        self.authenticator = authenticator
        self._warned_interface = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            headers = _headers(scope)
            self._check_origin(scope, headers)
            if not _has_body(scope, headers):
                await self.app(scope, receive, send)
                return
            self._check_key(headers)
            declared = _declared_length(headers)
            if declared is not None and declared > self.settings.max_body_bytes:
                raise self._too_large(f"declares {declared} bytes")
            body = await self._read_body(receive)
        except GuardRejection as rejection:
            record_error(scope.get("app"), rejection.error_code)
            await _reject(scope, send, rejection)
            return
        await self.app(scope, _replay(body, receive), send)

    def _check_origin(self, scope: Scope, headers: dict[str, str]) -> None:
        if not self.settings.local_mode:
            return
        server = scope.get("server")
        if not self.settings.allow_remote and server and _is_remote_interface(str(server[0])):
            if not self._warned_interface:
                self._warned_interface = True
                log.error(
                    "asdrp: local mode (no ASDRP_API_KEYS) reached on %s: refusing requests not made to a loopback "
                    "address; set ASDRP_API_KEYS, bind 127.0.0.1, or set ASDRP_ALLOW_REMOTE=true",
                    server[0],
                )
            raise GuardRejection(
                403,
                "local_mode_remote_interface",
                "This server runs in local mode (no API keys) and only answers on a loopback address.",
            )
        if not host_allowed(self.settings, headers.get("host")):
            raise GuardRejection(
                403,
                "host_not_allowed",
                "Host header not accepted in local mode: use 127.0.0.1 or localhost, or add it to ASDRP_ALLOWED_HOSTS.",
            )

    def _check_key(self, headers: dict[str, str]) -> None:
        """In key mode a body is worth reading only for a known caller (X-API-Key, or Bearer for /v1)."""
        if self.authenticator.local_mode:
            return
        try:
            self.authenticator.user_for(key_in_headers(headers))
        except ApiError as exc:
            raise GuardRejection(exc.status, exc.error_code, exc.detail) from None

    def _too_large(self, what: str) -> GuardRejection:
        return GuardRejection(
            413,
            "body_too_large",
            f"The request body {what}; the limit is {self.settings.max_body_bytes} bytes (ASDRP_MAX_BODY_BYTES).",
        )

    async def _read_body(self, receive: Receive) -> bytes:
        """The whole body, or a rejection as soon as it exceeds the limit or the deadline."""
        limit = self.settings.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.settings.body_timeout_s):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise GuardRejection(400, "client_disconnected", "The client left before the body arrived.")
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > limit:
                        raise self._too_large(f"exceeds {limit} bytes")
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError:
            raise GuardRejection(
                408,
                "body_timeout",
                f"The request body did not arrive within {self.settings.body_timeout_s:g} s (ASDRP_BODY_TIMEOUT_S).",
            ) from None


def _headers(scope: Scope) -> dict[str, str]:
    """The request headers by lower-case name (the last value wins, which is all these checks need)."""
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers", [])}


def _is_remote_interface(address: str) -> bool:
    """True for a socket address that is not loopback; a name (an in-process test transport) is not a socket."""
    try:
        return not ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _declared_length(headers: dict[str, str]) -> int | None:
    raw = headers.get("content-length")
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise GuardRejection(400, "bad_request", "The Content-Length header is not a number.") from None


def _has_body(scope: Scope, headers: dict[str, str]) -> bool:
    if "transfer-encoding" in headers:
        return True
    length = headers.get("content-length")
    if length is not None:
        return length.strip() != "0"
    return scope.get("method") in _BODY_METHODS


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that yields the buffered body once, then the client's own messages (disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _reject(scope: Scope, send: Send, rejection: GuardRejection) -> None:
    """Answer in the caller's error shape (OpenAI's under /v1) and close: the unread body is discarded."""
    if str(scope.get("path", "")).startswith("/v1/"):
        payload: dict[str, object] = {
            "error": {
                "message": rejection.detail,
                "type": "invalid_request_error",
                "param": None,
                "code": rejection.error_code,
            }
        }
    else:
        payload = {"detail": rejection.detail, "error_code": rejection.error_code}
    body = json.dumps(payload).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": rejection.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
