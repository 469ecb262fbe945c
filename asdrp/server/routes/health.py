"""`GET /health` (liveness, mode) and `GET /metrics` (Prometheus text format)."""

from __future__ import annotations

import os

from fastapi import APIRouter, Depends, Response, Security
from fastapi.security import HTTPAuthorizationCredentials

from asdrp.server.auth import api_key_scheme, bearer_scheme, presented_key
from asdrp.server.schemas import ErrorResponse, HealthResponse
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


async def metrics_reader(
    api_key: str | None = Security(api_key_scheme),
    bearer: HTTPAuthorizationCredentials | None = Security(bearer_scheme),
    services: ServerServices = Depends(get_services),
) -> None:
    """/metrics follows the auth mode: with API keys it needs one (unless ASDRP_PUBLIC_METRICS), since
    agent ids, error codes and traffic are not for anyone who can reach the port."""
    if not services.settings.public_metrics:
        services.authenticator.user_for(presented_key(api_key, bearer))


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, 401: {"model": ErrorResponse}},
    dependencies=[Depends(metrics_reader)],
)
async def metrics(services: ServerServices = Depends(get_services)) -> Response:
    """Prometheus metrics: turns, turn latency, errors, active turns and sessions."""
    return Response(services.metrics.render(), media_type=services.metrics.content_type)
