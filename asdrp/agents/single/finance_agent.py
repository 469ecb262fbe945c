"""Finance specialist: loans, amortization, compound growth, NPV/IRR and percentage change."""

from __future__ import annotations

from agents import Agent

from asdrp.agents.agent_builder import build_agent
from asdrp.agents.config_loader import ModelConfig
from asdrp.tools import finance


def create_finance_agent(instructions: str, model_config: ModelConfig) -> Agent:
    """The FinanceAgent agent with its tools and resolved model."""
    return build_agent(
        "FinanceAgent",
        instructions,
        model_config,
        [
            finance.loan_payment,
            finance.amortization_schedule,
            finance.compound_growth,
            finance.npv,
            finance.irr,
            finance.percentage_change,
        ],
    )
