"""Session and user id rules."""

from __future__ import annotations

import pytest

from asdrp.memory import (
    DEFAULT_USER,
    ConversationKey,
    InvalidSessionIdError,
    derive_session_id,
    new_session_id,
    validate_session_id,
    validate_user,
)


@pytest.mark.parametrize("value", ["a", "user_123", "s-0f.A:b-c", "x" * 128])
def test_valid_session_ids_are_returned_unchanged(value: str) -> None:
    assert validate_session_id(value) == value


@pytest.mark.parametrize(
    "value",
    ["", "x" * 129, "a/b", "../etc", "a..b", "with space", "é", "a\nb", None, 42],
)
def test_invalid_session_ids_are_refused_naming_the_value_and_the_rule(value: object) -> None:
    with pytest.raises(InvalidSessionIdError) as caught:
        validate_session_id(value)
    message = str(caught.value)
    assert "session id" in message and "1-128 characters" in message and "'..'" in message
    assert isinstance(caught.value, ValueError)


def test_an_oversized_id_is_not_echoed_in_full() -> None:
    with pytest.raises(InvalidSessionIdError) as caught:
        validate_session_id("y" * 10_000)
    assert len(str(caught.value)) < 300 and "10000 chars" in str(caught.value)


def test_user_ids_follow_the_same_rule() -> None:
    assert validate_user(DEFAULT_USER) == "local"
    with pytest.raises(InvalidSessionIdError, match="user id"):
        validate_user("alice/../bob")


def test_new_session_ids_are_valid_and_unique() -> None:
    ids = {new_session_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(validate_session_id(i) == i for i in ids)


def test_derived_session_ids_are_deterministic_and_valid() -> None:
    assert derive_session_id("geo") == "geo_session"
    assert derive_session_id("geo") == derive_session_id("geo")
    assert validate_session_id(derive_session_id("weird name/..x" * 20))


def test_a_conversation_key_validates_both_parts() -> None:
    with pytest.raises(InvalidSessionIdError, match="user id"):
        ConversationKey("", "s1")
    with pytest.raises(InvalidSessionIdError, match="session id"):
        ConversationKey("local", "a/b")


def test_callers_cannot_take_reserved_internal_user_ids() -> None:
    from asdrp.memory.ids import validate_caller, validate_user

    assert validate_user("_tools.alice") == "_tools.alice"  # the store's own namespaces
    assert validate_caller("alice") == "alice"
    with pytest.raises(InvalidSessionIdError, match="reserved"):
        validate_caller("_tools.alice")
