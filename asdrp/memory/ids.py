"""Rules for session and user ids: one place decides what a valid id is, for every layer.

An id is 1-128 characters of ``A-Z a-z 0-9 _ . : -`` and never contains ``..``; that keeps ids
safe in URLs, file names, Redis keys and log lines alike.
"""

from __future__ import annotations

import re
import uuid

from asdrp.memory.errors import InvalidSessionIdError

DEFAULT_USER = "local"
"""The user of the Python API and of the server in local mode (no API keys configured)."""

MAX_ID_LENGTH = 128
ID_RULE = "1-128 characters of A-Z a-z 0-9 _ . : - and no '..'"
_ID_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
ID_SCHEMA_PATTERN = r"^(?!.*\.\.)[A-Za-z0-9_.:-]{1,128}$"
"""The id rule as one JSON-Schema (ECMA-262) pattern, for API schemas; `_validate` is what enforces it."""
_INVALID_CHARS = re.compile(r"[^A-Za-z0-9_.:-]+")


def describe_value(value: object) -> str:
    """A short repr of a rejected value (a 10 kB id must not flood the error message, or echo it back)."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}...' ({len(value) if isinstance(value, str) else '?'} chars)"


def _validate(value: object, what: str) -> str:
    if not isinstance(value, str) or not _ID_PATTERN.fullmatch(value) or ".." in value:
        raise InvalidSessionIdError(f"Invalid {what} {describe_value(value)}: it must be {ID_RULE}.")
    return value


def validate_session_id(value: object) -> str:
    """Return `value` unchanged if it is a valid session id, else raise InvalidSessionIdError."""
    return _validate(value, "session id")


RESERVED_USER_PREFIX = "_"
"""User ids starting with this are internal namespaces (e.g. the orchestrators' tool memory)."""


def validate_user(value: object) -> str:
    """Return `value` unchanged if it is a valid user id for storage (same rule as session ids)."""
    return _validate(value, "user id")


def validate_caller(value: object) -> str:
    """A user id as a caller may present it: the id rule, and not starting with "_".

    Stores accept internal namespaces such as the orchestrators' "_tools.<user>"; entry points
    (API keys, CLI --user, route_query) use this check so no real user can ever share their keys.
    """
    user = validate_user(value)
    if user.startswith(RESERVED_USER_PREFIX):
        raise InvalidSessionIdError(f"Invalid user id {describe_value(value)}: ids starting with '_' are reserved.")
    return user


def new_session_id() -> str:
    """A fresh, unguessable session id ("s-" + 32 hex digits), valid by the id rule."""
    return f"s-{uuid.uuid4().hex}"


def derive_session_id(agent_name: str) -> str:
    """The deterministic default session id of an agent, e.g. "geo" -> "geo_session".

    Characters outside the id alphabet become "_" so any configured agent name yields a valid id.
    """
    base = _INVALID_CHARS.sub("_", agent_name).replace("..", "_") or "agent"
    return validate_session_id(f"{base[: MAX_ID_LENGTH - len('_session')]}_session")
