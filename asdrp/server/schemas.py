"""Request and response models of the HTTP contract (DESIGN.md, "The HTTP contract").

Field names are the contract clients rely on; extra fields may be added, never renamed. The
session id rule is stated as a schema pattern and also checked in the handlers, so the 422
message can say exactly which rule an id broke.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from asdrp.memory.ids import ID_RULE, ID_SCHEMA_PATTERN, MAX_ID_LENGTH


def operation_link(
    method: str,
    path: str,
    description: str,
    parameters: dict[str, str] | None = None,
    request_body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An OpenAPI link to `method path` (by operationRef, so a renamed handler keeps it), for a route's
    `responses={status: {"links": {...}}}`: it tells clients and stateful fuzzers which call a response feeds."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    link: dict[str, Any] = {"operationRef": f"#/paths/{pointer}/{method.lower()}", "description": description}
    if parameters:
        link["parameters"] = parameters
    if request_body is not None:
        link["requestBody"] = request_body
    return link


class ErrorResponse(BaseModel):
    """Every error: a message that names the problem and a stable machine-readable code."""

    detail: str
    error_code: str


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"
    mode: Literal["local", "api_keys"]
    """`local`: no API keys, every request is the local user; `api_keys`: X-API-Key required."""
    agents: int
    """How many agents and orchestrators can be addressed."""
    version: str
    pid: int
    """The answering server process: tells the workers of `asdrp serve --workers N` apart."""


class AgentDescriptor(BaseModel):
    """An addressable agent or orchestrator, as `GET /agents` lists it."""

    model_config = ConfigDict(extra="allow")

    id: str
    display_name: str
    kind: Literal["agent", "orchestrator"]
    description: str = ""
    tools: list[str] = Field(default_factory=list)
    session_memory: dict[str, Any] = Field(default_factory=dict)


class ChatRequest(BaseModel):
    """One user message; omit `session_id` to start a conversation (the reply carries the new id)."""

    model_config = ConfigDict(extra="forbid")

    # The rules are stated in the schema (json_schema_extra) and enforced by the handler, whose
    # errors name them (empty_input, input_too_large, invalid_session_id) better than a pattern would.
    input: str = Field(
        ...,
        description="The user's message (not blank; at most ASDRP_MAX_INPUT_CHARS characters).",
        json_schema_extra={"minLength": 1, "pattern": r"\S"},
    )
    session_id: str | None = Field(
        None,
        description=f"Conversation to continue; null starts a new one. Rule: {ID_RULE}.",
        json_schema_extra={"pattern": ID_SCHEMA_PATTERN, "minLength": 1, "maxLength": MAX_ID_LENGTH},
    )


class ChatMetadata(BaseModel):
    model_config = ConfigDict(extra="allow")

    session_id: str
    agent_id: str
    session_enabled: bool
    model: str
    duration_ms: float | None = None


class ChatResponse(BaseModel):
    response: str
    trace: list[dict[str, Any]] = Field(default_factory=list)
    metadata: ChatMetadata


class StreamEventBody(BaseModel):
    """The JSON in each `data:` line of `POST /agents/{id}/chat/stream` (documentation only)."""

    type: Literal["metadata", "token", "done", "error"]
    content: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)


class SessionSummary(BaseModel):
    session_id: str
    agent_id: str | None
    title: str
    created_at: float
    """Unix time of the first message."""
    updated_at: float
    """Unix time of the latest message."""
    item_count: int


class SessionList(BaseModel):
    sessions: list[SessionSummary]
    next_cursor: str | None = None
    """Pass as `?cursor=` for the next (older) page; null on the last page."""
    unavailable_stores: list[str] = Field(default_factory=list)
    """Session stores that could not be read: their conversations are missing from this listing."""


class DeletedSessions(BaseModel):
    deleted: int
    """How many conversations of the caller were deleted."""


class SessionItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    """`user`, `assistant`, or for tool items `function_call` / `function_call_output`."""
    content: str
    """The item's text (tool calls rendered as `name(arguments)`)."""
    agent: str | None
    created_at: float
    type: str = "message"
    seq: int = 0


class SessionDetail(BaseModel):
    session_id: str
    agent_id: str | None
    title: str = ""
    created_at: float | None = None
    updated_at: float | None = None
    items: list[SessionItem]
    """The history in the order it was written (each store's sequence; created_at is informative only)."""
    next_cursor: str | None = None
    """Pass as `?cursor=` for the next (later) items; null when this page ends the history."""
