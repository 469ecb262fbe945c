"""Reads `config/open_agents.yaml` into typed, validated agent configurations.

Every problem in the file is reported as one `ConfigError` that names the file, the agent and the
key, because a misconfigured agent discovered at request time is far more expensive to debug.
Session memory settings fall back key by key: agent block -> `defaults.session_memory` -> the
dataclass defaults below (the spec's).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from asdrp.memory.errors import InvalidSessionIdError
from asdrp.memory.ids import describe_value, validate_session_id
from asdrp.memory.paths import home_dir
from asdrp.memory.retention import parse_duration

CONFIG_ENV_VAR = "ASDRP_CONFIG"
"""Environment variable naming the agents YAML used when no path is given."""

DEFAULT_CONFIG_RELATIVE = Path("config") / "open_agents.yaml"

SESSION_TYPES = ("sqlite", "none", "postgres", "redis")


class ConfigError(ValueError):
    """The agents configuration file is unreadable or invalid; the message says where and why."""


@dataclass
class SessionMemoryConfig:
    """Configuration for agent session memory."""

    type: str = "sqlite"  # "sqlite", "postgres", "redis" or "none"
    session_id: str | None = None  # null = auto-generated
    database_path: str | None = None  # null = in-memory
    enabled: bool = True
    url: str | None = None
    """Database URL for the shared stores (`postgresql://...`, `redis://...`)."""
    context_items: int = 50
    """How many recent items the model sees at most (cut on turn boundaries)."""
    context_tokens: int | None = None
    """Estimated token budget of the model's window; null = no token limit."""
    max_age: float | None = None
    """Retention: seconds after its last update a conversation is deleted (YAML: 3600, "12h", "30d"); null = keep."""
    max_items: int | None = None
    """Retention: items kept per conversation (oldest whole turns dropped first); null = keep all."""
    recall_items: int = 6
    """Items recalled from the whole conversation for each message, beyond the window; 0 = off."""
    recall_tokens: int = 1000
    """Estimated token budget of those recalled items."""

    @property
    def is_active(self) -> bool:
        """True when this agent keeps history at all."""
        return self.enabled and self.type != "none"


@dataclass
class ModelConfig:
    """Which LLM an agent asks, and with which sampling settings (the offline model ignores them)."""

    name: str = "gpt-4.1-mini"
    temperature: float = 0.7
    max_tokens: int = 2000


@dataclass
class AgentConfig:
    """One agent entry of the YAML file, validated and with defaults applied."""

    name: str
    display_name: str
    module: str
    function: str
    default_instructions: str
    description: str = ""
    model: ModelConfig = field(default_factory=ModelConfig)
    session_memory: SessionMemoryConfig = field(default_factory=SessionMemoryConfig)
    enabled: bool = True


def default_config_path() -> Path:
    """`$ASDRP_CONFIG`, else `config/open_agents.yaml` under ASDRP_HOME / the current directory,
    else the copy in the source checkout this package was installed from."""
    env = os.environ.get(CONFIG_ENV_VAR)
    if env:
        return Path(env)
    local = home_dir() / DEFAULT_CONFIG_RELATIVE
    if local.exists():
        return local
    return Path(__file__).resolve().parents[2] / DEFAULT_CONFIG_RELATIVE


_AGENT_KEYS = {f.name for f in fields(AgentConfig)} - {"name"}
_REQUIRED_AGENT_KEYS = ("module", "function")


class _Checker:
    """Validates raw YAML values, raising ConfigError with file/agent/key in the message."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, message: str) -> ConfigError:
        return ConfigError(f"{self.path}: {where}: {message}")

    def typed(self, where: str, value: Any, kind: type | tuple[type, ...], optional: bool = False) -> Any:
        if value is None and optional:
            return None
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # bool is an int subclass; a YAML `yes` must not pass as a number, nor 1 as a boolean
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if not ok:
            names = " or ".join(k.__name__ for k in kinds) + (" or null" if optional else "")
            raise self.fail(where, f"expected {names}, got {type(value).__name__} {value!r}")
        return value

    def mapping(self, where: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a mapping, got {type(value).__name__}")
        return value

    def no_unknown_keys(self, where: str, raw: dict[str, Any], known: set[str]) -> None:
        unknown = sorted(set(raw) - known)
        if unknown:
            raise self.fail(where, f"unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(known))}")


def _session_memory(check: _Checker, where: str, raw: Any, base: SessionMemoryConfig) -> SessionMemoryConfig:
    raw = check.mapping(where, raw)
    check.no_unknown_keys(where, raw, {f.name for f in fields(SessionMemoryConfig)})
    values = {f.name: getattr(base, f.name) for f in fields(SessionMemoryConfig)}
    if "type" in raw:
        kind = check.typed(f"{where}.type", raw["type"], str)
        if kind not in SESSION_TYPES:
            raise check.fail(f"{where}.type", f"unknown session type {kind!r}; valid types: {', '.join(SESSION_TYPES)}")
        values["type"] = kind
    for key in ("session_id", "database_path", "url"):
        if key in raw:
            values[key] = check.typed(f"{where}.{key}", raw[key], str, optional=True)
    if "enabled" in raw:
        values["enabled"] = check.typed(f"{where}.enabled", raw["enabled"], bool)
    if "context_items" in raw:
        items = check.typed(f"{where}.context_items", raw["context_items"], int)
        if items < 1:
            raise check.fail(f"{where}.context_items", f"must be at least 1, got {items}")
        values["context_items"] = items
    if "context_tokens" in raw:
        tokens = check.typed(f"{where}.context_tokens", raw["context_tokens"], int, optional=True)
        if tokens is not None and tokens < 1:
            raise check.fail(f"{where}.context_tokens", f"must be at least 1 or null, got {tokens}")
        values["context_tokens"] = tokens
    for key, minimum in (("recall_items", 0), ("recall_tokens", 1)):
        if key in raw:
            count = check.typed(f"{where}.{key}", raw[key], int)
            if count < minimum:
                raise check.fail(f"{where}.{key}", f"must be at least {minimum}, got {count}")
            values[key] = count
    if "max_age" in raw:
        values["max_age"] = _duration(check, f"{where}.max_age", raw["max_age"])
    if "max_items" in raw:
        kept = check.typed(f"{where}.max_items", raw["max_items"], int, optional=True)
        if kept is not None and kept < 1:
            raise check.fail(f"{where}.max_items", f"must be at least 1 or null, got {kept}")
        values["max_items"] = kept
    config = SessionMemoryConfig(**values)
    if config.session_id is not None:
        try:
            validate_session_id(config.session_id)
        except InvalidSessionIdError as exc:
            raise check.fail(f"{where}.session_id", str(exc)) from None
    if config.is_active and config.type in ("postgres", "redis") and not config.url:
        raise check.fail(f"{where}.url", f"session type {config.type!r} needs a url")
    return config


def _duration(check: _Checker, where: str, value: Any) -> float | None:
    """Seconds from a number or a string like "90s", "15m", "12h", "30d", "2w"; null = no limit.

    The rule is `asdrp.memory.retention.parse_duration` (also `asdrp sessions prune --max-age`); its
    ValueError becomes a ConfigError naming the file, the agent and the key.
    """
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise check.fail(where, str(exc)) from None


def _model(check: _Checker, where: str, raw: Any, base: ModelConfig) -> ModelConfig:
    raw = check.mapping(where, raw)
    check.no_unknown_keys(where, raw, {f.name for f in fields(ModelConfig)})
    name = check.typed(f"{where}.name", raw.get("name", base.name), str)
    temperature = float(check.typed(f"{where}.temperature", raw.get("temperature", base.temperature), (int, float)))
    if not 0.0 <= temperature <= 2.0:
        raise check.fail(f"{where}.temperature", f"must be between 0 and 2, got {temperature}")
    max_tokens = check.typed(f"{where}.max_tokens", raw.get("max_tokens", base.max_tokens), int)
    if max_tokens < 1:
        raise check.fail(f"{where}.max_tokens", f"must be positive, got {max_tokens}")
    return ModelConfig(name=name, temperature=temperature, max_tokens=max_tokens)


def _check_importable(check: _Checker, where: str, module: str, function: str) -> None:
    try:
        loaded = importlib.import_module(module)
    except ImportError as exc:
        raise check.fail(f"{where}.module", f"cannot import module {module!r}: {exc}") from None
    if not callable(getattr(loaded, function, None)):
        raise check.fail(f"{where}.function", f"module {module!r} has no function {function!r}")


class AgentConfigLoader:
    """Loads and validates the agents YAML once; answers lookups by (case-insensitive) agent name."""

    def __init__(self, config_path: str | Path | None = None) -> None:
        self.config_path = Path(config_path) if config_path is not None else default_config_path()
        self._agents, self.default_session_memory = self._load()

    def _load(self) -> tuple[dict[str, AgentConfig], SessionMemoryConfig]:
        check = _Checker(self.config_path)
        try:
            text = self.config_path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{self.config_path}: cannot read agents configuration: {exc.strerror or exc}") from None
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise ConfigError(f"{self.config_path}: malformed YAML: {line}{problem}") from None
        root = check.mapping("top level", raw if raw is not None else {})
        check.no_unknown_keys("top level", root, {"agents", "defaults"})

        defaults_raw = check.mapping("defaults", root.get("defaults") or {})
        check.no_unknown_keys("defaults", defaults_raw, {"session_memory", "model"})
        default_memory = _session_memory(
            check, "defaults.session_memory", defaults_raw.get("session_memory") or {}, SessionMemoryConfig()
        )
        default_model = _model(check, "defaults.model", defaults_raw.get("model") or {}, ModelConfig())

        agents_raw = check.mapping("agents", root.get("agents"))
        if not agents_raw:
            raise check.fail("agents", "no agents are defined")
        agents: dict[str, AgentConfig] = {}
        for raw_name, entry in agents_raw.items():
            if not isinstance(raw_name, str):
                raise check.fail(
                    f"agent {raw_name!r}",
                    "agent names must be strings (YAML reads yes/no/on/off as booleans: quote the name)",
                )
            name = raw_name.lower()
            where = f"agent {raw_name!r}"
            entry = check.mapping(where, entry)
            check.no_unknown_keys(where, entry, _AGENT_KEYS)
            for key in _REQUIRED_AGENT_KEYS:
                if key not in entry:
                    raise check.fail(f"{where}.{key}", "is required")
            module = check.typed(f"{where}.module", entry["module"], str)
            function = check.typed(f"{where}.function", entry["function"], str)
            _check_importable(check, where, module, function)
            if name in agents:
                raise check.fail(where, "is defined twice (agent names are case-insensitive)")
            agents[name] = AgentConfig(
                name=name,
                display_name=check.typed(f"{where}.display_name", entry.get("display_name", raw_name), str),
                module=module,
                function=function,
                default_instructions=check.typed(
                    f"{where}.default_instructions", entry.get("default_instructions", ""), str
                ).strip(),
                description=check.typed(f"{where}.description", entry.get("description", ""), str).strip(),
                model=_model(check, f"{where}.model", entry.get("model") or {}, default_model),
                session_memory=_session_memory(
                    check, f"{where}.session_memory", entry.get("session_memory") or {}, default_memory
                ),
                enabled=check.typed(f"{where}.enabled", entry.get("enabled", True), bool),
            )
        return agents, default_memory

    def names(self, include_disabled: bool = False) -> list[str]:
        """Configured agent names (lower case), in file order."""
        return [n for n, c in self._agents.items() if include_disabled or c.enabled]

    def get(self, name: str) -> AgentConfig:
        """The config of an enabled agent; AgentException (listing valid names) otherwise."""
        from asdrp.agents.protocol import AgentException

        key = name.strip().lower() if isinstance(name, str) else ""
        config = self._agents.get(key)
        valid = ", ".join(self.names())
        if config is None:
            raise AgentException(f"Unknown agent {describe_value(name)}. Valid agents: {valid}", agent_name=name)
        if not config.enabled:
            raise AgentException(
                f"Agent {name!r} is disabled in {self.config_path}. Valid agents: {valid}", agent_name=name
            )
        return config

    def all(self) -> list[AgentConfig]:
        """Every enabled agent's config, in file order."""
        return [c for c in self._agents.values() if c.enabled]
