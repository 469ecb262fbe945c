"""Where database files live: relative paths resolve under the asdrp home and may not escape it.

`ASDRP_HOME` (default: the current directory) is the base for relative paths such as
``data/sessions/geo.db``; tests point it at a temporary directory.
"""

from __future__ import annotations

import os
from pathlib import Path

from asdrp.memory.errors import InvalidDatabasePathError

HOME_ENV_VAR = "ASDRP_HOME"


def home_dir() -> Path:
    """The base directory of runtime data: env ASDRP_HOME, else the current directory."""
    return Path(os.environ.get(HOME_ENV_VAR) or os.getcwd())


def sessions_dir() -> Path:
    """The default directory of session databases: <home>/data/sessions."""
    return home_dir() / "data" / "sessions"


def resolve_database_path(path: str | Path, base_dir: Path | None = None) -> Path:
    """The absolute path of a database file, with its parent directories created.

    A relative path resolves against `base_dir` (default `home_dir()`) and must stay inside it, so
    a configuration cannot reach ``../../etc`` by accident or malice. An absolute path is the
    operator's explicit choice and is accepted as is.
    """
    text = str(path)
    if not text.strip():
        raise InvalidDatabasePathError("Invalid database path '': it must name a file")
    candidate = Path(text).expanduser()
    if candidate.is_absolute():
        resolved = candidate.resolve()
    else:
        base = (base_dir if base_dir is not None else home_dir()).resolve()
        resolved = (base / candidate).resolve()
        if not resolved.is_relative_to(base):
            raise InvalidDatabasePathError(
                f"Invalid database path {text!r}: it resolves to {str(resolved)!r}, outside the base "
                f"directory {str(base)!r} (set {HOME_ENV_VAR} or use an absolute path)"
            )
    if resolved.is_dir():
        raise InvalidDatabasePathError(f"Invalid database path {text!r}: {str(resolved)!r} is a directory")
    try:
        resolved.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidDatabasePathError(
            f"Invalid database path {text!r}: cannot create directory {str(resolved.parent)!r}: {exc}"
        ) from exc
    return resolved
