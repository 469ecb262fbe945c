"""`GET /v1/models`: every agent and orchestrator id, as OpenAI lists models (the id is what `model` takes)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from asdrp.server.auth import current_user
from asdrp.server.errors import ApiError
from asdrp.server.services import ServerServices, get_services

router = APIRouter(prefix="/v1", tags=["v1 models"], dependencies=[Depends(current_user)])

MODEL_CREATED = 0
"""Agents have no release date; OpenAI's `created` field is required, so it is the epoch."""


def model_object(descriptor: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": descriptor["id"],
        "object": "model",
        "created": MODEL_CREATED,
        "owned_by": "asdrp",
        "kind": descriptor.get("kind", "agent"),
        "display_name": descriptor.get("display_name", descriptor["id"]),
    }


@router.get("/models")
async def list_models(services: ServerServices = Depends(get_services)) -> dict[str, Any]:
    """Every enabled agent, then `moe` and `smartrouter`."""
    return {"object": "list", "data": [model_object(d) for d in services.catalog.descriptors()]}


@router.get("/models/{model_id}")
async def retrieve_model(model_id: str, services: ServerServices = Depends(get_services)) -> dict[str, Any]:
    for descriptor in services.catalog.descriptors():
        if descriptor["id"].lower() == model_id.lower():
            return model_object(descriptor)
    raise ApiError(404, "model_not_found", f"No model {model_id[:80]!r}; GET /v1/models lists them.")
