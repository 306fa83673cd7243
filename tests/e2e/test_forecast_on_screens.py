"""The demand forecast on the demo's screens, in headless Chromium: a SKU's detail plots the
forecast with its 80% band, says which method made it and what its stock figures were planned
with; the risk grid marks the demand planned from a forecast; /exec follows the forecasts'
accuracy and lists the SKUs going stale (the demo's Electronics, whose demand climbs).

The demo is seeded now and rolled up once, forecasts included, as ``invdash rollup`` does.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from dash.testing.composite import DashComposite
from screen_actions import click_when_stable, open_on_a_screen
from selenium.webdriver.support.ui import WebDriverWait

from components.sku_detail import forecast_words, plan_words
from dashboard.app import create_app
from dashboard.rollup_runner import rollup_once
from dashboard.settings import Settings, load_settings
from dashboard.sources import rollup_store
from demo.seed import seed_database
from queries.forecast_store import stale_skus, stored_accuracy
from queries.inventory import FORECAST_BASIS, InventoryPolicy, InventorySource
from queries.rollup_store import RollupStore


@pytest.fixture(scope="module")
def forecast_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    url = f"sqlite:///{tmp_path_factory.mktemp('forecast')}/demo.sqlite3"
    engine = sa.create_engine(url)
    seed_database(engine, scale="demo", seed=7)
    settings = load_settings(
        database_url=url, rollup_database_url=url, refresh_seconds=60, telemetry="demo"
    )
    store = rollup_store(settings)
    assert store is not None
    store.create()
    rollup_once(settings, engine, store)
    engine.dispose()
    return settings


def test_a_sku_detail_shows_its_forecast_and_band(
    dash_duo: DashComposite, forecast_settings: Settings
) -> None:
    open_on_a_screen(dash_duo, create_app(forecast_settings), "/")
    first = "#inv-risk-grid .ag-row[row-index='0']"
    # The grid redraws its rows as they arrive: read the first row's id in the page itself.
    row_id = WebDriverWait(dash_duo.driver, 30).until(
        lambda driver: driver.execute_script(
            f"const row = document.querySelector({first!r}); return row && row.getAttribute('row-id')"
        )
    )
    sku = str(row_id).rpartition("@")[0]
    click_when_stable(dash_duo, f"{first} .ag-cell[col-id='sku_name']")
    dash_duo.wait_for_contains_text("#sku-detail", sku, timeout=20)

    engine = sa.create_engine(forecast_settings.database_url)
    source = InventorySource(engine, InventoryPolicy(), RollupStore(engine))
    forecast = source.sku_forecast(sku)
    assert forecast is not None
    dash_duo.wait_for_text_to_equal("#sku-forecast-note", forecast_words(forecast), timeout=20)
    positions = source.snapshot(dt.datetime.now(dt.UTC)).positions
    shown = positions[positions["sku_code"] == sku]
    window = InventoryPolicy().demand_window_days
    dash_duo.wait_for_text_to_equal("#sku-plan-note", plan_words(shown, forecast, window))
    # The grid's demand a day is in the forecast's colour exactly on the rows it planned.
    planned = set(
        (positions["sku_code"] + "@" + positions["warehouse_code"])[
            positions["demand_basis"] == FORECAST_BASIS
        ]
    )
    assert planned
    marked = dash_duo.driver.execute_script(
        "return [...document.querySelectorAll('#inv-risk-grid .ag-row')].map(row => ["
        "row.getAttribute('row-id'), !!row.querySelector("
        "\".ag-cell[col-id='planned_daily_demand'].from-forecast\")])"
    )
    assert marked
    assert {row_id: flag for row_id, flag in marked} == {
        row_id: row_id in planned for row_id, _ in marked
    }
    # Plotly draws the legend after the detail's text: the band and the forecast line are in it.
    WebDriverWait(dash_duo.driver, 15).until(lambda driver: "80% band" in driver.page_source)
    assert f"forecast ({forecast.method})" in dash_duo.driver.page_source
    assert dash_duo.get_logs() == []


def test_exec_follows_the_forecast_accuracy_and_lists_the_stale_skus(
    dash_duo: DashComposite, forecast_settings: Settings
) -> None:
    engine = sa.create_engine(forecast_settings.database_url)
    with engine.connect() as conn:
        stale = stale_skus(stored_accuracy(conn))
    assert not stale.empty
    open_on_a_screen(dash_duo, create_app(forecast_settings), "/exec")
    dash_duo.wait_for_contains_text("#exec-forecast-summary", "Last run: WAPE", timeout=30)
    summary = dash_duo.find_element("#exec-forecast-summary").text
    assert f"{len(stale)} with a tracking signal outside ±4" in summary
    dash_duo.wait_for_element("#exec-forecast-stale tr[data-sku]", timeout=20)
    listed = [
        row.get_attribute("data-sku")
        for row in dash_duo.find_elements("#exec-forecast-stale tr[data-sku]")
    ]
    assert len(listed) == min(12, len(stale))
    # The demo's Electronics demand doubles over the second half of its history: its SKUs are
    # among the stale ones, their demand above the forecast.
    text = dash_duo.find_element("#exec-forecast-stale").text
    assert "Electronics" in text
    assert "demand above the forecast" in text
    assert dash_duo.get_logs() == []


def test_the_forecast_is_made_once_a_day(forecast_settings: Settings) -> None:
    engine = sa.create_engine(forecast_settings.database_url)
    store = RollupStore(engine)
    with engine.connect() as conn:
        before = stored_accuracy(conn)
    rollup_once(forecast_settings, engine, store, dt.datetime.now(dt.UTC))
    with engine.connect() as conn:
        after = stored_accuracy(conn)
    assert before.equals(after)
