"""Everything a client can talk to: the enabled agents plus the MoE and SmartRouter orchestrators.

The server's `/agents` routes and the CLI ask the catalog for descriptors and for a `Responder`
by id, so an orchestrator is listed and addressed exactly like an agent. Orchestrators are built
on first use (no network, fast); stores stay owned by the agent factory.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from asdrp.agents.agent_factory import AgentFactory
from asdrp.agents.protocol import AgentException
from asdrp.memory import SessionStore
from asdrp.memory.ids import describe_value
from asdrp.orchestration.base import Responder
from asdrp.orchestration.conversation import ConversationOrchestrator
from asdrp.orchestration.memory import ConversationMemory
from asdrp.orchestration.moe import MoEOrchestrator, load_moe_config
from asdrp.orchestration.smartrouter import SmartRouter, load_smartrouter_config
from asdrp.orchestration.specialist import SpecialistResponder

ORCHESTRATOR_IDS = ("moe", "smartrouter")


class ResponderCatalog:
    """Descriptors and responders for every addressable id (agents and orchestrators)."""

    def __init__(
        self, factory: AgentFactory, *, wait_when_busy: bool = True,
        moe_config_path: str | Path | None = None, smartrouter_config_path: str | Path | None = None,
    ) -> None:
        self.factory = factory
        self.wait_when_busy = wait_when_busy
        self.moe_config_path = moe_config_path
        self.smartrouter_config_path = smartrouter_config_path
        self._orchestrators: dict[str, ConversationOrchestrator] = {}
        self._specialists: dict[str, SpecialistResponder] = {}
        self._tools: dict[str, list[str]] = {}

    def ids(self) -> list[str]:
        """Every valid id: enabled agents in configuration order, then the orchestrators."""
        return [*self.factory.agent_names(), *ORCHESTRATOR_IDS]

    def orchestrator(self, orchestrator_id: str) -> ConversationOrchestrator:
        """The orchestrator `moe` or `smartrouter`, built on first use."""
        built = self._orchestrators.get(orchestrator_id)
        if built is None:
            if orchestrator_id == "moe":
                built = MoEOrchestrator(self.factory, load_moe_config(self.moe_config_path, self.factory),
                                        wait_when_busy=self.wait_when_busy)
            elif orchestrator_id == "smartrouter":
                built = SmartRouter(self.factory, load_smartrouter_config(self.smartrouter_config_path, self.factory),
                                    wait_when_busy=self.wait_when_busy)
            else:
                raise AgentException(f"Unknown orchestrator {orchestrator_id!r}; valid: {', '.join(ORCHESTRATOR_IDS)}",
                                     agent_name=orchestrator_id)
            self._orchestrators[orchestrator_id] = built
        return built

    def get(self, agent_id: str) -> Responder:
        """The responder for `agent_id` (case-insensitive); AgentException listing valid ids otherwise."""
        wanted = str(agent_id).strip().lower()
        if wanted in ORCHESTRATOR_IDS:
            return self.orchestrator(wanted)
        for name in self.factory.agent_names():
            if name.lower() == wanted:
                responder = self._specialists.get(name)
                if responder is None:
                    responder = self._specialists[name] = SpecialistResponder(
                        self.factory, name, wait_when_busy=self.wait_when_busy)
                return responder
        raise AgentException(
            f"Unknown agent {describe_value(agent_id)}; valid ids: {', '.join(self.ids())}", agent_name=str(agent_id)
        )

    def _tool_names(self, name: str) -> list[str]:
        if name not in self._tools:
            config = self.factory.agent_config(name)
            try:
                create = getattr(importlib.import_module(config.module), config.function)
                agent = create(config.default_instructions, config.model)
                self._tools[name] = [getattr(tool, "name", str(tool)) for tool in agent.tools]
            except Exception:
                self._tools[name] = []
        return self._tools[name]

    def descriptors(self) -> list[dict[str, Any]]:
        """What `GET /agents` lists: id, display_name, kind, description, tools, session_memory."""
        found: list[dict[str, Any]] = []
        for name in self.factory.agent_names():
            config = self.factory.agent_config(name)
            memory = config.session_memory
            block: dict[str, Any] = {"type": memory.type if memory.is_active else "none", "enabled": memory.is_active,
                                     "context_items": memory.context_items, "context_tokens": memory.context_tokens}
            if memory.is_active:
                store = self.factory.session_store(name)
                block["type"] = store.kind
                if store.kind == "sqlite":
                    block["database_path"] = store.location
                else:
                    block["url"] = "shared"
            found.append({"id": name, "display_name": config.display_name, "kind": "agent",
                          "description": config.description, "tools": self._tool_names(name),
                          "session_memory": block})
        for orchestrator_id in ORCHESTRATOR_IDS:
            orchestrator = self.orchestrator(orchestrator_id)
            found.append({"id": orchestrator_id, "display_name": orchestrator.display_name, "kind": "orchestrator",
                          "description": orchestrator.description, "tools": [],
                          "agents": orchestrator.memory.specialists,
                          "session_memory": orchestrator.memory.describe()})
        return found

    def stores(self) -> list[SessionStore]:
        """Every store holding user-visible conversations (agents' and orchestrators' transcripts)."""
        # Not factory.all_stores(): that also holds the orchestrators' tool-memory files.
        candidates = [self.factory.session_store(name) for name in self.factory.agent_names()]
        candidates += [self.orchestrator(o).memory.transcript for o in ORCHESTRATOR_IDS]
        stores: list[SessionStore] = []
        for store in candidates:
            if store is not None and all(store is not seen for seen in stores):
                stores.append(store)
        return stores

    def side_memories(self) -> list[ConversationMemory]:
        """The orchestrators' memories, whose routing and tool records must go when a conversation does."""
        return [self.orchestrator(o).memory for o in ORCHESTRATOR_IDS]

    def retained_stores(self) -> list[SessionStore]:
        """Every store retention applies to: the transcripts' and the orchestrators' side-memory stores."""
        stores = self.stores()
        for memory in self.side_memories():
            if all(memory.tools is not seen for seen in stores):
                stores.append(memory.tools)
        return stores

    async def aclose(self) -> None:
        """Release the orchestrators; the stores are closed by the factory's owner (`factory.aclose()`)."""
        orchestrators, self._orchestrators = self._orchestrators, {}
        for orchestrator in orchestrators.values():
            await orchestrator.aclose()
        self._specialists.clear()
