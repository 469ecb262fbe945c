"""Database path resolution under ASDRP_HOME."""

from __future__ import annotations

from pathlib import Path

import pytest

from asdrp.memory import InvalidDatabasePathError, home_dir, open_store, resolve_database_path, sessions_dir


def test_relative_paths_resolve_under_asdrp_home_and_create_directories(asdrp_home: Path) -> None:
    resolved = resolve_database_path("data/sessions/nested/path/agent.db")
    assert resolved == asdrp_home.resolve() / "data/sessions/nested/path/agent.db"
    assert resolved.parent.is_dir()
    assert home_dir() == asdrp_home and sessions_dir() == asdrp_home / "data" / "sessions"


def test_relative_paths_may_use_dotdot_while_staying_inside_the_base(asdrp_home: Path) -> None:
    assert resolve_database_path("data/x/../y.db") == asdrp_home.resolve() / "data" / "y.db"


@pytest.mark.parametrize("path", ["../outside.db", "data/../../outside.db", "../../../../etc/passwd"])
def test_a_relative_path_escaping_the_base_is_refused_naming_the_path(path: str, asdrp_home: Path) -> None:
    with pytest.raises(InvalidDatabasePathError) as caught:
        resolve_database_path(path)
    assert path in str(caught.value) and "outside" in str(caught.value)
    assert not (asdrp_home.parent / "outside.db").exists()


def test_an_explicit_base_dir_wins_over_asdrp_home(tmp_path: Path) -> None:
    base = tmp_path / "elsewhere"
    assert resolve_database_path("a.db", base_dir=base) == base.resolve() / "a.db"
    with pytest.raises(InvalidDatabasePathError):
        resolve_database_path("../a.db", base_dir=base)


def test_absolute_paths_are_the_operators_choice(tmp_path: Path) -> None:
    target = tmp_path / "abs" / "dir" / "s.db"
    assert resolve_database_path(str(target)) == target.resolve()
    assert target.parent.is_dir()


@pytest.mark.parametrize("path", ["", "   "])
def test_an_empty_path_is_refused(path: str) -> None:
    with pytest.raises(InvalidDatabasePathError):
        resolve_database_path(path)


def test_a_directory_is_not_a_database_path(asdrp_home: Path) -> None:
    (asdrp_home / "data").mkdir()
    with pytest.raises(InvalidDatabasePathError, match="directory"):
        resolve_database_path("data")


def test_open_store_refuses_an_escaping_path_before_creating_anything(asdrp_home: Path) -> None:
    with pytest.raises(InvalidDatabasePathError):
        open_store("../../escape.db")
