"""Tests for the finance tools against known textbook values."""

from __future__ import annotations

import pytest

from asdrp.tools import finance


def test_loan_payment_for_30_year_mortgage_matches_known_value() -> None:
    result = finance.loan_payment(200_000, 5, 30)
    assert result["payment"] == pytest.approx(1073.64, abs=0.01)
    assert result["total_paid"] == pytest.approx(386_511.57, abs=0.05)
    assert result["total_interest"] == pytest.approx(186_511.57, abs=0.05)
    assert result["summary"] == (
        "A 200,000 loan at 5% over 30 years costs 1,073.64 per month (total 386,511.57, interest 186,511.57)."
    )


def test_loan_payment_for_15_year_mortgage_matches_known_value() -> None:
    assert finance.loan_payment(200_000, 5, 15)["payment"] == pytest.approx(1581.59, abs=0.01)


def test_loan_payment_at_zero_interest_splits_principal_evenly() -> None:
    result = finance.loan_payment(12_000, 0, 1)
    assert result["payment"] == 1000 and result["total_interest"] == 0


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"principal": 0, "annual_rate_percent": 5, "years": 30}, "principal"),
        ({"principal": 1000, "annual_rate_percent": -1, "years": 30}, "annual_rate_percent"),
        ({"principal": 1000, "annual_rate_percent": 500, "years": 30}, "annual_rate_percent"),
        ({"principal": 1000, "annual_rate_percent": 5, "years": 0}, "years"),
        ({"principal": 1000, "annual_rate_percent": 5, "years": 30, "payments_per_year": 0}, "payments_per_year"),
        ({"principal": 1000, "annual_rate_percent": 5, "years": 1.3, "payments_per_year": 1}, "whole number"),
        ({"principal": float("nan"), "annual_rate_percent": 5, "years": 30}, "principal"),
    ],
)
def test_loan_payment_rejects_out_of_range_inputs(kwargs: dict, names: str) -> None:
    with pytest.raises(ValueError, match=names):
        finance.loan_payment(**kwargs)


def test_amortization_schedule_first_month_splits_interest_and_principal() -> None:
    result = finance.amortization_schedule(200_000, 5, 30, rows=12)
    first = result["schedule"][0]
    assert len(result["schedule"]) == 12
    assert first["interest"] == pytest.approx(833.33, abs=0.01)
    assert first["principal"] == pytest.approx(240.31, abs=0.01)
    balances = [row["balance"] for row in result["schedule"]]
    assert balances == sorted(balances, reverse=True)


def test_amortization_schedule_ends_at_zero_balance() -> None:
    result = finance.amortization_schedule(1200, 12, 1, rows=50)
    assert len(result["schedule"]) == 12
    assert result["schedule"][-1]["balance"] == 0


def test_amortization_schedule_rejects_bad_row_count() -> None:
    with pytest.raises(ValueError, match="rows"):
        finance.amortization_schedule(1000, 5, 1, rows=0)


def test_compound_growth_annual_and_monthly() -> None:
    assert finance.compound_growth(10_000, 7, 10)["future_value"] == pytest.approx(19_671.51, abs=0.01)
    assert finance.compound_growth(1000, 12, 1, compounds_per_year=12)["future_value"] == pytest.approx(
        1126.83, abs=0.01
    )


def test_compound_growth_rejects_rate_at_or_below_minus_100_percent() -> None:
    with pytest.raises(ValueError, match="annual_rate_percent"):
        finance.compound_growth(1000, -100, 5)


def test_npv_discounts_all_but_the_first_cash_flow() -> None:
    result = finance.npv(10, [-100, 60, 60])
    assert result["npv"] == pytest.approx(4.13, abs=0.01)
    assert "worth doing" in result["summary"]


def test_irr_matches_known_values() -> None:
    assert finance.irr([-100, 60, 60])["irr_percent"] == pytest.approx(13.07, abs=0.01)
    assert finance.irr([-1000, 300, 400, 500])["irr_percent"] == pytest.approx(8.90, abs=0.01)


@pytest.mark.parametrize("flows", [[], [100, 200], [-100, -5], "abc"])
def test_irr_rejects_cash_flows_without_a_sign_change(flows: list[float]) -> None:
    with pytest.raises(ValueError, match="cash_flows"):
        finance.irr(flows)


def test_npv_rejects_non_numeric_cash_flow_by_position() -> None:
    with pytest.raises(ValueError, match=r"cash_flows\[1\]"):
        finance.npv(5, [-100, float("inf")])


def test_percentage_change_up_and_down() -> None:
    up = finance.percentage_change(80, 100)
    assert up["percent_change"] == 25 and "increase of 25.00%" in up["summary"]
    assert finance.percentage_change(100, 80)["percent_change"] == -20


def test_percentage_change_from_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="old_value"):
        finance.percentage_change(0, 5)


def test_savings_growth_is_the_future_value_of_monthly_deposits() -> None:
    result = finance.savings_growth(500, 5, 10)
    r, n = 0.05 / 12, 120
    assert result["future_value"] == pytest.approx(500 * ((1 + r) ** n - 1) / r, abs=0.01)
    assert result["total_deposits"] == 60000
    with_start = finance.savings_growth(100, 5, 10, initial_amount=5000)
    assert with_start["future_value"] == pytest.approx(5000 * (1 + r) ** n + 100 * ((1 + r) ** n - 1) / r, abs=0.01)


def test_savings_growth_at_zero_rate_and_other_compounding() -> None:
    assert finance.savings_growth(100, 0, 2)["future_value"] == 2400
    yearly = finance.savings_growth(100, 12, 1, compounds_per_year=1)["future_value"]
    monthly_rate = 1.12 ** (1 / 12) - 1
    assert yearly == pytest.approx(100 * ((1 + monthly_rate) ** 12 - 1) / monthly_rate, abs=0.01)
    with pytest.raises(ValueError, match="monthly_deposit"):
        finance.savings_growth(0, 5, 10)
