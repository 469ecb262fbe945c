"""The words that decide which specialists answer: what names a domain, and what only names a place."""

from __future__ import annotations

from asdrp.orchestration.text import content_words


def test_a_place_named_by_reference_names_no_domain() -> None:
    # "my favourite city" stands where a place name would: it says nothing about what is asked
    assert content_words("What time is it in my favourite city?") == ["time"]
    assert content_words("How far is that country from here?") == ["far"]
    assert content_words("Which city is bigger?") == ["city", "bigger"]  # here the city is what is asked about
    assert content_words("Which cities are near my home town?") == ["city", "near"]


def test_contractions_and_possessives_are_the_words_they_shorten() -> None:
    assert content_words("What's the date?") == content_words("What is the date?") == ["date"]
    assert content_words("Where's Kyoto's airport?") == ["where", "kyoto", "airport"]
