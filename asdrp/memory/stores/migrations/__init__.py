"""Numbered, append-only schema migrations (the pattern of Simon Willison's `llm`).

Each migration is a function named ``mNNN_what_it_does`` registered, in order, on a
`MigrationRegistry`; the table ``schema_migrations(version, name, applied_at)`` records which
ran, so opening a database made by an older asdrp upgrades it in place. Never edit a migration
that has shipped: add the next one. Each backend keeps its registry and runner in a module here,
side by side: `sqlite.py`, `postgres.py`, `redis.py` (Redis has no tables, but its key layout has
a version too).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from asdrp.memory.errors import MemoryStoreError

F = TypeVar("F", bound=Callable[..., Any])
_NAME = re.compile(r"m(\d{3,})_[a-z0-9_]+")


@dataclass(frozen=True)
class Migration(Generic[F]):
    """One schema step: its version (from the function name), its name and the function."""

    version: int
    name: str
    apply: F


class MigrationRegistry(Generic[F]):
    """An ordered list of migrations for one backend; use an instance as a decorator."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.migrations: list[Migration[F]] = []

    def __call__(self, function: F) -> F:
        match = _NAME.fullmatch(function.__name__)
        if match is None:
            raise MemoryStoreError(f"Migration {function.__name__!r} must be named mNNN_description")
        version = int(match.group(1))
        expected = len(self.migrations) + 1
        if version != expected:
            raise MemoryStoreError(
                f"Migration {function.__name__!r} of {self.backend} has version {version}; expected {expected}"
            )
        self.migrations.append(Migration(version, function.__name__, function))
        return function

    @property
    def latest(self) -> int:
        """The schema version a fully migrated database has."""
        return len(self.migrations)

    def pending(self, applied: Iterable[int]) -> list[Migration[F]]:
        """Migrations not yet applied, in order."""
        done = set(applied)
        return [migration for migration in self.migrations if migration.version not in done]
