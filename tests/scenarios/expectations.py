"""What an answer should say, computed from first principles, and the judge of each answer.

Nothing here calls asdrp: distances come from the haversine formula over coordinates written
below, times from `zoneinfo` at the frozen moment, loan payments from the annuity formula,
savings from the future value of an annuity. A judge calls an answer `correct` (it states the
expected values), `honest` (it says it does not know, declines or asks which one is meant) or
`wrong` (anything else: a confident answer without the expected values).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Verdict = Literal["correct", "honest", "wrong"]

FROZEN_NOW = datetime(2026, 7, 15, 14, 30, tzinfo=UTC)
"""The clock every scenario runs at (summer time in both hemispheres' rules)."""

EARTH_RADIUS_KM = 6371.0088

COORDINATES: dict[str, tuple[float, float]] = {
    "Paris": (48.8566, 2.3522), "London": (51.5074, -0.1278), "Tokyo": (35.6762, 139.6503),
    "Lisbon": (38.7223, -9.1393), "Madrid": (40.4168, -3.7038), "Berlin": (52.5200, 13.4050),
    "Rome": (41.9028, 12.4964), "Sydney": (-33.8688, 151.2093), "Cairo": (30.0444, 31.2357),
    "Toronto": (43.6532, -79.3832), "Chicago": (41.8781, -87.6298), "New York": (40.7128, -74.0060),
    "Paris, Texas": (33.6609, -95.5555), "Dallas": (32.7767, -96.7970), "Kyoto": (35.0116, 135.7681),
    "London, Ontario": (42.9849, -81.2453), "Los Angeles": (34.0522, -118.2437),
}
"""Well-known city-centre coordinates (degrees), independent of the gazetteer's data."""

ZONES: dict[str, str] = {
    "Paris": "Europe/Paris", "London": "Europe/London", "Tokyo": "Asia/Tokyo", "Kyoto": "Asia/Tokyo",
    "Lisbon": "Europe/Lisbon", "Madrid": "Europe/Madrid", "Berlin": "Europe/Berlin", "Rome": "Europe/Rome",
    "Sydney": "Australia/Sydney", "New York": "America/New_York", "Paris, Texas": "America/Chicago",
    "Chicago": "America/Chicago", "Portland, Maine": "America/New_York", "Mumbai": "Asia/Kolkata",
    "UTC": "UTC", "PST": "Etc/GMT+8", "EST": "Etc/GMT+5", "JST": "Etc/GMT-9",
}
"""IANA zones (and fixed-offset abbreviations: PST is UTC-8 all year) of the places the scenarios use."""

HONEST = re.compile(
    r"\b(?:I don't know|I do not know|do you mean|could you|I need|sorry|can't|cannot|haven't told me|"
    r"not sure|unknown place|only understand english|which (?:one|place|number)|I can only)\b", re.IGNORECASE)

_NUMBER = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?")


# ---------------------------------------------------------------------------------- first principles


def haversine_km(a: str, b: str) -> float:
    """Great-circle distance between two named places of `COORDINATES`."""
    (lat1, lon1), (lat2, lon2) = COORDINATES[a], COORDINATES[b]
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def local(place: str, *, hours_from_now: float = 0) -> str:
    """HH:MM in `place` at the frozen moment (plus some hours)."""
    moment = FROZEN_NOW + timedelta(hours=hours_from_now)
    return moment.astimezone(ZoneInfo(ZONES[place])).strftime("%H:%M")


def converted(hour: int, minute: int, source: str, target: str) -> str:
    """HH:MM in `target` when it is hour:minute today in `source`."""
    today = FROZEN_NOW.astimezone(ZoneInfo(ZONES[source])).date()
    start = datetime(today.year, today.month, today.day, hour, minute, tzinfo=ZoneInfo(ZONES[source]))
    return start.astimezone(ZoneInfo(ZONES[target])).strftime("%H:%M")


def hours_ahead(a: str, b: str) -> float:
    """How many hours `b` is ahead of `a` at the frozen moment."""
    offset_a = FROZEN_NOW.astimezone(ZoneInfo(ZONES[a])).utcoffset() or timedelta(0)
    offset_b = FROZEN_NOW.astimezone(ZoneInfo(ZONES[b])).utcoffset() or timedelta(0)
    return (offset_b - offset_a).total_seconds() / 3600


def annuity_payment(principal: float, annual_rate_percent: float, years: float, per_year: int = 12) -> float:
    """Level payment of a fixed-rate loan: P r / (1 - (1 + r)^-n)."""
    r = annual_rate_percent / 100 / per_year
    n = round(years * per_year)
    return principal / n if r == 0 else principal * r / (1 - (1 + r) ** -n)


def savings_future_value(monthly: float, annual_rate_percent: float, years: float) -> float:
    """Future value of deposits at the end of every month, compounded monthly: D ((1 + r)^n - 1) / r."""
    r = annual_rate_percent / 100 / 12
    n = round(years * 12)
    return monthly * n if r == 0 else monthly * ((1 + r) ** n - 1) / r


def compound(principal: float, annual_rate_percent: float, years: float, per_year: int = 1) -> float:
    """P (1 + r/m)^(m t)."""
    return principal * (1 + annual_rate_percent / 100 / per_year) ** (per_year * years)


# ------------------------------------------------------------------------------------------ judges


def numbers_in(text: str) -> list[float]:
    return [float(m.replace(",", "")) for m in _NUMBER.findall(text)]


def has_number(text: str, expected: float, rel: float, absolute: float) -> bool:
    return any(abs(found - expected) <= max(absolute, rel * abs(expected)) for found in numbers_in(text))


def _repeats(answer: str) -> bool:
    """True when the same sentence is said twice (two experts, one answer)."""
    sentences = [re.sub(r"\*\*[^*]+:\*\*", "", s).strip().lower()
                 for s in re.split(r"(?<=[.!?])\s+|\n+", answer)]
    meaningful = [s for s in sentences if len(s) > 12]
    return len(meaningful) != len(set(meaningful))


@dataclass(frozen=True)
class Expect:
    """An expectation for one answer: the values or phrases it must state."""

    describe: str
    numbers: tuple[float, ...] = ()
    texts: tuple[str, ...] = ()
    rel: float = 0.0005
    absolute: float = 0.011
    forbidden: tuple[str, ...] = ()

    def judge(self, answer: str) -> Verdict:
        found = (all(has_number(answer, n, self.rel, self.absolute) for n in self.numbers)
                 and all(t.lower() in answer.lower() for t in self.texts))
        if any(f.lower() in answer.lower() for f in self.forbidden) or _repeats(answer):
            return "wrong"
        if found:
            return "correct"
        return "honest" if HONEST.search(answer) else "wrong"


@dataclass(frozen=True)
class Asks:
    """The reference is ambiguous: the answer should ask which of `choices` is meant."""

    describe: str
    choices: tuple[str, ...]

    def judge(self, answer: str) -> Verdict:
        if "?" in answer and all(c.lower() in answer.lower() for c in self.choices):
            return "correct"
        return "honest" if HONEST.search(answer) and not numbers_in(answer) else "wrong"


@dataclass(frozen=True)
class Declines:
    """No tool answers this: a short honest reply that states no fact (no numbers, no times)."""

    describe: str
    mentions: tuple[str, ...] = ()

    def judge(self, answer: str) -> Verdict:
        if not HONEST.search(answer) or numbers_in(answer):
            return "wrong"
        if all(m.lower() in answer.lower() for m in self.mentions) and len(answer) <= 220:
            return "correct"
        return "honest"


@dataclass(frozen=True)
class Replies:
    """Small talk: a short reply that fits (`pattern`), not a canned paragraph."""

    describe: str
    pattern: str
    max_chars: int = 160

    def judge(self, answer: str) -> Verdict:
        if len(answer) > self.max_chars or numbers_in(answer):
            return "wrong"
        return "correct" if re.search(self.pattern, answer, re.IGNORECASE) else "honest"


Judge = Expect | Asks | Declines | Replies


@dataclass(frozen=True)
class Turn:
    """One user message and what its answer should be."""

    message: str
    expect: Judge


@dataclass(frozen=True)
class Conversation:
    """A multi-turn conversation with one agent or orchestrator, in one category."""

    category: str
    agent: str
    turns: tuple[Turn, ...]
    name: str = field(default="")


def conversation(category: str, agent: str, *turns: tuple[str, Judge]) -> Conversation:
    """Shorthand: conversation("time", "clock", ("What time is it in Tokyo?", Expect(...)), ...)."""
    return Conversation(category, agent, tuple(Turn(m, e) for m, e in turns))


def on_agents(agents: tuple[str, ...], category: str,
              *turns: tuple[str, Judge]) -> list[Conversation]:
    """The same conversation through several agents."""
    return [conversation(category, agent, *turns) for agent in agents]


Scenarios = Callable[[], list[Conversation]]
