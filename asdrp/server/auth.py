"""Who is calling: the `X-API-Key` header mapped to a user, or the local user when no keys exist.

Every conversation is keyed by `(user, session_id)`, so this dependency is the whole of ownership:
a user can only ever name their own conversations.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from asdrp.memory.ids import DEFAULT_USER
from asdrp.server.errors import ApiError

API_KEY_HEADER = "X-API-Key"

api_key_scheme = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, description="API key mapped to a user by ASDRP_API_KEYS."
)

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="The same API key as `Authorization: Bearer <key>`, as OpenAI's clients send it (`/v1`).",
)


class ApiKeyAuthenticator:
    """Resolves an API key to its user in constant time per configured key."""

    def __init__(self, keys: dict[str, str]) -> None:
        self._keys = [(key.encode(), user) for key, user in keys.items()]

    @property
    def local_mode(self) -> bool:
        return not self._keys

    def user_for(self, presented: str | None) -> str:
        """The user owning `presented`; the local user in local mode; ApiError 401 otherwise."""
        if self.local_mode:
            return DEFAULT_USER
        if not presented:
            raise ApiError(401, "missing_api_key", f"Missing API key: send it in the {API_KEY_HEADER} header.")
        candidate = presented.encode()
        found = None
        for key, user in self._keys:  # compare against every key so timing does not reveal which matched
            if hmac.compare_digest(key, candidate):
                found = user
        if found is None:
            raise ApiError(401, "invalid_api_key", f"Unknown API key in the {API_KEY_HEADER} header.")
        return found


def presented_key(api_key: str | None, bearer: HTTPAuthorizationCredentials | None) -> str | None:
    """The key a request presents: `X-API-Key`, else the `Authorization: Bearer` token (one key, two headers)."""
    if api_key:
        return api_key
    return bearer.credentials if bearer is not None else None


def key_in_headers(headers: Mapping[str, str]) -> str | None:
    """`presented_key` of raw lowercased headers, for code that runs before FastAPI's dependencies (the
    request guard checks the key before reading a body); parsed as `HTTPBearer` parses it."""
    scheme, token = get_authorization_scheme_param(headers.get("authorization"))
    bearer = HTTPAuthorizationCredentials(scheme=scheme, credentials=token) if scheme.lower() == "bearer" else None
    return presented_key(headers.get(API_KEY_HEADER.lower()), bearer if token else None)


async def current_user(
    request: Request,
    api_key: str | None = Security(api_key_scheme),
    bearer: HTTPAuthorizationCredentials | None = Security(bearer_scheme),
) -> str:
    """FastAPI dependency: the user the request acts for."""
    authenticator: ApiKeyAuthenticator = request.app.state.services.authenticator
    return authenticator.user_for(presented_key(api_key, bearer))


def document_auth(app: FastAPI, local_mode: bool) -> None:
    """Make `app`'s OpenAPI schema state the authentication the server applies.

    Every operation declares the key schemes through `current_user`. In local mode no key is
    asked for, so the schema drops them: a client generated from it, or a checker such as
    schemathesis's ignored-auth, would otherwise expect a 401 that never comes.
    """
    if not local_mode:
        return
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()  # FastAPI caches it in app.openapi_schema: this runs once
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    if isinstance(operation, dict):
                        operation.pop("security", None)
            schema.get("components", {}).pop("securitySchemes", None)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the schema
