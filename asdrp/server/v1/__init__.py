"""The OpenAI-compatible API under `/v1`: models, conversations (+ items), responses, chat completions.

Same users (`Authorization: Bearer <key>` is the `X-API-Key` key), same stores, same turn path and
locks as our own API; only the wire format is OpenAI's, errors included (see `errors`).
"""

from __future__ import annotations

from fastapi import FastAPI

from asdrp.server.v1 import chat_completions, conversations, models, responses
from asdrp.server.v1.deps import v1_state
from asdrp.server.v1.errors import OpenAIErrorMiddleware
from asdrp.server.v1.settings import V1Settings
from asdrp.server.v1.state import V1Records


def install_v1(app: FastAPI, settings: V1Settings | None = None) -> None:
    """Add the `/v1` routes and OpenAI's error body for `/v1` paths (outermost, so every error is rewritten)."""
    app.state.v1_settings = settings if settings is not None else V1Settings()
    app.state.services.extra_side.append(V1Records(lambda: v1_state(app)))
    for module in (models, conversations, responses, chat_completions):
        app.include_router(module.router)
    app.add_middleware(OpenAIErrorMiddleware)


__all__ = ["V1Settings", "install_v1"]
