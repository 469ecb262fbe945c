"""Creates configured agents and their session memory — the Python API of the spec.

`AgentFactory` turns `config/open_agents.yaml` into SDK agents (model already resolved) and
`ConversationSession`s on the store each agent's `session_memory` names. Sessions are cached by
`type:session_id:database_path`, so the same id on the same file is the same object, as the
spec promises; stores are shared per file/URL so many sessions cost one connection.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from agents import Agent

from asdrp.agents.config_loader import AgentConfig, AgentConfigLoader, SessionMemoryConfig
from asdrp.agents.protocol import AgentException
from asdrp.memory import (
    DEFAULT_USER,
    ConversationSession,
    Location,
    SessionStore,
    WindowSettings,
    derive_session_id,
    location_key,
    open_store,
    validate_caller,
    validate_session_id,
)

SESSION_URL_ENV_VAR = "ASDRP_SESSION_URL"
"""When set (postgresql://... or redis://...), every agent and orchestrator keeps its sessions there."""


def store_location(memory: SessionMemoryConfig, session_url: str | None, database_path: str | None = None) -> Location:
    """The location (see `asdrp.memory.open_store`) of the store a session config uses.

    The one place that decides where conversations live: a server-wide `session_url` moves every
    active store onto one shared database, which is how several replicas serve the same
    conversations; `database_path` (the CLI's `--db`) does the same for one SQLite file; otherwise
    the agent's own `session_memory` block decides (None = in memory).
    """
    if session_url:
        return session_url
    if memory.type in ("postgres", "redis"):
        return memory.url
    return database_path or memory.database_path


class AgentFactory:
    """Creates agents from the YAML configuration and manages their session memory."""

    _instance: ClassVar[AgentFactory | None] = None

    def __init__(
        self, config_path: str | Path | None = None, session_url: str | None = None, database_path: str | None = None
    ) -> None:
        self.loader = AgentConfigLoader(config_path)
        self.session_url = session_url if session_url is not None else os.environ.get(SESSION_URL_ENV_VAR) or None
        self.database_path = database_path
        self._agents: dict[tuple[str, str], Agent] = {}
        self._sessions: dict[str, ConversationSession] = {}
        self._stores: dict[str, SessionStore] = {}

    @classmethod
    def instance(cls) -> AgentFactory:
        """The process-wide factory on the default configuration (the documented singleton)."""
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    @classmethod
    def reset_instance(cls) -> None:
        """Forget the singleton (tests, or after changing ASDRP_CONFIG); its cached sessions are closed."""
        if cls._instance is not None:
            cls._instance.clear_session_cache()
        cls._instance = None

    # --- agents -----------------------------------------------------------------------------

    def agent_names(self) -> list[str]:
        """Enabled agent names, in configuration order."""
        return self.loader.names()

    def agent_config(self, name: str) -> AgentConfig:
        """The validated config of an enabled agent (AgentException listing valid names otherwise)."""
        return self.loader.get(name)

    async def get_agent(
        self, name: str, instructions: str | None = None, use_config_defaults: bool = True
    ) -> Agent:
        """The agent `name`, built by its configured `create_<name>_agent` function."""
        config = self.loader.get(name)
        text = (
            instructions if instructions is not None
            else (config.default_instructions if use_config_defaults else "")
        )
        key = (config.name, text)
        agent = self._agents.get(key)
        if agent is None:
            import importlib

            create = getattr(importlib.import_module(config.module), config.function)
            try:
                agent = create(text, config.model)
            except Exception as exc:  # a broken agent module must not surface as a bare traceback
                raise AgentException(
                    f"Agent {config.name!r} could not be created: {exc}", agent_name=config.name
                ) from exc
            self._agents[key] = agent
        return agent

    async def get_agent_with_session(
        self,
        name: str,
        instructions: str | None = None,
        use_config_defaults: bool = True,
        session_id: str | None = None,
    ) -> tuple[Agent, ConversationSession | None]:
        """The agent and its session (None when the agent's session memory is disabled)."""
        agent = await self.get_agent(name, instructions, use_config_defaults)
        return agent, self.get_session(name, session_id=session_id)

    # --- sessions ---------------------------------------------------------------------------

    def get_session(self, agent_name: str, session_id: str | None = None) -> ConversationSession | None:
        """The cached session of `agent_name` for `session_id` (configured or derived id when None)."""
        config = self.loader.get(agent_name)
        memory = config.session_memory
        if not memory.is_active:
            return None
        chosen = session_id if session_id is not None else memory.session_id or derive_session_id(config.name)
        sid = validate_session_id(chosen)
        where = location_key(self.location(memory))
        cache_key = f"{memory.type}:{sid}:{where}"
        session = self._sessions.get(cache_key)
        if session is None:
            private = where is None  # an in-memory history lives exactly as long as its session object
            store = open_store(None) if private else self.shared_store(where)
            session = ConversationSession(
                store,
                sid,
                user=DEFAULT_USER,
                agent=config.name,
                agent_id=config.name,
                window=window_settings(memory),
                owns_store=private,
            )
            self._sessions[cache_key] = session
        return session

    def open_session(self, agent_name: str, session_id: str, user: str) -> ConversationSession | None:
        """An uncached session of `user` for a multi-user caller (the server).

        Unlike `get_session`, nothing is cached per conversation, so a server with many users does
        not grow; in-memory agents share one store per factory so their history outlives the request.
        """
        config = self.loader.get(agent_name)
        memory = config.session_memory
        if not memory.is_active:
            return None
        store = self.session_store(config.name)
        assert store is not None
        return ConversationSession(
            store,
            validate_session_id(session_id),
            user=validate_caller(user),
            agent=config.name,
            agent_id=config.name,
            window=window_settings(memory),
        )

    def location(self, memory: SessionMemoryConfig) -> Location:
        """Where sessions with this config live, after the factory-wide overrides."""
        return store_location(memory, self.session_url, self.database_path)

    def session_store(self, agent_name: str) -> SessionStore | None:
        """The shared store holding `agent_name`'s conversations (None for stateless agents)."""
        memory = self.loader.get(agent_name).session_memory
        if not memory.is_active:
            return None
        return self.shared_store(self.location(memory))

    def shared_store(self, location: Location) -> SessionStore:
        """The factory's one store for a location (file path, URL, or None = the shared in-memory one)."""
        key = str(location_key(location))
        store = self._stores.get(key)
        if store is None:
            store = self._stores[key] = open_store(location)
        return store

    def all_stores(self) -> list[SessionStore]:
        """Every distinct store the enabled agents use (for registries that list a user's sessions)."""
        for config in self.loader.all():
            self.session_store(config.name)
        return list(self._stores.values())

    def clear_session_cache(self) -> None:
        """Close and drop every cached session; the next `get_session` creates new ones."""
        sessions, self._sessions = self._sessions, {}
        for session in sessions.values():
            session.close_now()

    async def aclose(self) -> None:
        """Close cached sessions and every shared store (server shutdown)."""
        self.clear_session_cache()
        stores, self._stores = self._stores, {}
        for store in stores.values():
            await store.close()


def window_settings(memory: SessionMemoryConfig) -> WindowSettings:
    """The model window an agent's session config asks for."""
    return WindowSettings(max_items=memory.context_items, max_tokens=memory.context_tokens)


async def get_agent(name: str, instructions: str | None = None, use_config_defaults: bool = True) -> Agent:
    """Equivalent to `AgentFactory.instance().get_agent(...)`."""
    return await AgentFactory.instance().get_agent(name, instructions, use_config_defaults)


async def get_agent_with_session(
    name: str,
    instructions: str | None = None,
    use_config_defaults: bool = True,
    session_id: str | None = None,
) -> tuple[Agent, Any]:
    """Equivalent to `AgentFactory.instance().get_agent_with_session(...)`."""
    return await AgentFactory.instance().get_agent_with_session(name, instructions, use_config_defaults, session_id)
