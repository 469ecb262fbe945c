"""Clock tools for the ClockAgent: the current time somewhere, and converting a time between places.

Time zones come from the gazetteer, or from coordinates via timezonefinder (offline data). The
clock is read through `_utcnow()` so tests can pin it with monkeypatch.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from timezonefinder import TimezoneFinder

from asdrp.tools.gazetteer import check_coordinates, lookup_place

_COORDINATES = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*[, ]\s*(-?\d+(?:\.\d+)?)\s*$")
_CLOCK_TIME = re.compile(
    r"^\s*(?P<hour>\d{1,2})(?:[:.h](?P<minute>\d{2}))?\s*(?P<meridiem>a\.?\s?m\.?|p\.?\s?m\.?)?\s*$", re.IGNORECASE
)
_NAMED_TIMES = {"noon": (12, 0), "midday": (12, 0), "midnight": (0, 0)}

ZONE_ABBREVIATIONS: dict[str, int] = {
    "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "BST": 1, "CET": 1, "WEST": 1, "CEST": 2, "EET": 2, "EEST": 3,
    "MSK": 3, "IST": 5, "SGT": 8, "HKT": 8, "AWST": 8, "JST": 9, "KST": 9, "AEST": 10, "AEDT": 11,
    "NZST": 12, "NZDT": 13, "HST": -10, "AKST": -9, "AKDT": -8, "PST": -8, "PDT": -7, "MST": -7, "MDT": -6,
    "CST": -6, "CDT": -5, "EST": -5, "EDT": -4, "AST": -4, "ADT": -3,
}
"""Common time-zone abbreviations and their fixed UTC offsets in whole hours ("PST" is UTC-8 all
year; daylight saving is its own abbreviation, "PDT"). IST is read as India Standard Time."""


def _utcnow() -> datetime:
    """The current time in UTC; the one place the clock tools read the real clock (tests patch it)."""
    return datetime.now(UTC)


@functools.lru_cache(maxsize=1)
def _timezone_finder() -> TimezoneFinder:
    """Loaded on first use (a few hundred ms) and kept: a per-process singleton over read-only data."""
    return TimezoneFinder()


def _zone_for(place: str, argument: str) -> tuple[str, ZoneInfo]:
    """A readable label and the time zone for a place name, "lat, lon" pair or IANA zone name."""
    if not isinstance(place, str) or not place.strip():
        raise ValueError(f"{argument} must be a place name such as 'Kyoto' or 'New York', got {place!r}")
    abbreviation = place.strip()
    if abbreviation in ZONE_ABBREVIATIONS:  # written in capitals, "EST" is a zone, not Estonia's code
        hours = ZONE_ABBREVIATIONS[abbreviation]
        # Etc/GMT zones count the other way round: Etc/GMT+8 is UTC-8.
        return abbreviation, ZoneInfo("UTC" if hours == 0 else f"Etc/GMT{-hours:+d}")
    found = lookup_place(place)
    if found is not None:
        return found.label, ZoneInfo(found.timezone)
    match = _COORDINATES.match(place)
    if match:
        latitude, longitude = float(match.group(1)), float(match.group(2))
        check_coordinates(latitude, longitude)
        zone_name = _timezone_finder().timezone_at(lat=latitude, lng=longitude)
        if zone_name is None:
            raise ValueError(f"No time zone is known for coordinates {place!r} ({argument})")
        return f"{latitude:.2f}, {longitude:.2f}", ZoneInfo(zone_name)
    zone_name = "UTC" if place.strip().upper() in {"UTC", "GMT"} else place.strip()
    if "/" in zone_name or zone_name == "UTC":
        try:
            return zone_name, ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):  # not a zone name either: report below
            pass
    raise ValueError(
        f"Unknown place {place!r} for {argument}: give a city, country, US state, landmark, 'lat, lon' "
        "or a time zone like 'Europe/Paris'"
    )


def _utc_offset(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    sign = "+" if offset >= timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _long_date(moment: datetime | date) -> str:
    return f"{moment:%A}, {moment.day} {moment:%B %Y}"


def _parse_clock_time(time: str) -> tuple[int, int]:
    """Hour and minute from "09:00", "21:15", "9am", "9:30 pm", "noon" or "midnight"."""
    if not isinstance(time, str) or not time.strip():
        raise ValueError(f"time must be a clock time such as '09:00', '9am' or '9:30 pm', got {time!r}")
    text = time.strip().lower()
    if text in _NAMED_TIMES:
        return _NAMED_TIMES[text]
    match = _CLOCK_TIME.match(text)
    if not match:
        raise ValueError(f"Cannot read time {time!r}: use a clock time such as '09:00', '9am' or '9:30 pm'")
    hour, minute = int(match.group("hour")), int(match.group("minute") or 0)
    if minute > 59:
        raise ValueError(f"Cannot read time {time!r}: minutes must be 00-59")
    meridiem = match.group("meridiem")
    if meridiem:
        if not 1 <= hour <= 12:
            raise ValueError(f"Cannot read time {time!r}: with am/pm the hour must be 1-12")
        hour = hour % 12 + (12 if meridiem.startswith("p") else 0)
    elif hour > 23:
        raise ValueError(f"Cannot read time {time!r}: the hour must be 0-23")
    return hour, minute


MAX_HOURS_AHEAD = 24 * 366
"""How far ahead (or back) `current_time` looks: a year is plenty for "in N hours"."""


def current_time(place: str, hours_from_now: float = 0) -> dict[str, Any]:
    """The current local time, date and UTC offset in a place, or the time there N hours from now.

    Args:
        place: City, country, US state or landmark (e.g. "Kyoto", "New York"), "lat, lon" coordinates, or a time zone such as "Europe/Paris" or "UTC".
        hours_from_now: Hours ahead of now (negative: hours ago), e.g. 5 for "in 5 hours"; default 0 (now).
    """  # noqa: E501 - wrapping the Args line would put a newline into the tool's parameter description
    if (isinstance(hours_from_now, bool) or not isinstance(hours_from_now, (int, float))
            or not math.isfinite(hours_from_now) or abs(hours_from_now) > MAX_HOURS_AHEAD):
        raise ValueError(
            f"hours_from_now must be a number of hours within ±{MAX_HOURS_AHEAD:,}, got {hours_from_now!r}")
    label, zone = _zone_for(place, "place")
    local = (_utcnow() + timedelta(hours=hours_from_now)).astimezone(zone)
    offset = _utc_offset(local)
    if hours_from_now:
        ahead = f"{abs(hours_from_now):g} hour{'' if abs(hours_from_now) == 1 else 's'}"
        when = f"In {ahead}" if hours_from_now > 0 else f"{ahead[0].upper()}{ahead[1:]} ago"
        verb = "it will be" if hours_from_now > 0 else "it was"
        summary = f"{when} {verb} {local:%H:%M} ({_long_date(local)}) in {label} ({zone.key}, {offset})."
    else:
        summary = f"It is {local:%H:%M} ({_long_date(local)}) in {label} ({zone.key}, {offset})."
    return {
        "summary": summary,
        "place": label,
        "timezone": zone.key,
        "local_time": local.strftime("%H:%M"),
        "local_date": local.date().isoformat(),
        "weekday": local.strftime("%A"),
        "iso": local.isoformat(timespec="seconds"),
        "utc_offset": offset,
    }


def convert_time(time: str, from_place: str, to_place: str) -> dict[str, Any]:
    """Convert a clock time today in one place to the local time in another place.

    Args:
        time: Clock time in from_place, e.g. "09:00", "21:15", "9am", "9:30 pm" or "noon".
        from_place: Place whose local time is given (city, country, US state, landmark or time zone), e.g. "Kyoto".
        to_place: Place to convert the time to, e.g. "Paris".
    """
    hour, minute = _parse_clock_time(time)
    from_label, from_zone = _zone_for(from_place, "from_place")
    to_label, to_zone = _zone_for(to_place, "to_place")
    today = _utcnow().astimezone(from_zone).date()
    source = datetime(today.year, today.month, today.day, hour, minute, tzinfo=from_zone)
    target = source.astimezone(to_zone)
    day_shift = (target.date() - source.date()).days
    shift_note = {-1: " (the previous day)", 1: " (the next day)"}.get(day_shift, "")
    summary = (
        f"{source:%H:%M} on {_long_date(source)} in {from_label} ({from_zone.key}) is "
        f"{target:%H:%M} on {_long_date(target)}{shift_note} in {to_label} ({to_zone.key})."
    )
    return {
        "summary": summary,
        "from_place": from_label,
        "to_place": to_label,
        "from_timezone": from_zone.key,
        "to_timezone": to_zone.key,
        "from_time": source.isoformat(timespec="minutes"),
        "to_time": target.isoformat(timespec="minutes"),
        "day_shift": day_shift,
    }


def _hours(delta: timedelta) -> str:
    minutes = abs(int(delta.total_seconds())) // 60
    hours, rest = divmod(minutes, 60)
    text = f"{hours} hour{'' if hours == 1 else 's'}"
    return text + (f" {rest} minutes" if rest else "")


def time_difference(place_a: str, place_b: str) -> dict[str, Any]:
    """The time difference between two places right now: how many hours one is ahead of the other.

    Args:
        place_a: The first place (city, country, US state, landmark or time zone), e.g. "Paris".
        place_b: The second place, e.g. "Tokyo".
    """
    label_a, zone_a = _zone_for(place_a, "place_a")
    label_b, zone_b = _zone_for(place_b, "place_b")
    now = _utcnow()
    local_a, local_b = now.astimezone(zone_a), now.astimezone(zone_b)
    difference = (local_b.utcoffset() or timedelta(0)) - (local_a.utcoffset() or timedelta(0))
    if difference == timedelta(0):
        summary = f"{label_a} and {label_b} are on the same time right now ({_utc_offset(local_a)})."
    else:
        ahead, behind = (label_b, label_a) if difference > timedelta(0) else (label_a, label_b)
        summary = (f"{ahead} is {_hours(difference)} ahead of {behind} right now "
                   f"({label_a}: {_utc_offset(local_a)}, {label_b}: {_utc_offset(local_b)}).")
    return {
        "summary": summary,
        "place_a": label_a,
        "place_b": label_b,
        "hours_b_ahead_of_a": difference.total_seconds() / 3600,
    }
