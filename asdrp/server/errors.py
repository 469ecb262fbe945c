"""One JSON error shape for every failure: `{"detail": "...", "error_code": "..."}`.

Domain exceptions from the layers below (unknown agent, bad session id, busy conversation, store
down) are mapped here to statuses, so handlers never build error responses by hand and a stack
trace can never reach a client.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from asdrp.agents.protocol import AgentException
from asdrp.memory.errors import (
    InvalidCursorError,
    InvalidSessionIdError,
    SessionBusyError,
    StoreUnavailableError,
)

log = logging.getLogger("asdrp.server")


class ApiError(Exception):
    """An error the API reports as-is: status, stable machine code, and a message naming the problem."""

    def __init__(self, status: int, error_code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.error_code = error_code
        self.detail = detail


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}


MAX_DETAIL_CHARS = 1000
"""Longest error detail sent: messages quote client input only in short excerpts, and this bounds the rest."""


def error_body(detail: str, error_code: str) -> dict[str, str]:
    """The error shape every endpoint returns."""
    if len(detail) > MAX_DETAIL_CHARS:
        detail = detail[: MAX_DETAIL_CHARS - 3] + "..."
    return {"detail": detail, "error_code": error_code}


def shown_path(path: str) -> str:
    """A request path as an error message quotes it: a bounded excerpt, never a client's whole 64 kB URL."""
    return path if len(path) <= 100 else f"{path[:97]}... ({len(path)} chars)"


def error_response(status: int, error_code: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(detail, error_code), status_code=status, headers=headers)


def classify(exc: BaseException) -> ApiError | None:
    """Map a domain exception to the ApiError the client sees (None = unexpected fault)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, AgentException):
        return ApiError(404, "unknown_agent", str(exc))
    if isinstance(exc, InvalidSessionIdError):
        return ApiError(422, "invalid_session_id", str(exc))
    if isinstance(exc, InvalidCursorError):
        return ApiError(422, "invalid_cursor", str(exc))
    if isinstance(exc, SessionBusyError):
        return ApiError(
            409, "session_busy", str(exc) or "This conversation is answering another message; retry when it is done."
        )
    if isinstance(exc, StoreUnavailableError):
        return ApiError(503, "store_unavailable", f"Session store unavailable: {exc}")
    return None


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(part) for part in loc if part not in ("body",)] or ["body"]
    return ".".join(parts)


def describe_validation_error(exc: RequestValidationError) -> tuple[int, str, str]:
    """(status, error_code, readable detail) for a request the schema rejected.

    A body that is not JSON is its own 400 with the parser's reason, because "field required"
    would send the caller looking in the wrong place.
    """
    errors = exc.errors()
    for error in errors:
        if error.get("type") == "json_invalid":
            reason = (error.get("ctx") or {}).get("error", "malformed JSON")
            return 400, "invalid_json", f"Request body is not valid JSON: {reason}."
    messages = []
    for error in errors[:5]:
        where = _location(error.get("loc", ()))
        message = str(error.get("msg", "invalid value"))
        if error.get("type") == "missing":
            message = "field required"
        elif error.get("type") in ("model_attributes_type", "dict_type") and where == "body":
            message = "must be a JSON object like {\"input\": \"...\", \"session_id\": null}"
        messages.append(f"{where}: {message}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return 422, "validation_error", "Invalid request: " + "; ".join(messages) + more + "."


def record_error(app: Any, error_code: str) -> None:
    """Count an error response in the app's metrics (when the app has them)."""
    services = getattr(getattr(app, "state", None), "services", None)
    if services is not None:
        services.metrics.error(error_code)


def allowed_methods(request: Request) -> list[str]:
    """Every method the app serves on this request's path, by its OpenAPI description (one public,
    cached view of all routes, including those of included routers), plus HEAD for GET and OPTIONS."""
    methods = {"OPTIONS"}
    path = request.url.path
    for template, operations in request.app.openapi().get("paths", {}).items():
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            methods.update(method.upper() for method in operations if method.upper() in _HTTP_METHODS)
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


_HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every exception into the one JSON shape."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        record_error(request.app, exc.error_code)
        return error_response(exc.status, exc.error_code, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, code, detail = describe_validation_error(exc)
        record_error(request.app, code)
        return error_response(status, code, detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No such endpoint: {request.method} {shown_path(request.url.path)}"
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            # Starlette's Allow names the methods of the first route matching the path only; a path
            # served by several routes (GET and DELETE /sessions/{id}) allows all of theirs.
            allow = ", ".join(allowed_methods(request))
            if request.method == "OPTIONS":
                return Response(status_code=204, headers={"Allow": allow})
            headers = {**(headers or {}), "Allow": allow}
            detail = f"Method {request.method} is not allowed on {shown_path(request.url.path)}"
        record_error(request.app, code)
        return error_response(exc.status_code, code, detail, headers=headers)

    for kind in (AgentException, InvalidSessionIdError, InvalidCursorError, SessionBusyError, StoreUnavailableError):

        @app.exception_handler(kind)
        async def _domain(request: Request, exc: Exception) -> JSONResponse:
            mapped = classify(exc)
            assert mapped is not None
            record_error(request.app, mapped.error_code)
            return error_response(mapped.status, mapped.error_code, mapped.detail)

    app.add_middleware(CatchAllMiddleware)


class CatchAllMiddleware:
    """Turns an unexpected exception into a 500 in the error shape, logged with an id, no traceback.

    Starlette's own `Exception` handler re-raises after responding (so test clients see the
    exception); this middleware sits inside it and ends the request cleanly instead.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:  # the last line of defence: nothing below may leak a traceback
            mapped = classify(exc)
            if started:
                log.exception("error after the response started on %s", scope.get("path"))
                return
            if mapped is None:
                incident = uuid.uuid4().hex[:12]
                log.exception("unexpected error %s on %s %s", incident, scope.get("method"), scope.get("path"))
                mapped = ApiError(
                    500, "internal_error", f"Internal server error (incident {incident}); it has been logged."
                )
            record_error(scope.get("app"), mapped.error_code)
            response = error_response(mapped.status, mapped.error_code, mapped.detail)
            await response(scope, receive, send)
