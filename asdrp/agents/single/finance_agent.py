"""Finance specialist: loans, amortization, compound growth, savings plans, NPV/IRR, percentage change, and
the arithmetic on their results ("20% of my monthly payment") through the calculator tool."""

from __future__ import annotations

from agents import Agent

from asdrp.agents.agent_builder import build_agent
from asdrp.agents.config_loader import ModelConfig
from asdrp.tools import calculator, finance


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
            finance.savings_growth,
            finance.npv,
            finance.irr,
            finance.percentage_change,
            calculator.calculate,
        ],
    )
