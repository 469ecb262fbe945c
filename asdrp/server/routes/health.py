"""`GET /health` (liveness, mode) and `GET /metrics` (Prometheus text format)."""

from __future__ import annotations

import os

from fastapi import APIRouter, Depends, Response

from asdrp.server.schemas import HealthResponse
from asdrp.server.services import ServerServices, get_services

router = APIRouter(tags=["health"])

try:
    from importlib.metadata import version as _version

    VERSION = _version("asdrp")
except Exception:  # running from a source tree that was never installed
    VERSION = "0.0.0"


@router.get("/health", response_model=HealthResponse)
async def health(services: ServerServices = Depends(get_services)) -> HealthResponse:
    """Liveness: always `ok` while the server runs; says whether API keys are required and which process answers."""
    return HealthResponse(
        mode="local" if services.settings.local_mode else "api_keys",
        agents=len(services.catalog.descriptors()),
        version=VERSION,
        pid=os.getpid(),
    )


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(services: ServerServices = Depends(get_services)) -> Response:
    """Prometheus metrics: turns, turn latency, errors, active turns and sessions."""
    return Response(services.metrics.render(), media_type=services.metrics.content_type)
