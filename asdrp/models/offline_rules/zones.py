"""Which words name a time zone rather than a place ("UTC", "PST", "Europe/Paris").

The offline model needs this to read "What time is it in PST?" as a question about PST, not as a
follow-up about the previous city. The abbreviations are the clock tool's own list when it is
installed, so the model and the tool agree on what a zone is.
"""

from __future__ import annotations

import functools
from zoneinfo import available_timezones


@functools.lru_cache(maxsize=1)
def _abbreviations() -> frozenset[str]:
    try:
        from asdrp.tools.clock import ZONE_ABBREVIATIONS
    except ImportError:
        return frozenset({"UTC", "GMT"})
    return frozenset(ZONE_ABBREVIATIONS)


@functools.lru_cache(maxsize=1)
def _iana_names() -> frozenset[str]:
    return frozenset(available_timezones())


def is_zone_name(word: str) -> bool:
    """True for a known abbreviation ("PST") or an IANA zone name ("Europe/Paris")."""
    return word in _abbreviations() or ("/" in word and word in _iana_names())
