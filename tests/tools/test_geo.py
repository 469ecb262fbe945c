"""Tests for the geo tools: geocoding, reverse geocoding, distances and places nearby."""

from __future__ import annotations

import pytest

from asdrp.tools import geo


def test_geocode_kyoto_reports_coordinates_population_and_timezone() -> None:
    result = geo.geocode("Kyoto")
    assert result["latitude"] == pytest.approx(35.02, abs=0.05)
    assert result["timezone"] == "Asia/Tokyo"
    assert result["summary"].startswith("Kyoto is a city in Japan at 35.02°N, 135.75°E with population ")
    assert result["summary"].endswith("its time zone is Asia/Tokyo.")


def test_geocode_describes_a_landmark_with_its_city() -> None:
    result = geo.geocode("Times Square")
    assert result["kind"] == "landmark"
    assert "New York City" in result["summary"] and "America/New_York" in result["summary"]


@pytest.mark.parametrize("bad", ["", "   ", "Narnia"])
def test_geocode_rejects_empty_or_unknown_place_by_name(bad: str) -> None:
    with pytest.raises(ValueError, match="place"):
        geo.geocode(bad)


def test_reverse_geocode_names_the_city_at_the_coordinates() -> None:
    result = geo.reverse_geocode(48.8566, 2.3522)
    assert result["nearest"]["country_code"] == "FR"
    assert "Paris" in result["summary"]


def test_reverse_geocode_in_the_open_ocean_gives_the_distance_to_the_nearest_city() -> None:
    result = geo.reverse_geocode(0.0, -150.0)
    assert result["distance_km"] > 500
    assert "nearest city" in result["summary"]


@pytest.mark.parametrize(("lat", "lon"), [(95, 0), (0, -200), (float("nan"), 0)])
def test_reverse_geocode_rejects_impossible_coordinates(lat: float, lon: float) -> None:
    with pytest.raises(ValueError):
        geo.reverse_geocode(lat, lon)


def test_distance_between_paris_and_london_is_about_344_km() -> None:
    result = geo.distance_between("Paris", "London")
    assert result["distance_km"] == pytest.approx(344, abs=3)
    assert result["distance_miles"] == pytest.approx(214, abs=2)
    assert "km" in result["summary"] and "miles" in result["summary"]


def test_distance_between_names_the_unknown_argument() -> None:
    with pytest.raises(ValueError, match="place_b"):
        geo.distance_between("Paris", "Narnia")


def test_places_near_lists_nearby_places_nearest_first_without_the_centre() -> None:
    result = geo.places_near("Kyoto", radius_km=30)
    distances = [p["distance_km"] for p in result["nearby"]]
    assert distances == sorted(distances) and all(d <= 30 for d in distances)
    assert 0 < len(distances) <= 10
    names = [p["name"] for p in result["nearby"]]
    assert "Kyoto" not in names and "Kinkaku-ji" in names


def test_places_near_times_square_includes_other_manhattan_landmarks() -> None:
    names = [p["name"] for p in geo.places_near("Times Square", radius_km=5)["nearby"]]
    assert "Times Square" not in names
    assert "Empire State Building" in names


@pytest.mark.parametrize("radius", [0, -5, 5000, float("inf")])
def test_places_near_rejects_out_of_range_radius(radius: float) -> None:
    with pytest.raises(ValueError, match="radius_km"):
        geo.places_near("Kyoto", radius_km=radius)
