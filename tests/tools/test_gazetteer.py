"""Tests for the shared place index: lookups, aliases, free-text place finding and nearest city."""

from __future__ import annotations

import pytest

from asdrp.tools.gazetteer import find_place_names, haversine_km, lookup_place, nearest_city, normalize_name


def test_lookup_finds_kyoto_with_its_coordinates_and_timezone() -> None:
    kyoto = lookup_place("Kyoto")
    assert kyoto is not None
    assert (kyoto.kind, kyoto.country, kyoto.country_code) == ("city", "Japan", "JP")
    assert kyoto.latitude == pytest.approx(35.02, abs=0.05)
    assert kyoto.longitude == pytest.approx(135.75, abs=0.05)
    assert kyoto.timezone == "Asia/Tokyo"
    assert kyoto.population > 1_000_000


@pytest.mark.parametrize("name", ["kyoto", "KYOTO", "Kyōto", "  Kyoto  "])
def test_lookup_ignores_case_accents_and_spaces(name: str) -> None:
    place = lookup_place(name)
    assert place is not None and place.name == "Kyoto"


@pytest.mark.parametrize(
    ("alias", "name", "kind"),
    [
        ("NYC", "New York City", "city"),
        ("New York", "New York City", "city"),
        ("USA", "United States", "country"),
        ("UK", "United Kingdom", "country"),
        ("Bombay", "Mumbai", "city"),
        ("St Louis", "St. Louis", "city"),
        ("Holland", "The Netherlands", "country"),
    ],
)
def test_lookup_understands_common_aliases(alias: str, name: str, kind: str) -> None:
    place = lookup_place(alias)
    assert place is not None
    assert (place.name, place.kind) == (name, kind)


def test_lookup_prefers_the_most_populous_city_for_an_ambiguous_name() -> None:
    paris = lookup_place("Paris")
    assert paris is not None and paris.country_code == "FR"


def test_lookup_uses_a_country_or_state_after_a_comma_to_disambiguate() -> None:
    texas = lookup_place("Paris, Texas")
    assert texas is not None and (texas.country_code, texas.region) == ("US", "Texas")
    oregon = lookup_place("Portland, OR")
    assert oregon is not None and oregon.region == "Oregon"


def test_lookup_finds_countries_states_and_landmarks() -> None:
    japan, texas, tower = lookup_place("Japan"), lookup_place("Texas"), lookup_place("Eiffel Tower")
    assert japan is not None and japan.kind == "country" and japan.timezone == "Asia/Tokyo"
    assert texas is not None and texas.kind == "state" and texas.timezone == "America/Chicago"
    assert tower is not None and tower.kind == "landmark" and tower.country_code == "FR"
    assert tower.latitude == pytest.approx(48.858, abs=0.01)


@pytest.mark.parametrize("name", ["Narnia", "", "   ", "Xyzzy Plugh"])
def test_lookup_returns_none_for_unknown_names(name: str) -> None:
    assert lookup_place(name) is None


def test_normalize_name_drops_accents_case_and_punctuation() -> None:
    assert normalize_name("Zürich") == "zurich"
    assert normalize_name("St. Louis") == "st louis"
    assert normalize_name("Kinkaku-ji") == "kinkaku ji"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Where is Kyoto?", ["Kyoto"]),
        ("What about Paris?", ["Paris"]),
        ("What's near Times Square?", ["Times Square"]),
        ("time in New York", ["New York"]),
        ("What time is it in Tokyo?", ["Tokyo"]),
        ("How far is London from Paris?", ["London", "Paris"]),
        ("how far is paris from london", ["paris", "london"]),
        ("Time in New York City please", ["New York City"]),
        ("Kyoto's temples and Kinkaku-ji", ["Kyoto", "Kinkaku-ji"]),
        ("From the Statue of Liberty to the Golden Gate Bridge", ["Statue of Liberty", "Golden Gate Bridge"]),
        ("I flew to Nice last week", ["Nice"]),
        ("Is LA far from SF?", ["LA", "SF"]),
        ("What is the time in the US?", ["US"]),
        ("Paris, then Paris again", ["Paris"]),
    ],
)
def test_find_place_names_finds_places_in_order_longest_first(text: str, expected: list[str]) -> None:
    assert find_place_names(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "What Is The Time Of Day",
        "March is a cold month",
        "Nice weather today",
        "Mobile phones are everywhere",
        "Reading is fun",
        "I like reading books",
        "tell us more",
        "la la land",
        "What time is it?",
        "I live in turkey farm country",
        "My name is Alice",
        "Hello, I am Jordan",
    ],
)
def test_find_place_names_does_not_mistake_common_words_for_places(text: str) -> None:
    assert find_place_names(text) == []


def test_find_place_names_handles_empty_text() -> None:
    assert find_place_names("") == []


def test_nearest_city_to_central_kyoto_is_in_kyoto() -> None:
    city = nearest_city(35.0116, 135.7681)
    assert city.country_code == "JP"
    assert haversine_km(35.0116, 135.7681, city.latitude, city.longitude) < 5


def test_nearest_city_rejects_out_of_range_coordinates() -> None:
    with pytest.raises(ValueError, match="latitude"):
        nearest_city(91, 0)
    with pytest.raises(ValueError, match="longitude"):
        nearest_city(0, 181)


def test_haversine_paris_london_is_about_344_km() -> None:
    assert haversine_km(48.8566, 2.3522, 51.5074, -0.1278) == pytest.approx(344, abs=2)


@pytest.mark.parametrize(("text", "expected", "region"), [
    ("Where is Paris, Texas?", "Paris, Texas", "Texas"),
    ("Where is Portland, Oregon?", "Portland, Oregon", "Oregon"),
    ("Dublin, Ohio is nice", "Dublin, Ohio", "Ohio"),
    ("Cambridge, Massachusetts", "Cambridge, Massachusetts", "Massachusetts"),
    ("Portland, OR", "Portland, OR", "Oregon"),
])
def test_find_place_names_keeps_a_state_or_country_qualifier(text: str, expected: str, region: str) -> None:
    assert find_place_names(text) == [expected]
    assert lookup_place(expected).region == region  # type: ignore[union-attr]


def test_a_comma_before_another_place_is_not_a_qualifier() -> None:
    assert find_place_names("How far is Paris from London, and Tokyo?") == ["Paris", "London", "Tokyo"]
