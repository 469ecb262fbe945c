"""Rule 4: fill a tool's JSON-schema parameters from the latest message, then from history.

Numbers are matched to parameters by the words around them ("5%" -> a rate, "30 years" -> years,
"$200k" or the largest amount -> a principal), never by position alone, because users do not
state figures in signature order.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from asdrp.models.offline_rules.arithmetic import read_worded_expression
from asdrp.models.offline_rules.references import (
    PLACE_NOUNS,
    Resolution,
    ordinal,
    personal_place,
    place_mentions,
    referenced_call,
    referenced_value,
    resolve_place,
)
from asdrp.models.offline_rules.text import STOPWORDS, content_tokens, humanize_identifier, join_phrases, stem, words
from asdrp.models.offline_rules.transcript import ToolCall, Transcript

# ---------------------------------------------------------------------------------------- numbers

_NUMBER = re.compile(
    r"(?P<cur>[$€£¥])?\s?(?P<sign>-)?(?P<cur2>[$€£¥])?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"(?:\s?(?P<suffix>k|m|bn|b|million|thousand|billion|mn)\b)?"
    r"(?P<pct>\s?(?:%|percent\b|per cent\b|pct\b))?",
    re.IGNORECASE,
)
_MULTIPLIERS = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6,
                "b": 1e9, "bn": 1e9, "billion": 1e9}

# Words near a number, mapped onto the schema vocabulary they point at.
_CONTEXT_CUES: dict[str, tuple[str, ...]] = {
    "%": ("rate", "percent", "interest", "percentage"),
    "percent": ("rate", "percent", "interest", "percentage"),
    "rate": ("rate", "percent", "interest"),
    "interest": ("rate", "percent", "interest"),
    "apr": ("rate", "percent", "interest"),
    "year": ("year", "term", "period", "duration"),
    "yr": ("year", "term", "period"),
    "month": ("month", "term"),
    "day": ("day",),
    "hour": ("hour",),
    "km": ("km", "radius", "distance", "kilometer", "kilometre"),
    "kilometer": ("km", "radius", "distance"),
    "kilometre": ("km", "radius", "distance"),
    "mile": ("mile", "radius", "distance"),
    "radius": ("radius", "km", "distance"),
    "within": ("radius", "km", "distance"),
    "$": ("principal", "amount", "value", "money", "price", "loan", "investment"),
    "€": ("principal", "amount", "value", "money", "price"),
    "£": ("principal", "amount", "value", "money", "price"),
    "loan": ("principal", "amount", "loan", "borrowed"),
    "borrow": ("principal", "amount", "borrowed"),
    "mortgage": ("principal", "amount", "loan"),
    "principal": ("principal", "amount"),
    "invest": ("principal", "amount", "investment", "initial"),
    "deposit": ("principal", "amount", "initial"),
    "amount": ("principal", "amount"),
    "from": ("old", "initial", "start", "from", "original", "before"),
    "was": ("old", "initial", "original", "before"),
    "to": ("new", "final", "end", "to", "after"),
    "now": ("new", "final", "current", "after"),
    "row": ("row",),
    "compound": ("compound", "compounding"),
    "times": ("time", "count", "compound"),
    "payment": ("payment",),
}


_CURRENCY_WORDS = frozenset({"dollar", "dollars", "euro", "euros", "pound", "pounds", "usd", "eur", "gbp",
                             "yen", "bucks"})

_PERIODIC: dict[str, str] = {"monthly": "month", "weekly": "week", "yearly": "year", "annually": "year",
                             "daily": "day"}

_LEAD_ONLY = frozenset({"from", "to", "was", "now", "within", "radius"})
"""Cue words that describe the number AFTER them ("from 50", "within 10"), never the one before."""


DAYS_PER_UNIT: dict[str, float] = {"minute": 1 / 1440, "hour": 1 / 24, "day": 1.0, "week": 7.0,
                                   "month": 365.25 / 12, "year": 365.25}
"""Durations a number can be stated in, in days: "60 months" fills a parameter in years as 5."""

_UNIT_WORDS: dict[str, str] = {"min": "minute", "mins": "minute", "minute": "minute", "minutes": "minute",
                               "hr": "hour", "hrs": "hour", "hour": "hour", "hours": "hour",
                               "day": "day", "days": "day", "week": "week", "weeks": "week",
                               "month": "month", "months": "month", "mo": "month", "mos": "month",
                               "year": "year", "years": "year", "yr": "year", "yrs": "year"}


@dataclass(frozen=True)
class NumberMention:
    """One number in a message, with the cues around it: (schema words a cue points at, weight).

    `unit` is the duration the number is stated in ("60 months" -> "month"), `percent` and
    `currency` its own marks: they decide which parameters the number may fill at all.
    """

    value: float
    start: int
    cues: tuple[tuple[frozenset[str], float], ...]
    unit: str | None = None
    percent: bool = False
    currency: bool = False
    per: str | None = None
    """The period an amount is stated for: "500 a month" / "300 monthly" -> "month"."""

    @property
    def has_cues(self) -> bool:
        return any(tokens for tokens, _ in self.cues)

    def score(self, param_tokens: frozenset[str]) -> float:
        """Each cue counts once, with its weight, if it points at any of the parameter's words."""
        return sum(weight for tokens, weight in self.cues if tokens & param_tokens)


def _cue_tokens(word: str, *, after: bool = False) -> frozenset[str]:
    raw = word.lower()
    token = stem(raw)
    if after and (raw in _LEAD_ONLY or token in _LEAD_ONLY):
        return frozenset()
    cues: set[str] = set()
    for key in (raw, token):
        cues.update(_CONTEXT_CUES.get(key, ()))
    if token.endswith("year") or raw in ("yr", "yrs"):
        cues.update(_CONTEXT_CUES["year"])
    return frozenset(cues)


def find_numbers(text: str) -> list[NumberMention]:
    """Numbers in `text` ("200,000", "200k", "$1.5m", "5%", "-1000") with their context cues.

    The number's own marks ("%", "$") and the unit right after it ("30 years") weigh 2; the word
    just before it weighs 1.5 and the one before that 0.5, so "a loan at 5%" still reads 5 as a
    rate and "from 50 to 75" reads 50 as the old value.
    """
    mentions: list[NumberMention] = []
    for match in _NUMBER.finditer(text):
        raw = match.group("num").replace(",", "")
        value = float(raw)
        suffix = (match.group("suffix") or "").lower()
        value *= _MULTIPLIERS.get(suffix, 1.0)
        if match.group("sign"):
            before = text[: match.start("sign")].rstrip()
            # "-" after a digit or letter is subtraction or a hyphen, not a sign.
            if not before or before[-1] in "(,[:=;" or before[-1].isalpha():
                value = -value
        cues: list[tuple[frozenset[str], float]] = []
        if match.group("pct"):
            cues.append((frozenset(_CONTEXT_CUES["%"]), 2.0))
        if match.group("cur") or match.group("cur2"):
            cues.append((frozenset(_CONTEXT_CUES["$"]), 2.0))
        if suffix in _MULTIPLIERS:
            cues.append((frozenset(("principal", "amount")), 1.0))
        after = re.match(r"[\s\-]*([A-Za-z]+)(?:\s+([A-Za-z]+))?", text[match.end():])
        unit = _UNIT_WORDS.get(after.group(1).lower()) if after and not match.group("pct") else None
        if unit and after and (after.group(2) or "").lower() == "ago":
            value = -value  # "3 hours ago": a duration back in time
        per = None
        if match.group("pct"):
            pass  # "8% a year" is a rate, not an amount per period
        elif after and after.group(1).lower() in ("a", "an", "per", "each", "every") and after.group(2):
            per = _UNIT_WORDS.get(after.group(2).lower())
        elif after and after.group(1).lower() in _PERIODIC:
            per = _PERIODIC[after.group(1).lower()]
        if after and not match.group("pct"):
            cues.append((_cue_tokens(after.group(1), after=True), 2.0))
            if after.group(1).lower() in ("per", "a", "an", "each") and after.group(2):
                cues.append((_cue_tokens(after.group(2), after=True), 2.0))
        before_words = [w for w in words(text[: match.start()]) if not w[0].isdigit()][-2:]
        for w, weight in zip(reversed(before_words), (1.5, 0.5)):
            cues.append((_cue_tokens(w), weight))
        currency = bool(match.group("cur") or match.group("cur2")) or bool(
            after and after.group(1).lower() in _CURRENCY_WORDS)
        mentions.append(NumberMention(value=value, start=match.start(),
                                      cues=tuple(c for c in cues if c[0]), unit=unit,
                                      percent=bool(match.group("pct")), currency=currency, per=per))
    return mentions


# ------------------------------------------------------------------------------ places and times


def _capitalized_phrases(text: str) -> list[str]:
    """Fallback place finder: capitalised phrases that are not sentence-start question words."""
    found: list[str] = []
    for match in re.finditer(
        r"[A-Z\u00C0-\u00DE][\w'\u00C0-\u024F\-]*"
        r"(?:\s+(?:of\s+|de\s+)?[A-Z\u00C0-\u00DE][\w'\u00C0-\u024F\-]*)*",
        text,
    ):
        phrase = match.group(0)
        parts = phrase.split()
        while parts and parts[0].lower().replace("'s", "") in STOPWORDS | _NOT_PLACES:
            parts = parts[1:]
        if parts:
            found.append(" ".join(parts).removesuffix("'s"))
    return found


_NOT_PLACES = frozenset({"what's", "where's", "how's", "i'm", "i'd", "i'll", "i've", "and", "where",
                         "time", "is", "are", "please", "thanks", "convert", "calculate",
                         "now", "today", "tomorrow", "yesterday", "monday", "tuesday",
                         "wednesday", "thursday", "friday", "saturday", "sunday"})


def find_place_names(text: str) -> list[str]:
    """Place names in `text`, from the gazetteer when it is installed (imported lazily)."""
    try:
        from asdrp.tools.gazetteer import find_place_names as gazetteer_find
    except ImportError:
        return _capitalized_phrases(text)
    return list(gazetteer_find(text))


_TIME = re.compile(r"\b(\d{1,2}(?::\d{2})?\s?(?:[ap]\.?m\.?)|\d{1,2}:\d{2}|noon|midnight)(?!\w)",
                   re.IGNORECASE)


def find_times(text: str) -> list[str]:
    """Clock times such as "9am", "09:00", "9:30 pm"."""
    return [m.group(1) for m in _TIME.finditer(text)]


_QUOTED = re.compile(r"\"([^\"]+)\"|\u201c([^\u201d]+)\u201d|(?<!\w)'([^']+)'(?!\w)")


def find_quoted(text: str) -> list[str]:
    """Quoted strings ("..." or '...')."""
    return [next(g for g in m.groups() if g) for m in _QUOTED.finditer(text)]


_EXPRESSION_PREFIX = re.compile(
    r"^\s*(?:(?:please|can you|could you|hey|ok|so)\s+)*(?:what(?:'s| is)|calculate|compute|"
    r"evaluate|work out|solve|how much is|tell me)\s*", re.IGNORECASE)


def extract_expression(text: str) -> str:
    """The arithmetic in "what is 2+2?" -> "2+2"."""
    expression = _EXPRESSION_PREFIX.sub("", text.strip())
    return expression.strip().rstrip("?.!").strip() or text.strip()


ARITHMETIC = re.compile(r"\d\s*(?:[-+*/^x×÷%]|\*\*)\s*[\d(]|\b(?:sqrt|sin|cos|tan|log|exp)\s*\(",
                        re.IGNORECASE)

# ------------------------------------------------------------------------------------ parameters


@dataclass(frozen=True)
class Param:
    """One JSON-schema parameter, with the words that describe it."""

    name: str
    kind: str  # "number" | "integer" | "string" | "number_array" | "boolean" | "other"
    required: bool
    has_default: bool
    default: Any
    tokens: frozenset[str]
    description: str = ""

    @property
    def is_numeric(self) -> bool:
        return self.kind in ("number", "integer")

    @property
    def is_place(self) -> bool:
        if self.is_time:
            return False  # "Clock time in from_place" mentions a place but is a time
        name = set(words(self.name))
        return bool(name & {"place", "city", "location", "country", "destination", "origin",
                            "where", "address"}) or (
            self.kind == "string" and bool(self.tokens & {"place", "city", "location"}))

    @property
    def is_time(self) -> bool:
        return self.kind == "string" and bool(set(words(self.name)) & {"time", "clock", "hour"})

    @property
    def unit(self) -> str | None:
        """What the parameter measures, from its name: a duration ("year"), "percent", "money",
        "frequency" (per year) or None. Numbers stated in another kind never fill it."""
        name = [stem(w) for w in words(self.name)]
        if "per" in name:
            return "frequency"
        for w in reversed(name):
            if w in DAYS_PER_UNIT:
                return w
        if "percent" in name or "rate" in name:
            return "percent"
        if set(name) & {"principal", "amount", "deposit", "price", "payment", "investment", "balance", "saving"}:
            return "money"
        return None

    @property
    def per(self) -> str | None:
        """The period an amount parameter is for ("monthly_deposit" -> "month"), else None."""
        if self.unit != "money":
            return None
        return next((_PERIODIC[w] for w in words(self.name) if w in _PERIODIC), None)

    @property
    def is_expression(self) -> bool:
        return bool(set(words(self.name)) & {"expression", "formula", "equation"})

    @property
    def is_free_text(self) -> bool:
        return bool(set(words(self.name)) & {"query", "text", "question", "message", "topic",
                                             "prompt", "input", "request"})


def _kind(schema: dict[str, Any]) -> str:
    types: list[Any] = []
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    for option in schema.get("anyOf", []) + schema.get("oneOf", []):
        if isinstance(option, dict):
            if option.get("type") == "array":
                return _kind(option)
            types.append(option.get("type"))
    if "array" in types:
        items = schema.get("items", {})
        return "number_array" if isinstance(items, dict) and items.get("type") in ("number", "integer") else "other"
    for t in ("integer", "number", "string", "boolean"):
        if t in types:
            return t
    return "other"


def schema_params(schema: dict[str, Any]) -> list[Param]:
    """The parameters of a tool's `params_json_schema`, in declaration order.

    A parameter that has a default is treated as optional even when a strict schema lists it as
    required (the SDK's strict mode lists every property).
    """
    required = set(schema.get("required", []))
    params: list[Param] = []
    for name, prop in (schema.get("properties") or {}).items():
        prop = prop if isinstance(prop, dict) else {}
        description = str(prop.get("description", ""))
        tokens = frozenset(content_tokens(f"{name} {description} {prop.get('title', '')}"))
        has_default = "default" in prop
        params.append(Param(name=name, kind=_kind(prop), required=name in required and not has_default,
                            has_default=has_default, default=prop.get("default"), tokens=tokens,
                            description=description))
    return params


def _coerce_number(value: float, param: Param) -> int | float | None:
    if param.kind == "integer":
        return int(round(value)) if abs(value - round(value)) < 1e-9 else None
    return int(value) if value.is_integer() else value


def convert_units(mention: NumberMention, param: Param) -> float | None:
    """The mention's value in the parameter's unit, or None when it cannot mean what the parameter
    needs: a duration never fills an amount or a rate, a percentage only fills a percentage, money
    never fills a duration, and "18 months" fills years as 1.5."""
    unit = param.unit
    if mention.per and unit != "money":
        return None  # "200 a month" is an amount per period: never a term, a rate or a count
    if mention.unit:
        if unit not in DAYS_PER_UNIT:
            return None
        return round(mention.value * DAYS_PER_UNIT[mention.unit] / DAYS_PER_UNIT[unit], 9)
    if mention.percent and unit not in ("percent", None):
        return None
    if mention.currency and unit in ("percent", "frequency", *DAYS_PER_UNIT):
        return None
    if unit == "money" and mention.per != param.per:
        return None  # "500 a month" is a deposit, not a loan; a monthly deposit is stated per month
    return mention.value


_FREQUENCIES: dict[str, int] = {"annually": 1, "annual": 1, "yearly": 1, "semi-annually": 2, "semiannually": 2,
                                "half-yearly": 2, "quarterly": 4, "monthly": 12, "weekly": 52,
                                "fortnightly": 26, "biweekly": 26, "daily": 365}


def _assign_frequencies(text: str, params: list[Param]) -> dict[str, int]:
    """"compounded monthly" -> compounds_per_year = 12: a frequency word next to the word a per-year
    parameter is about ("compound", "payment"), never a frequency elsewhere in the sentence."""
    found: dict[str, int] = {}
    tokens = [w.lower() for w in re.findall(r"[A-Za-z][A-Za-z\-]*", text)]
    for param in params:
        if param.unit != "frequency" or not param.is_numeric:
            continue
        about = [stem(w)[:5] for w in words(param.name) if w not in ("per", "year", "years")]
        for i, token in enumerate(tokens):
            if token not in _FREQUENCIES:
                continue
            near = tokens[max(0, i - 3):i] + tokens[i + 1:i + 4]
            if any(stem(w)[:5] in about for w in near):
                found[param.name] = _FREQUENCIES[token]
                break
    return found


def _assign_numbers(text: str, params: list[Param], *, positional: bool = True) -> dict[str, Any]:
    """Numbers of `text` given to numeric parameters by context cues, greedily, best pair first.

    With `positional`, numbers that have no telling context at all then fill the required
    numeric parameters still empty, in order ("coordinates 35.0, 135.75").
    """
    numeric = [p for p in params if p.is_numeric]
    mentions = find_numbers(text)
    if not numeric or not mentions:
        return {}
    largest = max(abs(m.value) for m in mentions)
    scored: list[tuple[float, int, int]] = []
    for mi, mention in enumerate(mentions):
        # Only in the message itself: in history the largest number is as likely a result or a year.
        is_largest = positional and len(mentions) > 1 and abs(mention.value) == largest and abs(mention.value) >= 1000
        for pi, param in enumerate(numeric):
            value = convert_units(mention, param)
            if value is None:
                continue
            score = mention.score(param.tokens)
            if mention.unit and param.unit == mention.unit:
                score += 1.0
            elif mention.unit and param.unit in DAYS_PER_UNIT:
                score += 2.0  # "60 months" names a term, whatever words the parameter uses
            if is_largest and param.tokens & {"principal", "amount"}:
                score += 1.0
            if score <= 0 or _coerce_number(value, param) is None:
                continue
            # Prefer the parameter the cue names outright ("years" over "compounds_per_year").
            name_words = [stem(w) for w in words(param.name) if w not in STOPWORDS]
            covered = sum(1 for w in name_words if mention.score(frozenset({w})) > 0)
            score += 0.5 * covered / max(1, len(name_words))
            if not param.required:
                score -= 0.25
            scored.append((score, mi, pi))
    scored.sort(key=lambda s: (-s[0], s[1], s[2]))
    assigned: dict[str, Any] = {}
    used_mentions: set[int] = set()
    for _score, mi, pi in scored:
        param = numeric[pi]
        if mi in used_mentions or param.name in assigned:
            continue
        assigned[param.name] = _coerce_number(convert_units(mentions[mi], param) or 0.0, param)
        used_mentions.add(mi)
    leftovers = [m for i, m in enumerate(mentions)
                 if positional and i not in used_mentions and not m.has_cues and not m.unit]
    for param in numeric:
        if not leftovers:
            break
        if param.required and param.name not in assigned and param.unit not in DAYS_PER_UNIT:
            value = _coerce_number(leftovers[0].value, param)
            if value is not None:
                assigned[param.name] = value
                leftovers.pop(0)
    return assigned


def _assign_number_arrays(text: str, params: list[Param], taken: dict[str, Any]) -> dict[str, Any]:
    arrays = [p for p in params if p.kind == "number_array"]
    if not arrays:
        return {}
    bracket = re.search(r"\[([^\]]*)\]", text)
    if bracket:
        values = [m.value for m in find_numbers(bracket.group(1))]
    else:
        taken_values = [v for k, v in taken.items() if isinstance(v, (int, float))]
        values = []
        for mention in find_numbers(text):
            if mention.value in taken_values:
                taken_values.remove(mention.value)
                continue
            values.append(mention.value)
    if len(values) < 2:
        return {}
    clean = [int(v) if float(v).is_integer() else v for v in values]
    return {arrays[0].name: clean}


_PLACE_FROM = re.compile(
    r"(?:\bfrom\s+|(?:\d(?::\d\d)?\s?[ap]\.?m\.?|\d:\d\d|\bnoon|\bmidnight)\s+(?:in\s+)?)$", re.IGNORECASE)
_PLACE_FROM_AFTER = re.compile(r"^\s+time\b", re.IGNORECASE)
_PLACE_TO = re.compile(r"\b(?:to|into|in)\s+$", re.IGNORECASE)

_ZONE_NAME = re.compile(r"\b(?:[A-Z][a-z]+/[A-Z][A-Za-z_]+|UTC|GMT|[A-Z]{2,4}T)\b")
_PLACE_SLOT = re.compile(
    r"\b(?:from|to|in|between|and|near|of|is|at)\s+((?:[A-Z][\w'\-]*)(?:\s+[A-Z][\w'\-]*)*)")


def accepts_time_zones(param: Param) -> bool:
    """A place parameter whose description says a time zone will do ("UTC", "PST", "Europe/Paris")."""
    return "time zone" in param.description.lower() or "timezone" in param.description.lower()


def find_time_zones(text: str) -> list[str]:
    """Time-zone names and abbreviations written in `text` ("UTC", "PST", "Europe/Paris")."""
    from asdrp.models.offline_rules.zones import is_zone_name

    return [m.group(0) for m in _ZONE_NAME.finditer(text) if is_zone_name(m.group(0))]


def unknown_place_names(text: str, known: list[str]) -> list[str]:
    """Capitalised names where a place belongs ("from Gondor", "between X and Y") that are not
    places the finder knows: passed on so the tool can say it does not know them, instead of the
    model quietly answering about another place."""
    unknown: list[str] = []
    covered = " ".join(known).lower()
    for match in _PLACE_SLOT.finditer(text):
        parts = match.group(1).split()
        while parts and (parts[0].lower() in STOPWORDS | _NOT_PLACES or parts[0] == "I"):
            parts = parts[1:]
        name = " ".join(parts).removesuffix("'s")
        if not name or name.lower() in covered or _ZONE_NAME.fullmatch(name) or name.isupper():
            continue
        if any(k.lower() in name.lower() for k in known):
            continue
        unknown.append(name)
    return unknown


def places_in(text: str, param: Param, finder: Callable[[str], list[str]]) -> list[str]:
    """The values a place parameter could take from `text`, in order of appearance."""
    found = list(finder(text))
    if accepts_time_zones(param):
        found += [z for z in find_time_zones(text) if z not in found]
    found += [u for u in unknown_place_names(text, found) if u not in found]
    return sorted(found, key=lambda name: (text.find(name), found.index(name)))


def _assign_places(text: str, params: list[Param],
                   finder: Callable[[str], list[str]]) -> dict[str, Any]:
    place_params = [p for p in params if p.is_place and p.kind == "string"]
    if not place_params:
        return {}
    places = places_in(text, place_params[0], finder)
    if not places:
        return {}
    assigned: dict[str, Any] = {}
    remaining = list(places)
    # "from X to Y": a place right after "from" goes to a from-ish parameter, after "to" to a to-ish one.
    for place in places:
        at = text.find(place)
        before = text[:at] if at >= 0 else ""
        after = text[at + len(place):] if at >= 0 else ""
        for pattern, marker in ((_PLACE_FROM, {"from", "origin", "source"}),
                                (_PLACE_TO, {"to", "destination", "target"})):
            if pattern.search(before) or (marker == {"from", "origin", "source"} and _PLACE_FROM_AFTER.search(after)):
                target = next((p for p in place_params if set(words(p.name)) & marker
                               and p.name not in assigned), None)
                if target and place in remaining:
                    assigned[target.name] = place
                    remaining.remove(place)
    for param in place_params:
        if param.name not in assigned and remaining:
            assigned[param.name] = remaining.pop(0)
    return assigned


@dataclass
class Filling:
    """The outcome of filling one tool's arguments: complete, missing values, or a question to ask
    because a reference in the message could mean more than one thing."""

    arguments: dict[str, Any] = field(default_factory=dict)
    missing: list[Param] = field(default_factory=list)
    question: str | None = None
    from_history: frozenset[str] = frozenset()
    """Parameters filled from earlier turns rather than the message (or a reference in it)."""

    @property
    def complete(self) -> bool:
        return not self.missing and self.question is None


def _unresolvable(_phrase: str) -> Resolution:
    return Resolution()


def extract_from_text(text: str, params: list[Param],
                      finder: Callable[[str], list[str]] | None = None, *,
                      positional: bool = True,
                      resolve_value: Callable[[str], Resolution] | None = None) -> dict[str, Any]:
    """Every argument one message supplies for `params` (no history, no defaults).

    `positional=False` (used for history) keeps only numbers whose context names the parameter:
    a stray number in an old message must not become a loan amount.
    """
    finder = finder or find_place_names
    values: dict[str, Any] = {}
    for param in params:
        if param.is_expression and param.kind == "string":
            worded = read_worded_expression(text, resolve_value or _unresolvable)
            if worded is not None and worded.expression:
                values[param.name] = worded.expression
            elif worded is None and ARITHMETIC.search(text):
                values[param.name] = extract_expression(text)
    values.update(_assign_frequencies(text, params))
    values.update({k: v for k, v in _assign_places(text, params, finder).items() if k not in values})
    times = find_times(text)
    for param in params:
        if param.is_time and param.name not in values and times:
            values[param.name] = times.pop(0)
    # Times like "9am" are not amounts: hide them from the number matcher.
    numeric_text = _TIME.sub(" ", text) if any(p.is_time for p in params) else text
    for name, value in _assign_numbers(numeric_text, params, positional=positional).items():
        values.setdefault(name, value)
    if positional:
        for name, value in _assign_number_arrays(numeric_text, params, values).items():
            values.setdefault(name, value)
    quoted = find_quoted(text)
    for param in params:
        if param.kind == "string" and param.name not in values and quoted and not param.is_place:
            values[param.name] = quoted.pop(0)
    for param in params:
        if param.kind == "string" and param.is_free_text and param.name not in values:
            values[param.name] = text.strip()
    return values


def fill_arguments(params: list[Param], transcript: Transcript,
                   finder: Callable[[str], list[str]] | None = None, *,
                   tool_name: str = "", tool_words: frozenset[str] = frozenset()) -> Filling:
    """Arguments for one tool: the latest message first, then references, then history.

    A reference in the message ("the second one", "the first loan", "20% of my monthly payment")
    is resolved by `references`, or turned into a question when it is ambiguous. Values still
    missing come from history, newest first across earlier calls of this tool and earlier messages.
    """
    finder = finder or find_place_names
    latest = transcript.latest

    def resolve_value(phrase: str) -> Resolution:
        return referenced_value(phrase, transcript)

    values = extract_from_text(latest, params, finder, resolve_value=resolve_value)
    question = _competing_percentages(latest, params)
    if question:
        return Filling(question=question)
    for param in params:
        if param.is_expression and param.kind == "string" and param.name not in values:
            worded = read_worded_expression(latest, resolve_value)
            if worded is not None and worded.question:
                return Filling(question=worded.question)

    def is_place_argument(name: str) -> bool:
        return any(p.name == name and p.is_place for p in params) or bool(
            set(words(name)) & {"place", "city", "location", "from", "to", "origin", "destination"})

    place_params = [p for p in params if p.is_place and p.kind == "string"]
    personal_target = next((p for p in place_params if p.name not in values), None)
    if personal_target is not None:
        personal = personal_place(latest, transcript, finder)
        if personal.question:
            return Filling(question=personal.question)
        if personal.resolved:
            values[personal_target.name] = personal.value
    place_ordinal = bool(place_params) and ordinal(latest, PLACE_NOUNS) is not None
    if place_ordinal:
        target = next((p for p in place_params if p.name not in values), None)
        if target is not None:
            resolution = resolve_place(latest, transcript, finder, is_place_argument)
            if resolution.question:
                return Filling(question=resolution.question)
            values[target.name] = resolution.value

    base = referenced_call(latest, transcript.calls, tool_name, tool_words) \
        if tool_name and not place_ordinal else None
    if base is not None and base.question:
        return Filling(question=base.question)
    if base is not None and base.resolved:
        for param in params:
            if param.name not in values and param.name in base.value.arguments:
                values[param.name] = base.value.arguments[param.name]

    asked = {p.name for p in params if p.per and p.name not in values
             and re.search(rf"\b(?:each|a|per|every)\s+{p.per}\b|\b{p.per}ly\b", latest, re.IGNORECASE)}
    before_history = set(values)
    question = _fill_from_history(params, values, transcript, finder, tool_name, is_place_argument, asked)
    if question:
        return Filling(question=question)
    missing = [p for p in params if p.required and p.name not in values]
    from_history = frozenset(set(values) - before_history)
    for param in params:
        if param.name not in values and param.has_default:
            values[param.name] = param.default
    ordered = {p.name: values[p.name] for p in params if p.name in values}
    return Filling(arguments=ordered, missing=missing, from_history=from_history)


def _competing_percentages(text: str, params: list[Param]) -> str | None:
    """"a $500,000 house with 20% down at 6%": more percentages than the tool has rates for. Which
    one is the rate is a guess, so the model asks instead of picking one."""
    if any(p.is_expression for p in params):
        return None
    rates = [p for p in params if p.is_numeric and p.unit == "percent"]
    percents = [m for m in find_numbers(text) if m.percent]
    if not rates or len(percents) <= len(rates):
        return None
    listed = join_phrases([f"{m.value:g}%" for m in percents], "or")
    return f"Which of {listed} is the {humanize_identifier(rates[0].name)}?"


def _fill_from_history(params: list[Param], values: dict[str, Any], transcript: Transcript,
                       finder: Callable[[str], list[str]], tool_name: str,
                       is_place_argument: Callable[[str], bool], asked: set[str]) -> str | None:
    """Fill required values still missing from history, newest first; a question when a place
    reference is ambiguous (the latest mention named several places).

    An expression or free text is never taken from history (the new question is not the old
    one), nor is a value the message asks for ("how much should I save each month?").
    """
    extracted: dict[int, dict[str, Any]] = {}
    events: list[tuple[int, Any]] = [(c.position, c) for c in transcript.calls]
    events += [(m.position, m) for m in transcript.history]
    events.sort(key=lambda e: -e[0])
    place_params = [p for p in params if p.is_place and p.kind == "string"]
    replaced = _follow_up_places(place_params, values, transcript, tool_name)
    if replaced:
        values.update(replaced)
    missing_places = [p for p in place_params if p.required and p.name not in values]
    if len(missing_places) >= 2:
        together = _places_together(missing_places, values, transcript, finder, is_place_argument)
        if together:
            values.update(together)
    for param in params:
        if not param.required or param.name in values or param.name in asked:
            continue
        if param.is_free_text or param.is_expression:
            continue
        if param.is_place and param.kind == "string":
            answer = _place_from_history(param, values, transcript, finder, tool_name, is_place_argument)
            if isinstance(answer, Resolution):
                return answer.question
            if answer is not None:
                values[param.name] = answer
            continue
        for _, event in events:
            if isinstance(event, ToolCall):
                if event.name in (tool_name, "") or not tool_name:
                    if event.arguments.get(param.name) is not None:
                        values[param.name] = event.arguments[param.name]
                        break
                elif event.arguments.get(param.name) is not None and not param.is_numeric:
                    values[param.name] = event.arguments[param.name]
                    break
                continue
            if event.position not in extracted:
                extracted[event.position] = extract_from_text(event.text, params, finder, positional=False)
            if param.name in extracted[event.position]:
                values[param.name] = extracted[event.position][param.name]
                break
    return None


def _role(text: str, place: str) -> str | None:
    """"from" or "to" when `place` follows that word in `text`, else None."""
    at = text.lower().find(place.lower())
    if at < 0:
        return None
    before = text[:at]
    if re.search(r"\bfrom\s+$", before, re.IGNORECASE):
        return "from"
    if re.search(r"\b(?:to|and)\s+$", before, re.IGNORECASE):
        return "to"
    return None


def _follow_up_places(place_params: list[Param], values: dict[str, Any], transcript: Transcript,
                      tool_name: str) -> dict[str, Any]:
    """"And from Madrid?" after "How far is Berlin from Rome?": the new place replaces the one that
    had the same role (after "from") in the question that made the previous call of this tool."""
    supplied = [p for p in place_params if p.name in values]
    if len(place_params) < 2 or len(supplied) != 1:
        return {}
    call = next((c for c in reversed(transcript.calls) if c.name == tool_name
                 and all(isinstance(c.arguments.get(p.name), str) for p in place_params)), None)
    new_place = str(values[supplied[0].name])
    role = _role(transcript.latest, new_place)
    if call is None or role is None:
        return {}
    old = [str(call.arguments[p.name]) for p in place_params]
    source = next((m.text for m in reversed(transcript.history)
                   if m.role == "user" and all(o.lower() in m.text.lower() for o in old)), None)
    if source is None:
        return {}
    same_role = [o for o in old if _role(source, o) == role]
    if len(same_role) != 1:
        return {}
    return {p.name: new_place if o == same_role[0] else o for p, o in zip(place_params, old)}


def _places_together(missing: list[Param], values: dict[str, Any], transcript: Transcript,
                     finder: Callable[[str], list[str]],
                     is_place_argument: Callable[[str], bool]) -> dict[str, Any]:
    """"How far apart are they?" after "Where are Paris and Rome?": when the latest mention named
    exactly as many places as are missing, they fill them in order."""
    used = {v for v in values.values() if isinstance(v, str)}
    mentions = [m for m in place_mentions(transcript, finder, is_place_argument) if m.from_user]
    if not mentions:
        return {}
    places = [p for p in mentions[0].places if p not in used]
    if len(places) != len(missing):
        return {}
    return {param.name: place for param, place in zip(missing, places)}


def _place_from_history(param: Param, values: dict[str, Any], transcript: Transcript,
                        finder: Callable[[str], list[str]], tool_name: str,
                        is_place_argument: Callable[[str], bool]) -> str | Resolution | None:
    """The place a message without one means: the same argument of this tool's latest call, unless
    a newer message or call named places; one place is taken, several make a question."""
    used = {v for v in values.values() if isinstance(v, str)}
    same_tool = next((c for c in reversed(transcript.calls)
                      if c.name == tool_name and isinstance(c.arguments.get(param.name), str)), None)
    since = same_tool.position if same_tool is not None else -1

    def zone_finder(text: str) -> list[str]:
        found = list(finder(text))
        return found + [z for z in find_time_zones(text) if z not in found] if accepts_time_zones(param) else found

    newer = Transcript(latest=transcript.latest,
                       history=[m for m in transcript.history if m.position > since],
                       calls=[c for c in transcript.calls if c.position > since and c is not same_tool])
    resolution = resolve_place("", newer, lambda text: [p for p in zone_finder(text) if p not in used],
                               is_place_argument, prose=same_tool is None, exclude=used)
    if resolution.question:
        remaining = [c for c in resolution.choices if c not in used]
        return remaining[0] if len(remaining) == 1 else Resolution(question=resolution.question)
    if resolution.resolved:
        return str(resolution.value)
    if same_tool is not None:
        return str(same_tool.arguments[param.name])
    return None
