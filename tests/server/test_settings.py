"""ServerSettings: environment parsing, API key mapping, and the local-mode bind rule."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from asdrp.server.settings import ServerSettings, SettingsError, is_loopback, parse_api_keys


def test_api_keys_map_each_key_to_its_user() -> None:
    assert parse_api_keys("key1:alice, key2:bob") == {"key1": "alice", "key2": "bob"}
    assert parse_api_keys("") == {}


@pytest.mark.parametrize(
    ("raw", "named"),
    [("key1", "entry 1"), ("k:alice,:bob", "entry 2"), ("k:al/ice", "al/ice"), ("k:alice,k:bob", "listed twice")],
)
def test_malformed_api_keys_are_refused_with_the_bad_entry_named(raw: str, named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        parse_api_keys(raw)


def test_settings_come_from_asdrp_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASDRP_API_KEYS", "k1:alice")
    monkeypatch.setenv("ASDRP_MAX_INPUT_CHARS", "10")
    monkeypatch.setenv("ASDRP_BUSY", "refuse")
    monkeypatch.setenv("ASDRP_CORS_ORIGINS", "http://a.example, http://b.example")
    settings = ServerSettings()
    assert settings.api_keys == {"k1": "alice"} and not settings.local_mode
    assert settings.max_input_chars == 10 and settings.busy == "refuse"
    assert settings.cors_origins == ["http://a.example", "http://b.example"]


def test_unknown_busy_policy_is_a_validation_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASDRP_BUSY", "sometimes")
    with pytest.raises(ValidationError, match="busy"):
        ServerSettings()


def test_local_mode_refuses_a_public_bind_unless_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASDRP_API_KEYS", raising=False)
    with pytest.raises(SettingsError, match="local mode"):
        ServerSettings(host="0.0.0.0").check_bind()
    ServerSettings(host="0.0.0.0", allow_remote=True).check_bind()
    ServerSettings(host="0.0.0.0", api_keys="k:alice").check_bind()
    ServerSettings(host="127.0.0.1").check_bind()
    assert is_loopback("::1") and is_loopback("localhost") and not is_loopback("10.0.0.1")
