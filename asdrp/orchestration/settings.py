"""Reading and validating the orchestrators' YAML files (moe.yaml, smartrouter.yaml).

Both files share a strict reader: every key is known, typed and range-checked at load, and every
problem is one `ConfigError` naming the file and the dotted key, so a typo is caught at start-up
instead of being silently ignored. The `memory` block is common to both orchestrators.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from asdrp.agents.config_loader import ConfigError
from asdrp.memory import WindowSettings
from asdrp.memory.paths import home_dir
from asdrp.memory.recall_input import RecallSettings


def default_orchestrator_config(file_name: str) -> Path:
    """`config/<file_name>` under ASDRP_HOME if present, else the copy in the source checkout."""
    local = home_dir() / "config" / file_name
    if local.exists():
        return local
    return Path(__file__).resolve().parents[2] / "config" / file_name


class Section:
    """One mapping of the YAML file; hands out typed values and rejects keys nobody reads."""

    def __init__(self, path: Path, where: str, raw: Any) -> None:
        self.path = path
        self.where = where
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise self.error("", f"expected a mapping, got {type(raw).__name__} {raw!r}")
        self.raw: dict[str, Any] = raw
        self._read: set[str] = set()

    def error(self, key: str, message: str) -> ConfigError:
        dotted = f"{self.where}.{key}" if self.where and key else (self.where or key or "<top level>")
        return ConfigError(f"{self.path}: {dotted}: {message}")

    def _get(self, key: str, default: Any, required: bool) -> Any:
        self._read.add(key)
        if key not in self.raw:
            if required:
                raise self.error(key, "is required")
            return default
        return self.raw[key]

    def section(self, key: str, required: bool = False) -> Section:
        return Section(self.path, f"{self.where}.{key}" if self.where else key, self._get(key, {}, required))

    def string(self, key: str, default: str | None = None, *, required: bool = False, optional: bool = False,
               choices: tuple[str, ...] | None = None) -> Any:
        value = self._get(key, default, required)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"expected a non-empty string, got {value!r}")
        if choices is not None and value not in choices:
            raise self.error(key, f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    def number(self, key: str, default: float | None = None, *, required: bool = False, minimum: float | None = None,
               maximum: float | None = None, positive: bool = False, optional: bool = False) -> Any:
        value = self._get(key, default, required)
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(key, f"expected a number, got {value!r}")
        if positive and value <= 0:
            raise self.error(key, f"must be greater than 0, got {value!r}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum}, got {value!r}")
        if maximum is not None and value > maximum:
            raise self.error(key, f"must be at most {maximum}, got {value!r}")
        return float(value)

    def integer(self, key: str, default: int | None = None, *, required: bool = False, minimum: int | None = None,
                optional: bool = False) -> Any:
        value = self._get(key, default, required)
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected an integer, got {value!r}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum}, got {value!r}")
        return value

    def boolean(self, key: str, default: bool | None = None, *, required: bool = False) -> bool:
        value = self._get(key, default, required)
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {value!r}")
        return value

    def strings(self, key: str, default: list[str] | None = None, *, required: bool = False,
                non_empty: bool = False) -> list[str]:
        value = self._get(key, default if default is not None else [], required)
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.error(key, f"expected a list of non-empty strings, got {value!r}")
        if non_empty and not value:
            raise self.error(key, "must list at least one entry")
        return list(value)

    def mapping_keys(self) -> list[str]:
        """All keys of this mapping (for sections whose keys are names, such as expert groups)."""
        self._read.update(self.raw)
        return [str(k) for k in self.raw]

    def finish(self) -> None:
        """Reject keys that were never read: a key the code ignores must not look configured."""
        unknown = sorted(str(k) for k in self.raw if k not in self._read)
        if unknown:
            raise self.error(unknown[0], f"unknown key (known keys: {', '.join(sorted(self._read)) or 'none'})")


def load_yaml(path: Path) -> Section:
    """The top-level section of an orchestrator YAML file (ConfigError if unreadable or malformed)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read orchestrator configuration: {exc}") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: malformed YAML: {exc}") from exc
    return Section(path, "", raw)


@dataclass(frozen=True)
class MemorySettings:
    """Where an orchestrator keeps its transcript and how much of it each specialist sees."""

    kind: str
    """"sqlite" (a file, also when the YAML says none), "postgres" or "redis" (then `url` is used)."""
    url: str | None
    """Shared database URL for kind postgres/redis; ASDRP_SESSION_URL overrides everything."""
    database_path: str
    """Transcript file relative to ASDRP_HOME (forced file store; a shared ASDRP_SESSION_URL wins)."""
    tools_database_path: str
    """File of the specialists' tool memory (not listed as user sessions)."""
    window: WindowSettings
    """The transcript window given to every specialist call."""
    tool_memory_items: int
    """At most this many of a specialist's own stored tool items are given back to it."""
    wait_when_busy: bool
    """True: a second request on a busy conversation waits; False: it is refused with SessionBusyError."""
    recall: RecallSettings = RecallSettings()
    """What each turn recalls from the whole transcript, beyond the window, for every specialist."""

    @property
    def location(self) -> str:
        """Where the transcript store lives (see asdrp.memory.open_store): the shared URL or the file."""
        return self.url if self.kind in ("postgres", "redis") and self.url else self.database_path

    @property
    def tools_location(self) -> str:
        """Where the tool-memory store lives: the shared URL (one store) or its own file."""
        return self.url if self.kind in ("postgres", "redis") and self.url else self.tools_database_path


def read_memory(top: Section, default_file: str) -> MemorySettings:
    """The `memory` block shared by moe.yaml and smartrouter.yaml."""
    memory = top.section("memory")
    # "none" and "sqlite" both mean a FILE: the canonical conversation must survive restarts,
    # so an orchestrator is never stateless (the spec's "force session memory").
    kind = memory.string("type", "sqlite", choices=("sqlite", "none", "postgres", "redis"))
    kind = "sqlite" if kind == "none" else kind
    url = memory.string("url", None, optional=True)
    if kind in ("postgres", "redis") and not url:
        raise memory.error("url", f"is required when memory.type is {kind!r}")
    path = memory.string("database_path", f"data/sessions/{default_file}.db")
    tools_path = memory.string("tools_database_path", f"data/sessions/{default_file}_tools.db")
    if os.path.normpath(path) == os.path.normpath(tools_path):
        raise memory.error("tools_database_path", "must differ from database_path (tool memory is not a user session)")
    items = memory.integer("context_items", 20, minimum=1)
    tokens = memory.integer("context_tokens", None, minimum=1, optional=True)
    tool_items = memory.integer("tool_memory_items", 20, minimum=0)
    wait = memory.boolean("wait_when_busy", True)
    recall = RecallSettings(
        max_items=memory.integer("recall_items", RecallSettings.max_items, minimum=0),
        max_tokens=memory.integer("recall_tokens", RecallSettings.max_tokens, minimum=1),
    )
    memory.finish()
    return MemorySettings(
        kind, url, path, tools_path, WindowSettings(max_items=items, max_tokens=tokens), tool_items, wait, recall
    )
