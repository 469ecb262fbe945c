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

from asdrp.models.offline_rules.text import STOPWORDS, content_tokens, stem, words
from asdrp.models.offline_rules.transcript import Transcript

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


_LEAD_ONLY = frozenset({"from", "to", "was", "now", "within", "radius"})
"""Cue words that describe the number AFTER them ("from 50", "within 10"), never the one before."""


@dataclass(frozen=True)
class NumberMention:
    """One number in a message, with the cues around it: (schema words a cue points at, weight)."""

    value: float
    start: int
    cues: tuple[tuple[frozenset[str], float], ...]

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
        if after and not match.group("pct"):
            cues.append((_cue_tokens(after.group(1), after=True), 2.0))
            if after.group(1).lower() in ("per", "a", "an", "each") and after.group(2):
                cues.append((_cue_tokens(after.group(2), after=True), 2.0))
        before_words = [w for w in words(text[: match.start()]) if not w[0].isdigit()][-2:]
        for w, weight in zip(reversed(before_words), (1.5, 0.5)):
            cues.append((_cue_tokens(w), weight))
        mentions.append(NumberMention(value=value, start=match.start(),
                                      cues=tuple(c for c in cues if c[0])))
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


_NOT_PLACES = frozenset({"what's", "where's", "how's", "i'm", "i'd", "i'll", "i've", "and",
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
        name = set(words(self.name))
        return bool(name & {"place", "city", "location", "country", "destination", "origin",
                            "where", "address"}) or (
            self.kind == "string" and bool(self.tokens & {"place", "city", "location"}))

    @property
    def is_time(self) -> bool:
        return self.kind == "string" and bool(set(words(self.name)) & {"time", "clock", "hour"})

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
        is_largest = len(mentions) > 1 and abs(mention.value) == largest and abs(mention.value) >= 1000
        for pi, param in enumerate(numeric):
            score = mention.score(param.tokens)
            if is_largest and param.tokens & {"principal", "amount"}:
                score += 1.0
            if score <= 0 or _coerce_number(mention.value, param) is None:
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
        assigned[param.name] = _coerce_number(mentions[mi].value, param)
        used_mentions.add(mi)
    leftovers = [m for i, m in enumerate(mentions)
                 if positional and i not in used_mentions and not m.has_cues]
    for param in numeric:
        if not leftovers:
            break
        if param.required and param.name not in assigned:
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


_PLACE_FROM = re.compile(r"\bfrom\s+$", re.IGNORECASE)
_PLACE_TO = re.compile(r"\b(?:to|into|in)\s+$", re.IGNORECASE)


def _assign_places(text: str, params: list[Param],
                   finder: Callable[[str], list[str]]) -> dict[str, Any]:
    place_params = [p for p in params if p.is_place and p.kind == "string"]
    if not place_params:
        return {}
    places = finder(text)
    if not places:
        return {}
    assigned: dict[str, Any] = {}
    remaining = list(places)
    # "from X to Y": a place right after "from" goes to a from-ish parameter, after "to" to a to-ish one.
    for place in places:
        at = text.find(place)
        before = text[:at] if at >= 0 else ""
        for pattern, marker in ((_PLACE_FROM, {"from", "origin", "source"}),
                                (_PLACE_TO, {"to", "destination", "target"})):
            if pattern.search(before):
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
    """The outcome of filling one tool's arguments."""

    arguments: dict[str, Any] = field(default_factory=dict)
    missing: list[Param] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing


def extract_from_text(text: str, params: list[Param],
                      finder: Callable[[str], list[str]] | None = None, *,
                      positional: bool = True) -> dict[str, Any]:
    """Every argument one message supplies for `params` (no history, no defaults).

    `positional=False` (used for history) keeps only numbers whose context names the parameter:
    a stray number in an old message must not become a loan amount.
    """
    finder = finder or find_place_names
    values: dict[str, Any] = {}
    for param in params:
        if param.is_expression and param.kind == "string":
            if ARITHMETIC.search(text) or re.search(r"\d", text):
                values[param.name] = extract_expression(text)
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
                   finder: Callable[[str], list[str]] | None = None) -> Filling:
    """Arguments for one tool: the latest message first, then history for what is still missing.

    History is searched most recent first: earlier function-call arguments of the same name, then
    earlier user or assistant messages with the same extractors.
    """
    finder = finder or find_place_names
    values = extract_from_text(transcript.latest, params, finder)
    extracted: dict[str, dict[str, Any]] = {}
    for param in params:
        if not param.required or param.name in values:
            continue
        for call in reversed(transcript.calls):
            if param.name in call.arguments and call.arguments[param.name] is not None:
                values[param.name] = call.arguments[param.name]
                break
        if param.name in values:
            continue
        for message in reversed(transcript.history):
            if param.is_place:
                used = {v for v in values.values() if isinstance(v, str)}
                places = [p for p in finder(message.text) if p not in used]
                if places:
                    values[param.name] = places[0]
                    break
                continue
            if param.is_free_text or param.is_expression:
                continue
            if message.text not in extracted:
                extracted[message.text] = extract_from_text(message.text, params, finder,
                                                           positional=False)
            if param.name in extracted[message.text]:
                values[param.name] = extracted[message.text][param.name]
                break
    missing = [p for p in params if p.required and p.name not in values]
    for param in params:
        if param.name not in values and param.has_default:
            values[param.name] = param.default
    ordered = {p.name: values[p.name] for p in params if p.name in values}
    return Filling(arguments=ordered, missing=missing)
