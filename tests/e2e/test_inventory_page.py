"""The Inventory page in real headless Chromium, on the hand-built database."""

from __future__ import annotations

import sqlalchemy as sa
from small_inventory import POLICY, SKU_A_NAME, WAREHOUSE_1_NAME, build_small_inventory

from components.formatting import count, money, percent
from dashboard.app import create_app
from dashboard.settings import load_settings
from queries.inventory import InventorySource
from queries.rollups import inventory_kpis


def small_app(url: str):  # type: ignore[no-untyped-def]
    settings = load_settings(
        database_url=url,
        demand_window_days=POLICY.demand_window_days,
        refresh_seconds=2,
    )
    return create_app(settings)


def test_tiles_show_what_the_queries_compute_and_names_stay_text(dash_duo, sqlite_url: str) -> None:  # type: ignore[no-untyped-def]
    engine = sa.create_engine(sqlite_url)
    build_small_inventory(engine)
    import datetime as dt

    expected = inventory_kpis(
        InventorySource(engine, POLICY).stock_positions(dt.datetime.now(dt.UTC))
    )

    dash_duo.start_server(small_app(sqlite_url))
    dash_duo.wait_for_text_to_equal(
        "#inv-kpi-value-value", money(expected.inventory_value), timeout=15
    )
    assert dash_duo.find_element("#inv-kpi-carrying-value").text == money(
        expected.annual_carrying_cost
    )
    assert dash_duo.find_element("#inv-kpi-risk-value").text.endswith(count(expected.skus_at_risk))
    assert dash_duo.find_element("#inv-kpi-fill-value").text.endswith(percent(expected.fill_rate))
    value = dash_duo.find_element("#inv-kpi-value-value span")
    assert float(value.get_attribute("data-value")) == expected.inventory_value
    dash_duo.wait_for_contains_text("#inv-risk-grid", SKU_A_NAME, timeout=10)
    assert dash_duo.find_elements("#inv-risk-grid script") == []
    dash_duo.driver.save_screenshot("/tmp/inventory-small.png")
    assert dash_duo.get_logs() == []
