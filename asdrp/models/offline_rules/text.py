"""Text normalisation for the offline model: tokens, light stemming, stopwords and synonyms.

Tool choice and argument filling are lexical, so every comparison goes through the same
`content_tokens` normalisation; otherwise "years" in a question would not meet "year" in a schema.
"""

from __future__ import annotations

import re

STOPWORDS: frozenset[str] = frozenset(
    """
    a an the and or but if then so of in on at to for from by with about as into onto over under
    is are was were be been being am do does did done doing have has had having will would shall
    should can could may might must i me my mine we us our you your yours it its he she they them
    their this that these those there here what which who whom whose when why how much many
    please tell give show let get find need want know like just also some any all each per
    e g eg ie etc not no yes okay ok hi hello hey thank thanks one value number given return returns
    first second third fourth fifth last former latter
    """.split()
)
"""Words too common to say which tool a message is about."""

SYNONYMS: dict[str, tuple[str, ...]] = {
    "where": ("location", "locate", "coordinate"),
    "far": ("distance",),
    "distant": ("distance",),
    "away": ("distance",),
    "nearest": ("near",),
    "nearby": ("near",),
    "closest": ("near",),
    "around": ("near",),
    "clock": ("time",),
    "mortgage": ("loan",),
    "monthly": ("month", "payment"),
    "interest": ("rate",),
    "compute": ("calculate", "evaluate"),
    "calculate": ("evaluate", "expression"),
    "plus": ("calculate",),
    "minus": ("calculate",),
    "times": ("calculate",),
    "save": ("saving", "deposit"),
    "saving": ("saving",),
    "compounded": ("compound",),
    "people": ("population",),
    "bigger": ("population",),
    "biggest": ("population",),
    "larger": ("population",),
    "largest": ("population",),
    "inhabitants": ("population",),
    "populous": ("population",),
    "compounding": ("compound",),
    "divided": ("calculate",),
    "grow": ("growth",),
    "grows": ("growth",),
    "invest": ("investment", "growth"),
    "increase": ("change",),
    "decrease": ("change",),
    "percent": ("percentage", "rate"),
    "convert": ("conversion",),
}
"""A few everyday words mapped onto the vocabulary tool schemas tend to use."""

_WORD = re.compile(r"[A-Za-z\u00C0-\u024F]+(?:'[A-Za-z]+)?|\d+(?:\.\d+)?")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def stem(word: str) -> str:
    """Fold simple English plurals and possessives so "years" meets "year"."""
    w = word.lower()
    if w.endswith("'s"):
        w = w[:-2]
    w = w.replace("'", "")
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and w.endswith("sses"):
        return w[:-2]
    if len(w) > 4 and w.endswith(("xes", "zes", "ches", "shes")):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def words(text: str) -> list[str]:
    """Words of `text` in order, identifiers split (snake_case, camelCase), lower-cased."""
    spaced = _CAMEL.sub(" ", text.replace("_", " "))
    return [w.lower() for w in _WORD.findall(spaced)]


def content_tokens(text: str, *, expand: bool = False) -> list[str]:
    """Stemmed non-stopword tokens, in order, without repeats; synonyms appended when `expand`."""
    seen: dict[str, None] = {}
    for raw in words(text):
        if raw in STOPWORDS or (raw.isdigit() and not expand):
            continue
        if raw.replace(".", "").isdigit():
            continue
        token = stem(raw)
        if token in STOPWORDS:
            continue
        seen.setdefault(token, None)
        if expand:
            for extra in SYNONYMS.get(raw, ()) + SYNONYMS.get(token, ()):
                seen.setdefault(extra, None)
    return list(seen)


def first_sentence(text: str | None) -> str:
    """The first sentence of `text` (empty when there is none), whitespace collapsed."""
    if not text:
        return ""
    flat = " ".join(text.split())
    match = re.match(r"(.+?[.!?])(?:\s|$)", flat)
    return (match.group(1) if match else flat).strip()


def humanize_identifier(name: str) -> str:
    """`annual_rate_percent` -> "annual rate percent", for replies that name parameters or tools."""
    return " ".join(words(name))


def join_phrases(items: list[str], conjunction: str = "and") -> str:
    """"a", "a and b", "a, b and c"."""
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"
