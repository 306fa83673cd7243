"""The Inventory page in real headless Chromium, on the hand-built database."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from small_inventory import POLICY, SKU_A_NAME, build_small_inventory

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
    expected = inventory_kpis(
        InventorySource(engine, POLICY).stock_positions(dt.datetime.now(dt.UTC))
    )

    dash_duo.start_server(small_app(sqlite_url))
    dash_duo.wait_for_text_to_equal(
        "#inv-kpi-value-value", money(expected.inventory_value), timeout=15
    )
    # The page refreshes every 2 s, so read through the waits, which retry a re-rendered element.
    dash_duo.wait_for_text_to_equal("#inv-kpi-carrying-value", money(expected.annual_carrying_cost))
    dash_duo.wait_for_text_to_equal("#inv-kpi-risk-value", f"⚠ {count(expected.skus_at_risk)}")
    dash_duo.wait_for_text_to_equal("#inv-kpi-fill-value", f"▲ {percent(expected.fill_rate)}")
    dash_duo.wait_for_element(
        f'#inv-kpi-value-value span[data-value="{expected.inventory_value!r}"]'
    )
    dash_duo.wait_for_contains_text("#inv-risk-grid", SKU_A_NAME, timeout=10)
    assert dash_duo.find_elements("#inv-risk-grid script") == []
    assert dash_duo.get_logs() == []


def test_unreachable_database_is_named_on_the_page_without_a_traceback(dash_duo) -> None:  # type: ignore[no-untyped-def]
    # Nothing listens on port 1: the connection is refused at once.
    dash_duo.start_server(small_app("postgresql+psycopg://invdash@127.0.0.1:1/inventory"))
    dash_duo.wait_for_contains_text(
        "#inv-freshness", "inventory database unreachable: OperationalError", timeout=15
    )
    dash_duo.wait_for_contains_text("#inv-freshness", "retrying every 2 s")
    dash_duo.wait_for_text_to_equal("#inv-kpi-value-value", "n/a")
    dash_duo.wait_for_contains_text(
        "#source-status", "inventory database: inventory database unreachable", timeout=10
    )
    assert "Traceback" not in dash_duo.driver.page_source
    assert dash_duo.get_logs() == []


def test_page_recovers_by_itself_when_the_database_comes_back(
    dash_duo, postgresql_url: str
) -> None:  # type: ignore[no-untyped-def]
    dash_duo.start_server(small_app(postgresql_url))
    dash_duo.wait_for_contains_text(
        "#inv-freshness", "inventory database unreachable: UndefinedTable", timeout=15
    )
    build_small_inventory(sa.create_engine(postgresql_url))
    dash_duo.wait_for_text_to_equal("#inv-kpi-value-value", money(170.0), timeout=15)
    dash_duo.wait_for_contains_text("#inv-freshness", "updated", timeout=5)
    assert dash_duo.get_logs() == []


def test_filters_narrow_every_panel_and_html_in_names_is_shown_as_text(
    dash_duo, sqlite_url: str
) -> None:  # type: ignore[no-untyped-def]
    build_small_inventory(sa.create_engine(sqlite_url))
    dash_duo.start_server(small_app(sqlite_url))
    dash_duo.wait_for_text_to_equal("#inv-kpi-value-value", money(170.0), timeout=15)
    # Plotly renders some tags in labels; the warehouse name must read as typed.
    dash_duo.wait_for_contains_text("#inv-by-warehouse", "North <b>hub</b>", timeout=10)
    assert dash_duo.find_elements("#inv-by-warehouse b") == []
    dash_duo.find_element("#inv-warehouse").click()
    option = dash_duo.wait_for_element_by_css_selector("[role=option][value=WH2]", timeout=5)
    assert "WH2 · South" in option.text
    option.click()
    dash_duo.wait_for_text_to_equal("#inv-kpi-value-value", money(10.0), timeout=10)
    dash_duo.wait_for_text_to_equal("#inv-kpi-risk-value", "0")
    assert dash_duo.get_logs() == []


def test_a_risk_row_opens_the_sku_detail(dash_duo, sqlite_url: str) -> None:  # type: ignore[no-untyped-def]
    build_small_inventory(sa.create_engine(sqlite_url))
    dash_duo.start_server(small_app(sqlite_url))
    dash_duo.wait_for_contains_text("#inv-risk-grid", SKU_A_NAME, timeout=15)
    dash_duo.find_element(
        '#inv-risk-grid .ag-row[row-id="A@WH1"] .ag-cell[col-id="sku_name"]'
    ).click()
    dash_duo.wait_for_contains_text("#sku-detail", f"A · {SKU_A_NAME}", timeout=10)
    detail = dash_duo.find_element("#sku-detail").text
    assert "PO1" in detail  # the open purchase order, 10 units
    assert "mean 2.00 / day" in dash_duo.driver.page_source
    assert dash_duo.find_elements("#sku-detail script") == []
    assert dash_duo.get_logs() == []
