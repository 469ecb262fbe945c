"""Settings of the OpenAI-compatible API, read from `ASDRP_V1_*` environment variables.

Kept apart from `ServerSettings` because they only concern how chat front ends name a
conversation and a user; the rest of the server never reads them.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

OPENWEBUI_CHAT_HEADER = "X-OpenWebUI-Chat-Id"
"""The header Open WebUI sends with `ENABLE_FORWARD_USER_INFO_HEADERS=true`: always honoured."""


class V1Settings(BaseSettings):
    """How `/v1/chat/completions` learns which conversation and which user a request belongs to."""

    model_config = SettingsConfigDict(env_prefix="ASDRP_V1_", extra="ignore")

    conversation_header: str = Field("X-Conversation-Id")
    """A further header naming the conversation (set LibreChat's `headers:` to send it)."""
    trusted_user_header: str | None = Field(None)
    """When set (e.g. `X-OpenWebUI-User-Id`), a request with a valid key acts for the user this header names.

    Only for a front end that authenticates its own users and holds the key; without a key
    (local mode) the header is ignored, since anyone could send it."""

    def conversation_headers(self) -> tuple[str, ...]:
        """The headers that name a conversation, in the order they are looked at."""
        names = [OPENWEBUI_CHAT_HEADER]
        if self.conversation_header and self.conversation_header.lower() != OPENWEBUI_CHAT_HEADER.lower():
            names.append(self.conversation_header)
        return tuple(names)
