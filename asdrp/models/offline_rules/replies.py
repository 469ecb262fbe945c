"""Rules 1 and 5: prose from tool results, and the honest "here is what I can do" reply.

Tool results are usually the `str()` or JSON of a dict with a "summary" sentence, which is what
the offline model speaks; anything else is rendered as readable key: value text.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from asdrp.models.offline_rules.arguments import Param
from asdrp.models.offline_rules.text import first_sentence, humanize_identifier, join_phrases
from asdrp.models.offline_rules.tool_choice import ToolSpec
from asdrp.models.offline_rules.transcript import ToolResult

_SDK_ERROR = "An error occurred while running the tool"
_ERROR_TEXT = re.compile(r"^\s*(?:error|exception|traceback|\w+Error)\b[:\s]", re.IGNORECASE)
_GREETING = re.compile(r"^\s*(?:hi|hello|hey|hiya|howdy|good (?:morning|afternoon|evening)|greetings|yo)\b",
                       re.IGNORECASE)


def _parse(output: str) -> Any:
    text = output.strip()
    if not text or text[0] not in "{[":
        return output
    for loader in (json.loads, ast.literal_eval):
        try:
            return loader(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return output


def _render(value: Any) -> str:
    if isinstance(value, dict):
        summary = value.get("summary")
        if isinstance(summary, str) and summary.strip():
            return summary.strip()
        error = value.get("error")
        if isinstance(error, str) and error.strip():
            return f"the tool reported an error: {error.strip()}"
        pairs = [f"{humanize_identifier(str(k))}: {_render_scalar(v)}" for k, v in value.items()]
        return "; ".join(pairs) + "." if pairs else "The tool returned nothing."
    if isinstance(value, list):
        return "; ".join(_render(v) for v in value) if value else "The tool returned an empty list."
    return _render_scalar(value)


def _render_scalar(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)[:300]
    return str(value).strip()


def prose_from_results(results: list[ToolResult]) -> str:
    """Rule 1: one readable answer from the tool results that end the input."""
    sentences: list[str] = []
    for result in results:
        label = humanize_identifier(result.name) if result.name else "the tool"
        output = result.output.strip()
        if output.startswith(_SDK_ERROR) or _ERROR_TEXT.match(output):
            detail = output.split("Error:", 1)[1].strip() if "Error:" in output else output
            if detail.startswith(_SDK_ERROR):
                sentences.append(f"Sorry \u2014 {label} failed, and it did not say why. "
                                 "Please check the values and try again.")
            else:
                sentences.append(f"Sorry \u2014 {label} failed: {detail}")
            continue
        text = _render(_parse(output)) if output else f"{label} returned no result."
        # Capitalise a sentence, not a formula: "sqrt(144) = 12" stays as the tool wrote it.
        formula = re.match(r"^[a-z]+\(", text)
        sentences.append(text[0].upper() + text[1:] if text and not formula else text)
    return " ".join(sentences)


def _capabilities(specs: list[ToolSpec]) -> str:
    phrases = []
    for spec in specs:
        sentence = first_sentence(spec.description).rstrip(".") or humanize_identifier(spec.name)
        phrases.append(sentence[0].lower() + sentence[1:])
    return "; ".join(phrases)


def _example(specs: list[ToolSpec]) -> str:
    if not specs:
        return "Try telling me your name, then ask me what it is \u2014 I remember our conversation."
    names = [humanize_identifier(spec.name) for spec in specs[:2]]
    return f"Try asking about {join_phrases(names, 'or')}, and name the values it needs."


def _role(instructions: str | None) -> str:
    sentence = first_sentence(instructions)
    match = re.match(r"you are (.+?)[.!]?$", sentence, re.IGNORECASE)
    return match.group(1) if match else ""


def capability_reply(instructions: str | None, specs: list[ToolSpec], message: str) -> str:
    """Rule 5: a short, honest reply saying what the offline model can do here."""
    role = _role(instructions)
    who = f"I'm {role}, running on the offline model" if role else "I'm running on the offline model"
    if _GREETING.match(message):
        # A greeting gets a greeting and one line, not the whole list of tools.
        if specs:
            topics = join_phrases([humanize_identifier(spec.name) for spec in specs[:3]], "or")
            return f"Hello! {who} (no LLM). Ask me about {topics} — and I remember what you tell me."
        return f"Hello! {who} (no LLM). Tell me something to remember, or ask what you told me earlier."
    greeting = ""
    if specs:
        line = (f"{who} (no LLM), so I can only help with what my tools do \u2014 "
                f"{_capabilities(specs)} \u2014 and recall what you told me earlier in this "
                "conversation.")
    else:
        line = (f"{who} (no LLM), so I can only recall what you told me earlier in this conversation "
                "\u2014 your name, your favourite things, or anything you ask me to remember.")
    return f"{greeting}{line} {_example(specs)}"


def missing_arguments_reply(spec: ToolSpec, missing: list[Param]) -> str:
    """Rule 4's fallback: ask for the required values the message and history did not supply."""
    needs = join_phrases([_describe(p) for p in missing])
    return f"I need the {needs} to work that out ({humanize_identifier(spec.name)}). Could you tell me?"


def _describe(param: Param) -> str:
    if param.is_place:
        return "place" if humanize_identifier(param.name) in ("place", "location") else \
            humanize_identifier(param.name)
    return humanize_identifier(param.name)
