"""Small, deterministic text rules the offline orchestrators share: words, follow-ups, greetings.

Both MoE selection and SmartRouter interpretation must decide from the conversation whether a
message carries a domain of its own ("What time is it there?") or leans on the previous turn
("And over 15 years?", "Why?", "yes, do that"); these helpers give them the same vocabulary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_WORD = re.compile(r"[a-z][a-z']*|\d+(?:\.\d+)?")

STOPWORDS = frozenset(
    """a an the is are was were be been am do does did of to in on at for from by with about as into
    and or but so if then than that this these those it its it's i me my you your we our they them
    their he she his her what which who whom whose how why when can could would should will shall
    may might please tell show give me let us let's there here some any all also just now very much
    many more most one not no yes ok okay i'm i'd i'll you're over per under up down out get""".split()
)
"""Words that say nothing about a domain; they never decide which specialist answers."""

ANAPHORA = frozenset({"there", "it", "that", "this", "those", "them", "one", "same", "again", "instead", "then"})
"""Words that point back into the conversation: a message using them needs the previous turn."""

CONTINUATIONS = frozenset({"and", "but", "or", "so", "also", "what about", "how about", "why", "instead"})
"""Openings of a message that continues the previous turn."""

AFFIRMATIONS = frozenset(
    {"yes", "yeah", "yep", "sure", "ok", "okay", "please", "go", "ahead", "do", "that", "it", "no", "nope"}
)
"""Replies that only make sense as an answer to the assistant's last question or offer."""


def stem(word: str) -> str:
    """A crude singular form, enough to match "years" with "year" and "loans" with "loan"."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """Lower-case words and numbers of `text`, in order."""
    return _WORD.findall(text.lower().replace("’", "'"))


_ARITHMETIC = re.compile(
    r"\d\s*(?:[-+*/^×÷]|\*\*)\s*[\d(]|\(\s*\d"
    r"|\d\s*(?:%|percent)\s+of\b|\b(?:square|cube) root of\b|\b\d[\d,.]*\s+(?:squared|cubed)\b"
    r"|\d\s+(?:plus|minus|times|multiplied by|divided by)\s+(?:\d|that\b|it\b)"
    r"|^\W*(?:add|subtract|multiply|divide)\s+(?:\d|that\b|it\b)"
    r"|^\W*(?:and\s+|then\s+)?(?:times|plus|minus|divided by|multiplied by)\s+\d", re.IGNORECASE | re.MULTILINE)
_WORDED_TIMES = re.compile(r"(?:(?<=\d)|^\W*(?:and\s+|then\s+)?)\s*times\s+(?=\d)", re.IGNORECASE)
_PROPER_NOUN = re.compile(r"(?<![.?!]\s)(?<!^)\b[A-Z][a-z]+")

ARITHMETIC_WORD = "arithmetic"
"""The word an arithmetic expression ("17*23") counts as, so it can name a domain."""

_CLITIC = re.compile(r"'(?:s|re|ll|d|ve|m)$")
"""What follows the apostrophe of a contraction or possessive: the word is what precedes it."""
_PLACE_REFERENCE = re.compile(
    r"\b(?:my|your|our|his|her|their|that|this|these|those)\s+(?:[a-z']+\s+){0,2}?"
    r"(?:city|cities|town|towns|hometown|village|country|countries|place|places|region)\b",
    re.IGNORECASE,
)
"""A place named by reference ("my favourite city", "that country", "my home town"): the phrase stands
where a place name would, so, like a place name, it says nothing about what is asked."""


def content_words(text: str) -> list[str]:
    """Stemmed words of `text` without stopwords or numbers: what can name a domain.

    A place named by reference ("in my favourite city") counts no more than a place name would.
    An arithmetic expression, in symbols or words ("17*23", "15% of 80", "100 minus 37"), counts as
    the word "arithmetic": it names a domain without domain words.
    """
    # "6 times 7" is arithmetic, not a question about the time.
    plain = _WORDED_TIMES.sub(" * ", text)
    plain = _PLACE_REFERENCE.sub(" ", plain)
    plain_words = (_CLITIC.sub("", w) for w in words(plain))  # "what's" is "what", "Kyoto's" is "Kyoto"
    found = [stem(w) for w in plain_words if w not in STOPWORDS and not w[0].isdigit() and len(w) > 1]
    if _ARITHMETIC.search(text):
        found.append(ARITHMETIC_WORD)
    return found


def vocabulary(texts: Iterable[str], *, skip_proper_nouns: bool = False) -> set[str]:
    """Every content word of `texts` (capabilities, example queries, keywords).

    With `skip_proper_nouns`, capitalised words inside a sentence ("Kyoto", "Paris") are left out:
    an example's place names must not make "What about Paris?" look like a domain of its own.
    """
    found: set[str] = set()
    for text in texts:
        if skip_proper_nouns:
            text = _PROPER_NOUN.sub(" ", text)
        found.update(content_words(text))
    return found


def continues_previous(text: str) -> bool:
    """True when the message opens like a continuation ("And ...", "What about ...", "Why?")."""
    lowered = " ".join(words(text))
    return any(lowered == c or lowered.startswith(c + " ") for c in CONTINUATIONS)


def points_back(text: str) -> bool:
    """True when the message refers to something earlier ("there", "it", "that one")."""
    return any(w in ANAPHORA for w in words(text))


def is_small_talk(text: str, phrases: Iterable[str], max_words: int) -> bool:
    """True for a short message made only of greeting/acknowledgement words ("hi", "thanks a lot")."""
    tokens = words(text)
    if not tokens or len(tokens) > max_words:
        return False
    known = vocabulary_words(phrases)
    return all(token in known for token in tokens)


def vocabulary_words(phrases: Iterable[str]) -> set[str]:
    """Every plain word of `phrases` (no stemming, stopwords kept)."""
    found: set[str] = set()
    for phrase in phrases:
        found.update(words(phrase))
    return found


def is_bare_reply(text: str) -> bool:
    """True for "yes", "sure, do that", "no": a reply to a question the assistant asked."""
    tokens = words(text)
    return bool(tokens) and len(tokens) <= 5 and all(token in AFFIRMATIONS for token in tokens)


def asks_or_offers(answer: str) -> bool:
    """True when an assistant answer ends by asking the user something (so "yes" answers it)."""
    stripped = answer.strip()
    return stripped.endswith("?") or bool(
        re.search(r"\b(shall i|should i|do you want|would you like)\b", stripped.lower())
    )


_QUESTION_STARTS = (
    "what|where|when|who|whom|which|why|how|is|are|was|were|do|does|did|can|could|would|will|should|"
    "convert|calculate|compute|tell|give|find|show|list|remember|summarize|summarise"
)
_SENTENCE_SPLIT = re.compile(r"(?<=[?;!])\s+|(?<=\.)\s+(?=[A-Z])")
_CONJUNCTION_SPLIT = re.compile(
    rf",?\s+(?:and(?:\s+then)?|then|also|plus)\s+(?=(?:{_QUESTION_STARTS})\b)", re.IGNORECASE
)


def split_query(query: str) -> list[str]:
    """Split a compound message into its questions (question marks, and conjunctions opening a new one)."""
    parts: list[str] = []
    for sentence in _SENTENCE_SPLIT.split(query.strip()):
        for piece in _CONJUNCTION_SPLIT.split(sentence):
            piece = piece.strip(" ,")
            if piece:
                parts.append(piece)
    return parts or [query.strip()]


_DUMMY_IT = re.compile(r"\b(?:time|date|day) (?:is|will) it\b|\bis it (?:now|today)\b|\bwill it be\b", re.IGNORECASE)
"""An "it" that refers to nothing ("what time is it in Lima?") creates no dependency."""


def refers_to_earlier_part(text: str) -> bool:
    """True when a part of a compound question needs the part before it ("what time is it there?")."""
    return points_back(_DUMMY_IT.sub(" ", text))


PLEASANTRIES = frozenset(
    """hi hello hey hiya howdy good morning afternoon evening night thanks thank you thx cheers great cool
    nice ok okay perfect awesome bye goodbye see later much lot a very so how are doing things going""".split()
)
"""Words of greetings, thanks and acknowledgements: a message made only of them is small talk."""


def is_pleasantry(text: str, max_words: int = 6) -> bool:
    """True for "Good morning!", "thanks a lot", "how are you?": a short message of pleasantries only."""
    return is_small_talk(text, PLEASANTRIES, max_words)
