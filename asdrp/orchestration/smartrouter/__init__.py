"""SmartRouter: `await SmartRouter.create(factory=None, config_path=None)`, then `route_query`."""

from asdrp.orchestration.smartrouter.config import Capability, SmartRouterConfig, load_smartrouter_config
from asdrp.orchestration.smartrouter.planner import Plan, RulePlanner, SubQuery, split_query
from asdrp.orchestration.smartrouter.router import SmartRouter

__all__ = ["Capability", "Plan", "RulePlanner", "SmartRouter", "SmartRouterConfig", "SubQuery",
           "load_smartrouter_config", "split_query"]
