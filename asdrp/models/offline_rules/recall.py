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


_FACT_STATEMENT = re.compile(
    r"\bmy ((?!name\b|favou?rite\b)[a-z][a-z'\-]*(?: [a-z][a-z'\-]*){0,3}?)"
    r" (?:(is called|is named|are called|is|are|was|were)|'s (?=called\b|named\b))\s+"
    r"(?!\b(?:you|it|that|this|what|which|how|too|so|very|not)\b)(.+?)\s*(?:[.!;]|,\s*(?:and|but)\b|$)",
    _FLAGS)
_FACT_QUESTION = re.compile(
    r"\b(?:(?:what|when|where|who)(?:'s| is| was| are| were)|whats|do you (?:know|remember)|tell me|"
    r"remind me(?: of)?|"
    r"what did i (?:say|tell you)) (?:the name of )?my ([a-z][a-z'\-]*(?: [a-z][a-z'\-]*){0,3}?)"
    r"(?:'s name| called| named| (?:is|was|were|are))?\s*\??$", _FLAGS)
_FACT_NAME_QUESTION = re.compile(r"\b(?:name of my|my [a-z'\-]+'s name|my [a-z'\-]+ (?:called|named))\b", _FLAGS)


def stated_value(thing: str, messages: list[str]) -> str | None:
    """What the user said about "my <thing>" in `messages`, in their words: a favourite ("my
    favourite city is Lisbon") or any other stated fact ("my home town is Porto"); None if never."""
    favourite = re.match(r"(favou?rite) (.+)$", thing.strip(), _FLAGS)
    if favourite:
        value = _latest_favourite(messages, favourite.group(2))
        return f"my {favourite.group(1)} {favourite.group(2)} is {value}" if value else None
    return stated_facts(messages).get(fact_key(thing))


def fact_key(thing: str) -> str:
    """One key for the ways a thing is named: "dog's name" and "dog" (called Rex) are the same."""
    thing = re.sub(r"'s name$", "", thing.lower().replace("\u2019", "'"))
    words = thing.split()
    return " ".join(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words)


def stated_facts(messages: list[str]) -> dict[str, str]:
    """What the user said about their own things ("my dog is called Rex"), newest statement per
    thing, kept in the user's words: thing -> "my dog is called Rex"."""
    facts: dict[str, str] = {}
    for text in messages:
        if _is_question(text):
            continue
        for match in _FACT_STATEMENT.finditer(text):
            clause = " ".join(match.group(0).strip().rstrip(".!;,").split())
            clause = re.sub(r",\s*(?:and|but)$", "", clause)
            facts[fact_key(match.group(1))] = clause
    return facts


def _fact_question(text: str) -> str | None:
    """The thing a recall question asks about ("what is my ticket number?" -> "ticket number")."""
    match = _FACT_QUESTION.search(text.strip())
    if match is None:
        return None
    thing = re.sub(r"(?:'s|\u2019s)(?: name)?$", "", re.sub(r"\s+(?:again|please|exactly|now|then)$", "",
                                                        match.group(1), flags=_FLAGS))
    if thing.lower().startswith(("name", "favourite", "favorite")):
        return None
    return fact_key(thing)


_WHERE_STATEMENT = re.compile(
    r"\bI (live|work|grew up|study|was born|am from|'m from|come from) (in|at|for|from)?\s*"
    r"([A-Z][\w'\-]*(?:[ ,]+[A-Z][\w'\-]*)*)", _FLAGS)
_WHERE_QUESTION = re.compile(
    r"\bwhere (?:do|did|was|am) I (live|work|grow up|study|born|from|come from)\b", _FLAGS)
_WHERE_VERBS = {"live": "live", "work": "work", "grew up": "grow up", "grow up": "grow up", "study": "study",
                "was born": "born", "born": "born", "am from": "from", "'m from": "from", "from": "from",
                "come from": "from"}


def _where_facts(messages: list[str]) -> dict[str, str]:
    """"I live in Berlin" -> {"live": "you live in Berlin"}: where the user said they live, work, ..."""
    facts: dict[str, str] = {}
    for text in messages:
        if _is_question(text):
            continue
        for match in _WHERE_STATEMENT.finditer(text):
            if not match.group(3)[0].isupper():
                continue
            clause = " ".join(match.group(0).split()).rstrip(".,!")
            facts[_WHERE_VERBS[match.group(1).lower()]] = clause
    return facts


def fact_answer(transcript: Transcript) -> str | None:
    """"Your dog is called Rex." for a recall question about a thing the user told us about; None
    when the question is not one or the thing was never mentioned (other rules may answer it)."""
    where = _WHERE_QUESTION.search(transcript.latest)
    if where is not None:
        clause = _where_facts(transcript.earlier_user_messages).get(_WHERE_VERBS[where.group(1).lower()])
        if clause is None:
            return "I don't know that yet \u2014 you haven't told me in this conversation."
        reflected = _reflect(clause)
        return reflected[0].upper() + reflected[1:] + "."
    thing = _fact_question(transcript.latest)
    if thing is None:
        return None
    clause = stated_facts(transcript.earlier_user_messages).get(thing)
    if clause is None:
        return None
    reflected = _reflect(clause)
    return reflected[0].upper() + reflected[1:] + "."


def unknown_fact_reply(transcript: Transcript) -> str | None:
    """The honest answer to a recall question about something never stated, or None."""
    thing = _fact_question(transcript.latest)
    if thing is None:
        return None
    what = f"your {thing}'s name" if _FACT_NAME_QUESTION.search(transcript.latest) and "name" not in thing \
        else f"your {thing}"
    return f"I don't know {what} yet \u2014 you haven't told me in this conversation."


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
    swaps = {"i": "you", "my": "your", "me": "you", "mine": "yours", "i'm": "you're", "am": "are", "was": "were",
             "myself": "yourself", "our": "your", "we": "you"}
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

    recalled_fact = fact_answer(transcript)
    if recalled_fact is not None:
        return recalled_fact

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
        stated = _stated_only(latest)
        if stated:
            return f"Got it \u2014 {_reflect(stated)}. I'll remember that."
        where = _WHERE_STATEMENT.match(latest.strip())
        if where and where.group(3)[0].isupper() and len(latest.split()) <= 8:
            return f"Got it \u2014 {_reflect(' '.join(where.group(0).split()))}. I'll remember that."
    return None


def _stated_only(text: str) -> str | None:
    """The fact of a message that does nothing but state one ("My ticket number is 4512.")."""
    match = _FACT_STATEMENT.match(re.sub(r"^(?:also|and|oh|btw|by the way|fyi)[,\s]+", "", text.strip(), flags=_FLAGS))
    if match is None or len(text.split()) > 14 or re.search(r"\b(?:what|how|can|could|please)\b", text, _FLAGS):
        return None
    rest = text.strip()[match.end():].strip(" .!")
    if rest:
        return None
    return " ".join(match.group(0).strip().rstrip(".!;,").split())
