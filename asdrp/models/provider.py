"""Which LLM answers: OpenAI (or any OpenAI-compatible server) when a key is set, else offline.

Nothing here touches the network: models are constructed lazily by the SDK and tracing is turned
off whenever there is no key, so a fresh machine never tries to phone home.
"""

from __future__ import annotations

import os
from typing import Literal

from agents import set_tracing_disabled
from agents.models.interface import Model

from asdrp.models.offline import OFFLINE_MODEL_NAME, OfflineModel

PROVIDER_ENV = "ASDRP_MODEL_PROVIDER"
"""Environment variable that forces a provider: auto (default), openai or offline."""

ALLOWED_PROVIDERS: tuple[str, ...] = ("auto", "openai", "offline")

Provider = Literal["openai", "offline"]


class ModelProviderError(ValueError):
    """The environment asks for a provider that cannot be used (bad value, or openai with no key)."""


def _has_api_key() -> bool:
    return bool(os.environ.get("OPENAI_API_KEY", "").strip())


def resolve_provider() -> Provider:
    """"openai" or "offline", from ASDRP_MODEL_PROVIDER (auto: openai iff OPENAI_API_KEY is set)."""
    raw = os.environ.get(PROVIDER_ENV, "").strip().lower() or "auto"
    if raw not in ALLOWED_PROVIDERS:
        raise ModelProviderError(
            f"{PROVIDER_ENV}={os.environ.get(PROVIDER_ENV)!r} is not a known provider; "
            f"allowed values: {', '.join(ALLOWED_PROVIDERS)}")
    if raw == "auto":
        return "openai" if _has_api_key() else "offline"
    return "openai" if raw == "openai" else "offline"


def resolve_model(model_name: str) -> Model:
    """The `Model` an agent configured with `model_name` should use.

    Offline: a fresh `OfflineModel`. OpenAI: the SDK's model for that name (chat completions when
    OPENAI_BASE_URL is set, because that is what OpenAI-compatible servers speak).
    """
    configure_tracing()
    if resolve_provider() == "offline":
        return OfflineModel()
    if not _has_api_key():
        raise ModelProviderError(
            f"{PROVIDER_ENV}=openai needs OPENAI_API_KEY to be set (for a local OpenAI-compatible "
            "server any non-empty value works); unset it or use offline")
    from agents.models.openai_provider import OpenAIProvider

    use_responses = not os.environ.get("OPENAI_BASE_URL", "").strip()
    return OpenAIProvider(use_responses=use_responses).get_model(model_name)


def model_label(model: Model | str | None) -> str:
    """"offline" for the offline model, else the model's name (as shown in response metadata)."""
    if isinstance(model, OfflineModel):
        return OFFLINE_MODEL_NAME
    if isinstance(model, str):
        return model
    if model is None:
        return "default"
    name = getattr(model, "model", None)
    return str(name) if name else type(model).__name__


_tracing_disabled = False


def configure_tracing() -> None:
    """Disable SDK tracing when there is no key or the offline provider is in use. Idempotent.

    Tracing with no (or a dummy) key would try to export spans over the network at exit. It is
    never re-enabled here: turning tracing on is the user's choice, not a side effect.
    """
    global _tracing_disabled
    if _tracing_disabled:
        return
    try:
        offline = resolve_provider() == "offline"
    except ModelProviderError:
        offline = True  # the bad value is reported when a model is resolved, not at import
    if offline or not _has_api_key():
        set_tracing_disabled(True)
        _tracing_disabled = True
