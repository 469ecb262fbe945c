"""Tests for the clock tools, with the clock pinned through `clock._utcnow`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from asdrp.tools import clock

FIXED_UTC = datetime(2026, 11, 24, 5, 5, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "_utcnow", lambda: FIXED_UTC)


def test_current_time_in_kyoto_reads_the_pinned_clock() -> None:
    result = clock.current_time("Kyoto")
    assert result["summary"] == "It is 14:05 (Tuesday, 24 November 2026) in Kyoto, Japan (Asia/Tokyo, UTC+09:00)."
    assert result["timezone"] == "Asia/Tokyo" and result["utc_offset"] == "UTC+09:00"


def test_current_time_shows_half_hour_offsets() -> None:
    assert clock.current_time("Mumbai")["utc_offset"] == "UTC+05:30"


def test_current_time_accepts_coordinates_via_timezonefinder() -> None:
    assert clock.current_time("35.0, 135.7")["timezone"] == "Asia/Tokyo"


def test_current_time_accepts_an_iana_zone_name() -> None:
    result = clock.current_time("Europe/Paris")
    assert result["local_time"] == "06:05"


@pytest.mark.parametrize("bad", ["", "Narnia", "Not/AZone"])
def test_current_time_rejects_unknown_places(bad: str) -> None:
    with pytest.raises(ValueError, match="place"):
        clock.current_time(bad)


@pytest.mark.parametrize(("text", "expected"), [("09:00", "09:00"), ("9am", "09:00"), ("9:30 pm", "21:30"),
                                                ("12am", "00:00"), ("12 pm", "12:00"), ("noon", "12:00")])
def test_convert_time_accepts_common_time_formats(text: str, expected: str) -> None:
    result = clock.convert_time(text, "London", "London")
    assert result["to_time"].endswith(f"T{expected}+00:00")


def test_convert_time_from_kyoto_to_paris_shifts_eight_hours() -> None:
    result = clock.convert_time("09:00", "Kyoto", "Paris")
    assert result["to_time"] == "2026-11-24T01:00+01:00"
    assert result["day_shift"] == 0
    assert "01:00" in result["summary"] and "Europe/Paris" in result["summary"]


def test_convert_time_reports_a_change_of_day() -> None:
    result = clock.convert_time("9:30 pm", "New York", "Tokyo")
    assert result["day_shift"] == 1
    assert "(the next day)" in result["summary"]


@pytest.mark.parametrize("bad", ["25:00", "13pm", "9:75", "soon", ""])
def test_convert_time_rejects_unreadable_times(bad: str) -> None:
    with pytest.raises(ValueError, match="time"):
        clock.convert_time(bad, "Kyoto", "Paris")


def test_convert_time_names_the_unknown_place_argument() -> None:
    with pytest.raises(ValueError, match="to_place"):
        clock.convert_time("09:00", "Kyoto", "Narnia")


def test_current_time_hours_from_now_and_ago() -> None:
    ahead = clock.current_time("Lisbon", hours_from_now=5)
    assert ahead["local_time"] == "10:05" and ahead["summary"].startswith("In 5 hours it will be 10:05")
    assert clock.current_time("Kyoto", hours_from_now=-3)["summary"].startswith("3 hours ago it was 11:05")
    with pytest.raises(ValueError, match="hours_from_now"):
        clock.current_time("Kyoto", hours_from_now=10**7)


@pytest.mark.parametrize(("zone", "hhmm"), [("UTC", "05:05"), ("PST", "21:05"), ("EST", "00:05"), ("JST", "14:05")])
def test_zone_abbreviations_are_fixed_offsets_not_places(zone: str, hhmm: str) -> None:
    result = clock.current_time(zone)
    assert result["local_time"] == hhmm and result["place"] == zone  # "EST" is not Estonia


def test_time_difference_says_who_is_ahead_by_how_much() -> None:
    result = clock.time_difference("Paris", "Tokyo")
    assert result["hours_b_ahead_of_a"] == 8
    assert result["summary"].startswith("Tokyo, Japan is 8 hours ahead of Paris, France")
    assert "same time" in clock.time_difference("Paris", "Berlin")["summary"]
    assert "30 minutes" in clock.time_difference("London", "Mumbai")["summary"]
