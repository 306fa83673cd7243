"""The SKU detail says what its stock figures were planned with: the forecast where it beats the
baseline, else the demand window, and why."""

from __future__ import annotations

import math

import pandas as pd
from component_text import texts

from components.sku_detail import plan_words, sku_detail
from queries.forecast import BASELINE, MODEL
from queries.forecast_store import StoredForecast
from queries.inventory import FORECAST_BASIS, WINDOW_BASIS
from queries.rollups import DemandBand


def positions(basis: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sku_code": ["ELE-1", "ELE-1"],
            "sku_name": ["Cable", "Cable"],
            "category": ["Electronics", "Electronics"],
            "warehouse_code": ["WH1", "WH2"],
            "unit_cost": [4.0, 4.0],
            "lead_time_days": [5.0, 5.0],
            "shelf_life_days": [math.nan, math.nan],
            "on_hand": [40.0, 3.0],
            "reserved": [0.0, 0.0],
            "on_order": [0.0, 0.0],
            "at_risk": [False, True],
            "stockout_probability": [0.05, 0.7],
            "expected_stockout_date": [pd.Timestamp("2026-12-20", tz="UTC")] * 2,
            "demand_basis": [basis, basis],
            "planned_daily_demand": [2.5, 1.25],
            "safety_stock": [6.4, 3.2],
            "reorder_point": [18.9, 9.45],
            "suggested_order_quantity": [0.0, 30.0],
        }
    )


def forecast(method: str, reason: str = "") -> StoredForecast:
    days = pd.DataFrame({"day": [], "forecast": [], "lower": [], "upper": []})
    return StoredForecast(days, method, reason, 0.3, 0.4, 1.0)


def test_a_sku_planned_from_its_forecast_says_so() -> None:
    words = plan_words(positions(FORECAST_BASIS), forecast(MODEL), 56)
    assert words.startswith("Risk, run-out dates, safety stock and reorder points planned from")
    assert "from the forecast: 3.75 units a day over all warehouses" in words
    assert "last 56 days' demand" in words


def test_a_sku_on_the_window_says_why_not_the_forecast() -> None:
    window = positions(WINDOW_BASIS)
    beaten = plan_words(window, forecast(BASELINE, "the baseline did as well or better"), 28)
    assert beaten == (
        "Risk, run-out dates, safety stock and reorder points planned from the last 28 days' "
        "demand: 3.75 units a day over all warehouses: the forecast does not beat the baseline "
        "(the baseline did as well or better)."
    )
    assert plan_words(window, None, 28).endswith("(no forecast for this SKU).")
    assert "the forecast is not used for today" in plan_words(window, forecast(MODEL), 28)


def test_the_stock_table_shows_the_planned_demand_safety_stock_and_reorder_point() -> None:
    history = pd.DataFrame({"day": pd.to_datetime(["2026-12-01"]), "units": [3.0]})
    purchase_orders = pd.DataFrame(
        columns=["number", "supplier", "warehouse_code", "expected_on", "open_units", "days_late"]
    )
    shown = texts(
        sku_detail(
            positions(FORECAST_BASIS),
            history,
            DemandBand(3.0, 0.0),
            purchase_orders,
            forecast(MODEL),
            window_days=56,
        )
    )
    for header in ("Demand / day", "Safety stock", "Reorder point", "Suggested order"):
        assert header in shown
    at = shown.index("WH2")
    assert shown[at : at + 10] == [
        "WH2",
        "3",
        "0",
        "0",
        "⚠ 70%",
        "2026-12-20",
        "1.25",
        "3",
        "9",
        "30",
    ]
    assert any("planned from the forecast" in text for text in shown)
