"""`GET /agents` and `GET /agents/{agent_id}`: what can be addressed, read-only.

There is deliberately no endpoint that changes the configuration or loads code a client names.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from asdrp.server.auth import current_user
from asdrp.server.errors import ApiError
from asdrp.server.schemas import AgentDescriptor, ErrorResponse
from asdrp.server.services import ServerServices, get_services

router = APIRouter(tags=["agents"], dependencies=[Depends(current_user)])


@router.get("/agents", response_model=list[AgentDescriptor], responses={401: {"model": ErrorResponse}})
async def list_agents(services: ServerServices = Depends(get_services)) -> list[dict[str, Any]]:
    """Every enabled specialist agent and the `moe` and `smartrouter` orchestrators."""
    return services.catalog.descriptors()


@router.get(
    "/agents/{agent_id}",
    response_model=AgentDescriptor,
    responses={401: {"model": ErrorResponse}, 404: {"model": ErrorResponse}},
)
async def get_agent(agent_id: str, services: ServerServices = Depends(get_services)) -> dict[str, Any]:
    """One agent's configuration: display name, description, tools, session memory settings."""
    responder = services.catalog.get(agent_id)  # unknown -> AgentException -> 404 listing valid ids
    for descriptor in services.catalog.descriptors():
        if descriptor["id"] == responder.agent_id:
            return descriptor
    raise ApiError(404, "unknown_agent", f"Agent {agent_id!r} has no description")
