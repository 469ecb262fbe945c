"""Which retention limits apply to which store: one answer for the server's sweep and `asdrp sessions prune`.

Limits come from each agent's `session_memory` block (`max_age`, `max_items`); conversations in a
store shared by several agents are kept as long as the most lenient of them asks. Orchestrator
transcripts follow `defaults.session_memory`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from asdrp.memory.retention import RetentionPolicy, merge_policies

if TYPE_CHECKING:
    from asdrp.memory import SessionStore


def retention_plans(
    factory: Any, extra_stores: list[SessionStore] | None = None
) -> list[tuple[SessionStore, RetentionPolicy]]:
    """(store, policy) for every store the agents use, plus those of `extra_stores` no agent uses
    (the orchestrators' transcripts) under the defaults' policy."""
    grouped: list[tuple[SessionStore, list[RetentionPolicy]]] = []

    def add(store: SessionStore, policy: RetentionPolicy) -> None:
        for seen, policies in grouped:
            if seen is store:
                policies.append(policy)
                return
        grouped.append((store, [policy]))

    for name in factory.agent_names():
        store = factory.session_store(name)
        if store is not None:
            memory = factory.loader.get(name).session_memory
            add(store, RetentionPolicy(memory.max_age, memory.max_items))
    defaults = factory.loader.default_session_memory
    for store in extra_stores or []:
        if all(store is not seen for seen, _ in grouped):  # an agent's store keeps the agents' policy
            add(store, RetentionPolicy(defaults.max_age, defaults.max_items))
    return [(store, merge_policies(policies)) for store, policies in grouped]
