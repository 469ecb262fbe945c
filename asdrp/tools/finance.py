"""Finance tools for the FinanceAgent: loan payments, amortization, compound growth, NPV, IRR and
percentage change, computed with numpy-financial where it fits.

Rates are given in percent (5 means 5%) because that is how people say them; every input is
range-checked so a slip (a rate of 500, a negative term) is reported instead of answered.
"""

from __future__ import annotations

import math
from typing import Any

import numpy_financial as npf

MAX_AMOUNT = 1e15
MAX_YEARS = 100
MAX_RATE_PERCENT = 100
MAX_PERIODS_PER_YEAR = 365
MAX_SCHEDULE_ROWS = 1200
MAX_CASH_FLOWS = 1000

_PERIOD_NAMES = {1: "per year", 2: "every six months", 4: "per quarter", 12: "per month", 24: "twice a month",
                 26: "every two weeks", 52: "per week", 365: "per day"}
_COMPOUNDING_NAMES = {1: "annually", 2: "semi-annually", 4: "quarterly", 12: "monthly", 52: "weekly", 365: "daily"}


def _money(value: float) -> str:
    """Amounts as people write them: "200,000" for whole numbers, "1,073.64" otherwise."""
    rounded = round(value, 2)
    return f"{rounded:,.0f}" if rounded == int(rounded) else f"{rounded:,.2f}"


def _percent(value: float) -> str:
    return f"{round(value, 4):g}%"


def _years(value: float) -> str:
    return f"{value:g} year" + ("" if value == 1 else "s")


def _finite(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _check_principal(principal: float) -> float:
    principal = _finite("principal", principal)
    if not 0 < principal <= MAX_AMOUNT:
        raise ValueError(f"principal must be greater than 0 and at most {MAX_AMOUNT:,.0f}, got {principal:g}")
    return principal


def _check_rate(name: str, rate: float, minimum: float = 0) -> float:
    rate = _finite(name, rate)
    if not minimum <= rate <= MAX_RATE_PERCENT:
        raise ValueError(
            f"{name} is a percentage between {minimum:g} and {MAX_RATE_PERCENT} (5 means 5%), got {rate:g}"
        )
    return rate


def _check_years(years: float) -> float:
    years = _finite("years", years)
    if not 0 < years <= MAX_YEARS:
        raise ValueError(f"years must be greater than 0 and at most {MAX_YEARS}, got {years:g}")
    return years


def _check_count(name: str, value: int, maximum: int) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or value != int(value)
        or not 1 <= value <= maximum
    ):
        raise ValueError(f"{name} must be a whole number from 1 to {maximum}, got {value!r}")
    return int(value)


def _payment_count(years: float, payments_per_year: int) -> int:
    periods = years * payments_per_year
    if abs(periods - round(periods)) > 1e-9:
        raise ValueError(
            f"years ({years:g}) times payments_per_year ({payments_per_year}) must be a whole number of payments, "
            f"got {periods:g}"
        )
    return int(round(periods))


def _level_payment(principal: float, annual_rate_percent: float, periods: int, payments_per_year: int) -> float:
    rate = annual_rate_percent / 100 / payments_per_year
    return principal / periods if rate == 0 else float(-npf.pmt(rate, periods, principal))


def loan_payment(
    principal: float, annual_rate_percent: float, years: float, payments_per_year: int = 12
) -> dict[str, Any]:
    """Regular payment on a fixed-rate loan or mortgage, with the total paid and total interest.

    Args:
        principal: Amount borrowed, e.g. 200000.
        annual_rate_percent: Annual interest rate in percent, e.g. 5 for 5% (0 to 100).
        years: Loan term in years, e.g. 30.
        payments_per_year: Payments per year: 12 for monthly (default), 52 weekly, 1 yearly.
    """
    principal = _check_principal(principal)
    annual_rate_percent = _check_rate("annual_rate_percent", annual_rate_percent)
    years = _check_years(years)
    payments_per_year = _check_count("payments_per_year", payments_per_year, MAX_PERIODS_PER_YEAR)
    periods = _payment_count(years, payments_per_year)
    payment = _level_payment(principal, annual_rate_percent, periods, payments_per_year)
    total = payment * periods
    interest = total - principal
    every = _PERIOD_NAMES.get(payments_per_year, f"per payment ({payments_per_year} a year)")
    return {
        "summary": (
            f"A {_money(principal)} loan at {_percent(annual_rate_percent)} over {_years(years)} costs "
            f"{_money(payment)} {every} (total {_money(total)}, interest {_money(interest)})."
        ),
        "payment": round(payment, 2),
        "number_of_payments": periods,
        "total_paid": round(total, 2),
        "total_interest": round(interest, 2),
    }


def amortization_schedule(principal: float, annual_rate_percent: float, years: float, rows: int = 12) -> dict[str, Any]:
    """The first rows of a monthly loan amortization schedule: each payment split into interest and principal.

    Args:
        principal: Amount borrowed, e.g. 200000.
        annual_rate_percent: Annual interest rate in percent, e.g. 5 for 5% (0 to 100).
        years: Loan term in years, e.g. 30.
        rows: How many monthly payments to list from the first, 1 to 1200 (default 12).
    """
    principal = _check_principal(principal)
    annual_rate_percent = _check_rate("annual_rate_percent", annual_rate_percent)
    years = _check_years(years)
    rows = _check_count("rows", rows, MAX_SCHEDULE_ROWS)
    periods = _payment_count(years, 12)
    payment = _level_payment(principal, annual_rate_percent, periods, 12)
    monthly_rate = annual_rate_percent / 100 / 12
    balance = principal
    interest_so_far = 0.0
    schedule: list[dict[str, float | int]] = []
    for period in range(1, min(rows, periods) + 1):
        interest = balance * monthly_rate
        # The last payment clears whatever rounding left over, so the balance ends at exactly zero.
        principal_part = balance if period == periods else payment - interest
        balance -= principal_part
        interest_so_far += interest
        schedule.append({
            "period": period,
            "payment": round(interest + principal_part, 2),
            "interest": round(interest, 2),
            "principal": round(principal_part, 2),
            "balance": round(max(balance, 0.0), 2),
        })
    last = schedule[-1]
    return {
        "summary": (
            f"First {len(schedule)} of {periods} monthly payments of {_money(payment)} "
            f"on a {_money(principal)} loan at {_percent(annual_rate_percent)}: "
            f"after payment {last['period']} the balance is {_money(float(last['balance']))} "
            f"(interest paid so far {_money(interest_so_far)})."
        ),
        "payment": round(payment, 2),
        "number_of_payments": periods,
        "schedule": schedule,
    }


def compound_growth(
    principal: float, annual_rate_percent: float, years: float, compounds_per_year: int = 1
) -> dict[str, Any]:
    """Future value of an amount growing at a compound annual rate, and the interest it earns (savings, investments).

    Args:
        principal: Starting amount, e.g. 10000.
        annual_rate_percent: Annual growth or interest rate in percent, e.g. 7 for 7% (-99 to 100).
        years: Number of years it grows, e.g. 10.
        compounds_per_year: Compounding periods per year: 1 annually (default), 12 monthly, 365 daily.
    """
    principal = _check_principal(principal)
    annual_rate_percent = _check_rate("annual_rate_percent", annual_rate_percent, minimum=-99)
    years = _check_years(years)
    compounds_per_year = _check_count("compounds_per_year", compounds_per_year, MAX_PERIODS_PER_YEAR)
    future = principal * (1 + annual_rate_percent / 100 / compounds_per_year) ** (compounds_per_year * years)
    if not math.isfinite(future) or future > MAX_AMOUNT * 1e6:
        raise ValueError(
            "compound_growth result is too large to report "
            f"({principal:g} at {annual_rate_percent:g}% for {years:g} years)"
        )
    how = _COMPOUNDING_NAMES.get(compounds_per_year, f"{compounds_per_year} times a year")
    change = future - principal
    return {
        "summary": (
            f"{_money(principal)} growing at {_percent(annual_rate_percent)} a year compounded {how} "
            f"for {_years(years)} becomes {_money(future)} "
            f"({'gain' if change >= 0 else 'loss'} {_money(abs(change))})."
        ),
        "future_value": round(future, 2),
        "gain": round(change, 2),
    }


def savings_growth(
    monthly_deposit: float, annual_rate_percent: float, years: float, initial_amount: float = 0,
    compounds_per_year: int = 12,
) -> dict[str, Any]:
    """Savings plan: what regular monthly deposits (plus any starting amount) grow to with compound interest.

    Args:
        monthly_deposit: Amount saved every month, paid at the end of each month, e.g. 500.
        annual_rate_percent: Annual interest rate in percent, e.g. 5 for 5% (0 to 100).
        years: How many years you save, e.g. 10.
        initial_amount: Amount already saved at the start, e.g. 1000 (default 0).
        compounds_per_year: Compounding periods per year: 12 monthly (default), 4 quarterly, 1 annually, 365 daily.
    """
    deposit = _finite("monthly_deposit", monthly_deposit)
    if not 0 < deposit <= MAX_AMOUNT:
        raise ValueError(f"monthly_deposit must be greater than 0 and at most {MAX_AMOUNT:,.0f}, got {deposit:g}")
    initial = _finite("initial_amount", initial_amount)
    if not 0 <= initial <= MAX_AMOUNT:
        raise ValueError(f"initial_amount must be between 0 and {MAX_AMOUNT:,.0f}, got {initial:g}")
    annual_rate_percent = _check_rate("annual_rate_percent", annual_rate_percent)
    years = _check_years(years)
    compounds_per_year = _check_count("compounds_per_year", compounds_per_year, MAX_PERIODS_PER_YEAR)
    months = _payment_count(years, 12)
    # The rate per month that matches the stated compounding (exact for monthly compounding).
    monthly_rate = (1 + annual_rate_percent / 100 / compounds_per_year) ** (compounds_per_year / 12) - 1
    growth = (1 + monthly_rate) ** months
    from_deposits = deposit * months if monthly_rate == 0 else deposit * (growth - 1) / monthly_rate
    future = initial * growth + from_deposits
    paid_in = initial + deposit * months
    how = _COMPOUNDING_NAMES.get(compounds_per_year, f"{compounds_per_year} times a year")
    start = f" on top of {_money(initial)} to start" if initial else ""
    return {
        "summary": (
            f"Saving {_money(deposit)} a month{start} for {_years(years)} at {_percent(annual_rate_percent)} "
            f"compounded {how} gives {_money(future)} (you pay in {_money(paid_in)}, "
            f"interest {_money(future - paid_in)})."
        ),
        "future_value": round(future, 2),
        "total_deposits": round(paid_in, 2),
        "interest_earned": round(future - paid_in, 2),
    }


def _check_cash_flows(cash_flows: list[float]) -> list[float]:
    if not isinstance(cash_flows, (list, tuple)) or not cash_flows:
        raise ValueError(f"cash_flows must be a non-empty list of numbers, got {cash_flows!r}")
    if len(cash_flows) > MAX_CASH_FLOWS:
        raise ValueError(f"cash_flows may hold at most {MAX_CASH_FLOWS} values, got {len(cash_flows)}")
    return [_finite(f"cash_flows[{i}]", v) for i, v in enumerate(cash_flows)]


def npv(rate_percent: float, cash_flows: list[float]) -> dict[str, Any]:
    """Net present value of cash flows at a discount rate; the first cash flow is today (not discounted).

    Args:
        rate_percent: Discount rate per period in percent, e.g. 10 for 10%.
        cash_flows: Cash flows per period starting today, investments negative, e.g. [-1000, 300, 400, 500].
    """
    rate_percent = _check_rate("rate_percent", rate_percent, minimum=-99)
    flows = _check_cash_flows(cash_flows)
    value = float(npf.npv(rate_percent / 100, flows))
    verdict = "worth doing" if value > 0 else "not worth doing" if value < 0 else "break-even"
    return {
        "summary": (
            f"The net present value of {len(flows)} cash flows at {_percent(rate_percent)} is {_money(value)} "
            f"(first flow today), so at that rate the project is {verdict}."
        ),
        "npv": round(value, 2),
    }


def irr(cash_flows: list[float]) -> dict[str, Any]:
    """Internal rate of return: the discount rate at which the cash flows' net present value is zero.

    Args:
        cash_flows: Cash flows per period starting today, with at least one negative (investment) and one positive, e.g. [-1000, 300, 400, 500].
    """  # noqa: E501 - wrapping the Args line would put a newline into the tool's parameter description
    flows = _check_cash_flows(cash_flows)
    if not (any(v < 0 for v in flows) and any(v > 0 for v in flows)):
        raise ValueError("IRR is undefined: cash_flows need at least one negative and one positive value")
    rate = float(npf.irr(flows))
    if not math.isfinite(rate):
        raise ValueError(f"IRR could not be found for cash_flows {flows}: no rate makes their net present value zero")
    return {
        "summary": f"The internal rate of return of these {len(flows)} cash flows is {rate * 100:.2f}% per period.",
        "irr_percent": round(rate * 100, 4),
    }


def percentage_change(old_value: float, new_value: float) -> dict[str, Any]:
    """Percentage increase or decrease from an old value to a new value.

    Args:
        old_value: The starting value, e.g. a price of 80 (must not be 0).
        new_value: The later value, e.g. 100.
    """
    old_value = _finite("old_value", old_value)
    new_value = _finite("new_value", new_value)
    if old_value == 0:
        raise ValueError("old_value must not be 0: a percentage change from zero is undefined")
    change = (new_value - old_value) / abs(old_value) * 100
    direction = "an increase" if change > 0 else "a decrease" if change < 0 else "no change"
    summary = f"Going from {_money(old_value)} to {_money(new_value)} is {direction}"
    summary += f" of {abs(change):.2f}%." if change else "."
    return {"summary": summary, "percent_change": round(change, 4), "difference": round(new_value - old_value, 10)}
