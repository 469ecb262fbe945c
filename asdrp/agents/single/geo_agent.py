"""Geography specialist: geocoding, reverse geocoding, distances and places nearby, from offline data."""

from __future__ import annotations

from agents import Agent

from asdrp.agents.agent_builder import build_agent
from asdrp.agents.config_loader import ModelConfig
from asdrp.tools import geo


def create_geo_agent(instructions: str, model_config: ModelConfig) -> Agent:
    """The GeoAgent agent with its tools and resolved model."""
    return build_agent(
        "GeoAgent",
        instructions,
        model_config,
        [geo.geocode, geo.reverse_geocode, geo.distance_between, geo.places_near],
    )
