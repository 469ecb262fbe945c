"""Rule 2: recall what the user said earlier in the conversation, and acknowledge new facts.

This is the visible proof that session memory reached the model: the answer can only name the
fact if the earlier message was part of this call's input.
"""

from __future__ import annotations

import re

from asdrp.models.offline_rules.transcript import Transcript

_FLAGS = re.IGNORECASE
# Case-insensitive lead-in, but only Capitalised words continue a name ("bob and I" stops at "bob").
_NAME_STATEMENT = re.compile(
    r"(?i:\b(?:my name is|my name's|call me))\s+"
    r"([A-Za-z\u00C0-\u024F][\w'\-]*(?:\s+[A-Z\u00C0-\u00DE][\w'\-]*)*)")
_NAME_QUESTION = re.compile(
    r"\b(?:what(?:'s| is) my name|do you (?:know|remember) my name|who am i)\b", _FLAGS)
_FAVOURITE_STATEMENT = re.compile(
    r"\bmy (favou?rite) ([\w \-]+?) (?:is|are)\s+(.+?)\s*(?:[.!;]|,\s*(?:and|but)\b|$)", _FLAGS)
_FAVOURITE_QUESTION = re.compile(
    r"\b(?:what(?:'s| is| are)|do you (?:know|remember)) my (favou?rite) ([\w \-]+?)\s*\??$", _FLAGS)
_REMEMBER_QUESTION = re.compile(
    r"\b(?:what (?:did|do) i (?:ask|tell|want) you to remember|what (?:should|do|did) you remember"
    r"|what was i asking you to remember)\b", _FLAGS)
_REMEMBER_STATEMENT = re.compile(r"\b(?:please )?remember(?: that)?[:,]?\s+(.+?)\s*[.!]?$", _FLAGS)
_ASKED_QUESTION = re.compile(
    r"\bwhat (?:did|was) (?:i|the (?:first|last|previous) thing i) (?:ask|say|said|asked)"
    r"(?: (?:you|to you|of you))?(?: (first|before|earlier|previously|last|just now|at first|in the beginning))?\b",
    _FLAGS)
_ASKED_SHAPE = re.compile(r"\b(first|before|earlier|previously|last|just now|beginning)\b", _FLAGS)
_SUMMARY_QUESTION = re.compile(
    r"\b(?:summari[sz]e|recap|sum up)\b.*\b(?:conversation|chat|discussion|so far|talk)"
    r"|\bwhat have we (?:talked|spoken|been talking) about\b"
    r"|\b(?:summary|recap) of (?:our|the|this) (?:conversation|chat|discussion)\b", _FLAGS)


def _is_question(text: str) -> bool:
    return text.rstrip().endswith("?")


def _clean_value(value: str) -> str:
    return value.strip().strip("\"'").rstrip(".!?").strip()


def _latest_name(messages: list[str]) -> str | None:
    for text in reversed(messages):
        if _NAME_QUESTION.search(text):
            continue
        matches = list(_NAME_STATEMENT.finditer(text))
        if matches:
            return _clean_value(matches[-1].group(1))
    return None


def _favourite_key(category: str) -> str:
    return " ".join(category.lower().split())


def _latest_favourite(messages: list[str], category: str) -> str | None:
    wanted = _favourite_key(category)
    for text in reversed(messages):
        for match in reversed(list(_FAVOURITE_STATEMENT.finditer(text))):
            if _FAVOURITE_QUESTION.search(text) and _is_question(text):
                break
            if _favourite_key(match.group(2)) == wanted:
                return _clean_value(match.group(3))
    return None


def _latest_reminder(messages: list[str]) -> str | None:
    for text in reversed(messages):
        if _REMEMBER_QUESTION.search(text) or _is_question(text):
            continue
        match = _REMEMBER_STATEMENT.search(text)
        if match:
            return _clean_value(match.group(1))
    return None


def _quote(text: str) -> str:
    return f"\u201c{' '.join(text.split())}\u201d"


def _reflect(fact: str) -> str:
    """Turn the user's first person into second person for a read-back ("my" -> "your")."""
    swaps = {"i": "you", "my": "your", "me": "you", "mine": "yours", "i'm": "you're", "am": "are"}
    return " ".join(swaps.get(w.lower(), w) for w in fact.split())


def recall_answer(transcript: Transcript) -> str | None:
    """An answer under rule 2 (recall or acknowledgement), or None when the rule does not apply."""
    latest = transcript.latest.strip()
    if not latest:
        return None
    earlier = transcript.earlier_user_messages

    if _NAME_QUESTION.search(latest):
        name = _latest_name(earlier)
        if name:
            return f"Your name is {name}."
        return "I don't know your name yet \u2014 you haven't told me in this conversation."

    favourite_q = _FAVOURITE_QUESTION.search(latest)
    if favourite_q:
        spelling, category = favourite_q.group(1).lower(), favourite_q.group(2).strip()
        value = _latest_favourite(earlier, category)
        if value:
            return f"Your {spelling} {category} is {value}."
        return (f"I don't know your {spelling} {category} yet \u2014 you haven't told me in this "
                "conversation.")

    if _REMEMBER_QUESTION.search(latest):
        fact = _latest_reminder(earlier)
        if fact:
            return f"You asked me to remember that {_reflect(fact)}."
        return "You haven't asked me to remember anything yet in this conversation."

    if _SUMMARY_QUESTION.search(latest):
        if not earlier:
            return "We've only just started: this is the first thing you've said in this conversation."
        listed = "; ".join(f"{i}. {_quote(text)}" for i, text in enumerate(earlier, start=1))
        noun = "message" if len(earlier) == 1 else "messages"
        return f"So far you've sent me {len(earlier)} {noun}: {listed}."

    asked = _ASKED_QUESTION.search(latest)
    if asked and (asked.group(1) or _ASKED_SHAPE.search(latest)):
        if not earlier:
            return "This is the first thing you've asked me in this conversation, so there's nothing earlier to recall."
        which = (asked.group(1) or _ASKED_SHAPE.search(latest).group(1)).lower()  # type: ignore[union-attr]
        if which in ("first", "at first", "in the beginning", "beginning"):
            return f"The first thing you asked me was: {_quote(earlier[0])}"
        return f"Before this, you asked me: {_quote(earlier[-1])}"

    # Statements in the latest message get an acknowledgement (rule 2's other half).
    if not _is_question(latest):
        name = _latest_name([latest])
        if name:
            return f"Nice to meet you, {name}! I'll remember that."
        favourite = list(_FAVOURITE_STATEMENT.finditer(latest))
        if favourite:
            match = favourite[-1]
            return (f"Got it \u2014 your {match.group(1).lower()} {match.group(2).strip()} is "
                    f"{_clean_value(match.group(3))}. I'll remember that.")
        fact = _latest_reminder([latest])
        if fact:
            return f"Got it \u2014 I'll remember that {_reflect(fact)}."
    return None
