"""Short, fitting replies the offline model can give without a tool, and honest refusals.

Thanks, "how are you?" and goodbyes get one line back. Questions no tool can answer (weather, news,
jokes, translation, prices) and messages in another language get a short reply that says so and
states no fact — the model never makes up a forecast or a translation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_ACK = re.compile(r"^\W*(?:ok(?:ay)?|cool|great|nice|perfect|awesome|got it|alright|all right|sounds good|"
                  r"good|excellent|wonderful|understood|i see)\W*$", re.IGNORECASE)
_THANKS = re.compile(r"^\W*(?:(?:ok(?:ay)?|cool|great|nice|perfect|awesome|brilliant|lovely)[,!.]?\s+)?"
                     r"(?:thanks?|thank you|thx|ty|cheers|much appreciated|great,? thanks?|thanks a lot"
                     r"|thank you (?:so|very) much|many thanks)\b[\w\s,!.]*$", re.IGNORECASE)
_HOW_ARE_YOU = re.compile(r"\bhow (?:are you|are things|is it going|'s it going|do you do)\b|\bhow are u\b",
                          re.IGNORECASE)
_BYE = re.compile(r"^\W*(?:bye|goodbye|good bye|see you|see ya|good night|later|farewell)\b", re.IGNORECASE)
_WHATS_UP = re.compile(r"^\W*(?:what'?s up|sup|wassup|what's new|how's your day)\W*$", re.IGNORECASE)
_WHO_ARE_YOU = re.compile(r"\b(?:who are you|what are you|are you (?:a bot|an ai|human|real))\b", re.IGNORECASE)

NO_TOOL_TOPICS: dict[str, tuple[str, ...]] = {
    "the weather": ("weather", "forecast", "temperature", "rain", "raining", "snow", "snowing", "sunny",
                    "humidity", "humid", "windy"),
    "the news": ("news", "headline", "headlines", "election", "elections", "politics"),
    "facts about people": ("who is", "who was", "who are", "who were", "who wrote", "who invented",
                           "who discovered", "who painted", "who directed"),
    "jokes": ("joke", "jokes", "something funny", "pun"),
    "translations": ("translate", "translation", "translated"),
    "live prices or markets": ("stock", "stocks", "share price", "exchange rate", "bitcoin", "crypto"),
    "sports results": ("match result", "who won", "football score", "game score"),
    "bookings or purchases": ("book me", "book a", "booking", "reserve", "reservation", "buy me", "order me"),
    "unit conversions": ("celsius", "fahrenheit", "kelvin", "kilogram", "kilograms", "ounces", "inches",
                         "litres", "liters", "gallons"),
    "travel times or routes": ("by car", "driving", "by train", "by bus", "on foot", "travel time",
                               "flight time", "directions to", "route to"),
}
"""What no offline tool knows, by the words that ask for it. A tool whose own words include the
asking word (a weather tool) wins: the engine checks the tools first."""

_SAY_IN = re.compile(r"\bhow (?:do|would) (?:you|i) say\b|\bin (?:french|german|spanish|italian|japanese|chinese)\b",
                     re.IGNORECASE)

_FOREIGN_WORDS: frozenset[str] = frozenset(
    """
    quelle quel quels est-ce qu'est où combien heure heures aujourd'hui pourquoi comment bonjour merci
    je suis vous êtes ville loin temps il fait ça va vas très s'il plaît
    wie wieviel wo ist spät uhr warum bitte danke ich bin sind heute entfernt weit hallo guten geht's geht dir
    qué cuál cuánto dónde está estás cómo hora hoy por favor gracias hola lejos tiempo tal
    quanto dove sono ciao grazie oggi
    """.split())
"""Common words of French, German, Spanish and Italian questions that English never uses."""


def _non_latin_share(text: str) -> float:
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 0.0
    other = sum(1 for ch in letters if not unicodedata.name(ch, "").startswith("LATIN"))
    return other / len(letters)


def is_foreign(text: str) -> bool:
    """True for a message mostly in another script, or with several non-English question words."""
    if _non_latin_share(text) > 0.5:
        return True
    tokens = re.findall(r"[^\W\d_]+(?:['-][^\W\d_]+)?", text.lower())
    foreign = sum(1 for t in tokens if t in _FOREIGN_WORDS)
    if tokens and foreign == len(tokens):
        return True  # "Bonjour", "Hola", "Merci"
    return foreign >= 2 and foreign * 2 >= len(tokens) * 0.5


def no_tool_topic(text: str, tool_words: Iterable[str]) -> str | None:
    """The topic of a request no tool can answer ("the weather"), or None.

    A topic word the agent's own tools use (a weather tool's "weather") is not a refusal.
    """
    lowered = text.lower()
    known = set(tool_words)
    for topic, cues in NO_TOOL_TOPICS.items():
        for cue in cues:
            if re.search(rf"\b{re.escape(cue)}\b", lowered) and cue.split()[0] not in known:
                return topic
    if _SAY_IN.search(text) and "translate" not in known:
        return "translations"
    return None


_STATEMENT = re.compile(r"^\W*(?:i'm|i am|i'll|i will|i've|i have|i was|i had|we're|we are|we'll|my)\b[^?]*$",
                        re.IGNORECASE)
_TROUBLE = re.compile(r"\b(?:won't|can't|cannot|doesn't|does not|isn't|not working|broken|crash\w*|error|problem|"
                      r"issue|stuck|fail\w*|lost)\b", re.IGNORECASE)


def statement_reply(text: str) -> str | None:
    """One line for a plain statement about the user that no tool or recall rule took up
    ("I'm going to Rome next week", "My printer won't print"); None for anything else."""
    stripped = text.strip()
    if not _STATEMENT.match(stripped) or len(stripped.split()) > 25:
        return None
    if _TROUBLE.search(stripped):
        return ("Sorry to hear that. I've noted it, but on the offline model (no LLM) I can't "
                "troubleshoot it myself.")
    return "Noted \u2014 I'll keep that in mind for this conversation."


def small_talk_reply(text: str, tool_words: Iterable[str]) -> str | None:
    """A one-line reply to thanks, "how are you?", goodbyes, identity questions, refusals; else None."""
    stripped = text.strip()
    if is_foreign(stripped):
        return ("Sorry, I only understand English on the offline model (no LLM). "
                "Could you ask me in English?")
    if _WHO_ARE_YOU.search(stripped):
        return ("I'm an assistant running on the offline model: no LLM, just my tools and what you've "
                "told me in this conversation.")
    topic = no_tool_topic(stripped, tool_words)
    if topic is not None:
        return (f"Sorry, I can't help with {topic}: I'm running on the offline model (no LLM, no internet), "
                "and none of my tools covers that.")
    if _THANKS.match(stripped):
        return "You're welcome! Anything else I can help with?"
    if _ACK.match(stripped):
        return "Great! Anything else I can help with?"
    if _BYE.match(stripped):
        return "Goodbye! Come back any time \u2014 I'll remember this conversation."
    if _WHATS_UP.match(stripped):
        return "Not much \u2014 I'm here and ready to help. What would you like to know?"
    if _HOW_ARE_YOU.search(stripped):
        return "I'm doing well, thanks for asking! What can I help you with?"
    if _WHO_ARE_YOU.search(stripped):
        return ("I'm an assistant running on the offline model: no LLM, just my tools and what you've "
                "told me in this conversation.")
    return None
