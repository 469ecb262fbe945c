"""The server's settings, read from `ASDRP_*` environment variables (pydantic-settings).

One object carries everything `create_app` needs, so a test builds an app with its own settings
instead of patching globals. Every field is documented here and in the README's table.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from asdrp.memory.errors import InvalidSessionIdError
from asdrp.memory.ids import validate_caller

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
MAX_WORKERS = 64
"""Most worker processes `asdrp serve` starts: more is a typo, not a deployment."""


class SettingsError(ValueError):
    """A server setting is invalid; the message names the variable and the bad value."""


def parse_api_keys(raw: str | dict[str, str] | None) -> dict[str, str]:
    """`"key1:alice,key2:bob"` -> {"key1": "alice", "key2": "bob"}; errors name the bad entry.

    Keys are never echoed back whole in messages: an operator's log must not leak them.
    """
    if raw is None or raw == "":
        return {}
    if isinstance(raw, dict):
        pairs = list(raw.items())
    else:
        pairs = []
        for position, entry in enumerate(raw.split(","), start=1):
            entry = entry.strip()
            if not entry:
                continue
            key, sep, user = entry.rpartition(":")
            if not sep or not key.strip() or not user.strip():
                raise SettingsError(
                    f"ASDRP_API_KEYS: entry {position} is not of the form key:user "
                    "(expected e.g. ASDRP_API_KEYS=\"key1:alice,key2:bob\")"
                )
            pairs.append((key.strip(), user.strip()))
    keys: dict[str, str] = {}
    for key, user in pairs:
        try:
            validate_caller(user)
        except InvalidSessionIdError as exc:
            raise SettingsError(f"ASDRP_API_KEYS: {exc}") from None
        if key in keys:
            raise SettingsError(f"ASDRP_API_KEYS: the key for user {user!r} is listed twice")
        keys[key] = user
    return keys


class ServerSettings(BaseSettings):
    """Settings of `asdrp serve` / `create_app`, each read from `ASDRP_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="ASDRP_", extra="ignore", validate_default=True)

    host: str = "127.0.0.1"
    """Interface to bind. Local mode (no API keys) refuses a non-loopback host unless allow_remote."""
    port: int = Field(8000, ge=0, le=65535)
    """TCP port to listen on (0 = any free port)."""
    config: Path | None = None
    """Agents YAML (default: config/open_agents.yaml under ASDRP_HOME, else the packaged one)."""
    moe_config: Path | None = None
    """MoE orchestrator YAML (default: config/moe.yaml beside the agents config)."""
    smartrouter_config: Path | None = None
    """SmartRouter YAML (default: config/smartrouter.yaml beside the agents config)."""
    session_url: str | None = None
    """postgresql://... or redis://...: every agent and orchestrator keeps sessions there (replicas)."""
    api_keys: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    """"key1:alice,key2:bob": X-API-Key values mapped to users. Empty = local mode (one user)."""
    allow_remote: bool = False
    """Allow a non-loopback host in local mode (anyone who can reach the port is the local user)."""
    max_input_chars: int = Field(20_000, ge=1)
    """Longest accepted chat input, in characters (longer -> 413)."""
    busy: Literal["wait", "refuse"] = "wait"
    """A turn on a conversation that is already answering: wait for it (serialize) or refuse with 409."""
    shutdown_deadline_s: float = Field(30.0, ge=0)
    """On SIGTERM, how long in-flight turns may run before the server closes anyway."""
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Comma-separated browser origins allowed to call the API from other sites (default none)."""
    retention_sweep_s: float = Field(3600.0, ge=0)
    """Every this many seconds, apply the agents' retention (max_age / max_items) to their stores; 0 = never."""
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    """uvicorn log level."""
    workers: int = Field(1, ge=1, le=MAX_WORKERS)
    """`asdrp serve`: how many uvicorn worker processes serve this app on one port (each reads these settings)."""
    max_body_bytes: int = Field(1_048_576, ge=1)
    """Largest request body accepted, in bytes; refused (413) before it is read, declared or chunked."""
    header_timeout_s: float = Field(10.0, gt=0)
    """`asdrp serve`: a connection whose request line and headers take longer than this is closed."""
    body_timeout_s: float = Field(30.0, gt=0)
    """A request body that takes longer than this to arrive whole is refused (408) and its connection closed."""
    max_connections: int = Field(1000, ge=1)
    """`asdrp serve`: open connections (per worker) beyond this are answered 503 at once."""
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Comma-separated extra Host header values accepted in local mode (loopback names always are; * = any)."""
    public_metrics: bool = False
    """Serve /metrics without an API key even when keys are configured (for a scraper on a private network)."""
    idempotency_ttl_s: float = Field(86_400.0, gt=0)
    """How long a turn's Idempotency-Key is remembered: a retry within it replays the first answer."""

    @field_validator("api_keys", mode="before")
    @classmethod
    def _parse_keys(cls, value: object) -> dict[str, str]:
        if value is None or isinstance(value, (str, dict)):
            return parse_api_keys(value)  # type: ignore[arg-type]
        raise SettingsError("ASDRP_API_KEYS must be a string like \"key1:alice,key2:bob\"")

    @field_validator("cors_origins", "allowed_hosts", mode="before")
    @classmethod
    def _parse_origins(cls, value: object) -> list[str]:
        if value is None or value == "":
            return []
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return list(value)  # type: ignore[arg-type]

    @property
    def local_mode(self) -> bool:
        """True when no API keys are configured: every request is the one local user."""
        return not self.api_keys

    def check_bind(self) -> None:
        """Refuse to expose an unauthenticated server beyond this machine unless told to."""
        if self.local_mode and not self.allow_remote and not is_loopback(self.host):
            raise SettingsError(
                f"Refusing to bind {self.host!r} in local mode (no ASDRP_API_KEYS): anyone who can "
                "reach it would be the local user. Set ASDRP_API_KEYS, bind 127.0.0.1, or set "
                "ASDRP_ALLOW_REMOTE=true."
            )


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost."""
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
