"""Geography tools for the GeoAgent: geocoding, reverse geocoding, distances and places nearby.

All answers come from the offline gazetteer (geonames cities of 15,000+ people, countries, US
states and a table of landmarks), so they work without a network.
"""

from __future__ import annotations

import math
from typing import Any

from asdrp.tools.gazetteer import (
    Place,
    check_coordinates,
    haversine_km,
    lookup_place,
    nearest_city,
    normalize_name,
    places_within,
)

KM_PER_MILE = 1.609344
MAX_RADIUS_KM = 1000.0
MAX_NEARBY_RESULTS = 10


def format_coordinates(latitude: float, longitude: float) -> str:
    """Readable position such as "35.02°N, 135.75°E"."""
    ns = "N" if latitude >= 0 else "S"
    ew = "E" if longitude >= 0 else "W"
    return f"{abs(latitude):.2f}°{ns}, {abs(longitude):.2f}°{ew}"


def resolve_place(place: str, argument: str = "place") -> Place:
    """The gazetteer's place for a tool argument, or a ValueError that names the argument and value."""
    if not isinstance(place, str) or not place.strip():
        raise ValueError(f"{argument} must be a place name such as 'Kyoto' or 'Times Square', got {place!r}")
    found = lookup_place(place)
    if found is None:
        raise ValueError(
            f"Unknown place {place!r} for {argument}: "
            "it is not a city, country, US state or landmark in the offline gazetteer"
        )
    return found


def place_fields(place: Place) -> dict[str, Any]:
    """The structured fields every geo answer carries for a place."""
    return {
        "name": place.name,
        "kind": place.kind,
        "label": place.label,
        "country": place.country,
        "country_code": place.country_code,
        "latitude": place.latitude,
        "longitude": place.longitude,
        "population": place.population,
        "timezone": place.timezone,
    }


def geocode(place: str) -> dict[str, Any]:
    """Find where a place is: its coordinates, country, population and time zone.

    Args:
        place: Name of a city, country, US state or landmark, e.g. "Kyoto", "Paris, France", "NYC" or "Eiffel Tower".
    """
    found = resolve_place(place)
    where = format_coordinates(found.latitude, found.longitude)
    if found.kind == "city":
        country = f"{found.region}, {found.country}" if found.region else found.country
        summary = f"{found.name} is a city in {country} at {where} with population {found.population:,}"
    elif found.kind == "country":
        summary = f"{found.name} is a country; its capital is at {where}"
        if found.population:
            summary += f" and its population is {found.population:,}"
    elif found.kind == "state":
        summary = f"{found.name} is a US state centred near {where}"
    else:
        location = ", ".join(part for part in (found.region, found.country) if part)
        summary = f"{found.name} is a landmark in {location} at {where}"
    summary += f"; its time zone is {found.timezone}."
    return {"summary": summary, **place_fields(found)}


def reverse_geocode(latitude: float, longitude: float) -> dict[str, Any]:
    """Name the nearest city to a position given as coordinates.

    Args:
        latitude: Latitude in decimal degrees, north positive, from -90 to 90 (e.g. 35.01).
        longitude: Longitude in decimal degrees, east positive, from -180 to 180 (e.g. 135.77).
    """
    check_coordinates(latitude, longitude)
    city = nearest_city(latitude, longitude)
    distance = haversine_km(latitude, longitude, city.latitude, city.longitude)
    where = format_coordinates(latitude, longitude)
    if distance < 15:
        summary = f"{where} is in {city.label} ({distance:.1f} km from the centre); its time zone is {city.timezone}."
    else:
        summary = f"{where} is not in a large town; the nearest city is {city.label}, {distance:,.0f} km away."
    return {
        "summary": summary,
        "latitude": latitude,
        "longitude": longitude,
        "distance_km": round(distance, 2),
        "nearest": place_fields(city),
    }


def distance_between(place_a: str, place_b: str) -> dict[str, Any]:
    """Great-circle ("as the crow flies") distance between two places, in kilometres and miles.

    Args:
        place_a: The first place (city, country, US state or landmark), e.g. "Paris".
        place_b: The second place, e.g. "London".
    """
    a = resolve_place(place_a, "place_a")
    b = resolve_place(place_b, "place_b")
    km = haversine_km(a.latitude, a.longitude, b.latitude, b.longitude)
    miles = km / KM_PER_MILE
    return {
        "summary": f"{a.label} and {b.label} are {km:,.1f} km ({miles:,.1f} miles) apart as the crow flies.",
        "place_a": place_fields(a),
        "place_b": place_fields(b),
        "distance_km": round(km, 2),
        "distance_miles": round(miles, 2),
    }


def _same_place(candidate: Place, centre: Place, distance_km: float) -> bool:
    # geonames also lists some landmarks as populated places ("Times Square"), so match by name too.
    return candidate == centre or (normalize_name(candidate.name) == normalize_name(centre.name) and distance_km < 5)


def places_near(place: str, radius_km: float = 50) -> dict[str, Any]:
    """Cities and landmarks within a radius of a place, nearest first (at most 10).

    Args:
        place: The centre: a city, country, US state or landmark, e.g. "Kyoto" or "Times Square".
        radius_km: Search radius in kilometres, greater than 0 and at most 1000 (default 50).
    """
    if not isinstance(radius_km, (int, float)) or not math.isfinite(radius_km) or not 0 < radius_km <= MAX_RADIUS_KM:
        raise ValueError(f"radius_km must be a number greater than 0 and at most {MAX_RADIUS_KM:g}, got {radius_km!r}")
    centre = resolve_place(place)
    hits = [
        (p, d) for p, d in places_within(centre.latitude, centre.longitude, radius_km)
        if not _same_place(p, centre, d)
    ][:MAX_NEARBY_RESULTS]
    nearby = [{**place_fields(p), "distance_km": round(d, 2)} for p, d in hits]
    if hits:
        listed = ", ".join(f"{p.name} ({d:.1f} km)" for p, d in hits)
        summary = f"Within {radius_km:g} km of {centre.label}: {listed}."
    else:
        summary = f"No cities or landmarks in the gazetteer lie within {radius_km:g} km of {centre.label}."
    return {"summary": summary, "place": place_fields(centre), "radius_km": radius_km, "nearby": nearby}
