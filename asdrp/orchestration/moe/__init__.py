"""Mixture of experts: `await MoEOrchestrator.create(factory=None, config_path=None)`, then `route_query`."""

from asdrp.orchestration.moe.config import ExpertGroup, MoEConfig, load_moe_config
from asdrp.orchestration.moe.orchestrator import MoEOrchestrator

__all__ = ["ExpertGroup", "MoEConfig", "MoEOrchestrator", "load_moe_config"]
