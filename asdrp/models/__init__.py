"""Where the LLM comes from: provider resolution and the deterministic offline model.

Importing this package disables SDK tracing when there is no API key, so importing the agent
factory is enough to keep a key-less machine off the network.
"""

from asdrp.models.offline import OFFLINE_MODEL_NAME, OfflineModel
from asdrp.models.provider import (
    ALLOWED_PROVIDERS,
    PROVIDER_ENV,
    ModelProviderError,
    configure_tracing,
    model_label,
    resolve_model,
    resolve_provider,
)

configure_tracing()

__all__ = [
    "ALLOWED_PROVIDERS",
    "OFFLINE_MODEL_NAME",
    "PROVIDER_ENV",
    "ModelProviderError",
    "OfflineModel",
    "configure_tracing",
    "model_label",
    "resolve_model",
    "resolve_provider",
]
