"""The Inventory page in real headless Chromium, on the hand-built database."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from dash import Dash
from dash.testing.composite import DashComposite
from inventory_invariants import book_movement
from screen_actions import choose_option, click_when_stable, wait_for_text_in
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait
from small_inventory import POLICY, SKU_A_NAME, build_small_inventory

from components.formatting import count, money, percent
from dashboard.app import create_app
from dashboard.settings import Settings, load_settings
from dashboard.sources import inventory_policy
from demo.seed import Scale, seed_database
from queries.inventory import InventorySource
from queries.rollups import inventory_kpis, top_stockout_risks
from queries.row_blocks import DEFAULT_BLOCK_ROWS

# Long enough for the page to compute its figures after the test did.
PAGE_LAG = dt.timedelta(minutes=5)


def small_app(url: str) -> Dash:
    settings = load_settings(
        database_url=url,
        demand_window_days=POLICY.demand_window_days,
        refresh_seconds=2,
    )
    return create_app(settings)


def test_tiles_show_what_the_queries_compute_and_names_stay_text(
    dash_duo: DashComposite, sqlite_url: str
) -> None:
    engine = sa.create_engine(sqlite_url)
    build_small_inventory(engine, as_of=dt.datetime.now(dt.UTC))
    # Risk and fill rate follow the demand window's whole UTC days: should midnight pass before
    # the page computes them, its figures are those of the next day.
    now = dt.datetime.now(dt.UTC)
    moments = [now] if (now + PAGE_LAG).date() == now.date() else [now, now + PAGE_LAG]
    candidates = [
        inventory_kpis(InventorySource(engine, POLICY).stock_positions(moment))
        for moment in moments
    ]
    expected = candidates[0]

    dash_duo.start_server(small_app(sqlite_url))
    dash_duo.wait_for_text_to_equal(
        "#inv-kpi-value-value", money(expected.inventory_value), timeout=30
    )
    # The page refreshes every 2 s, so read through the waits, which retry a re-rendered element.
    dash_duo.wait_for_text_to_equal("#inv-kpi-carrying-value", money(expected.annual_carrying_cost))
    wait_for_text_in(
        dash_duo, "#inv-kpi-risk-value", {f"⚠ {count(k.skus_at_risk)}" for k in candidates}
    )
    wait_for_text_in(
        dash_duo, "#inv-kpi-fill-value", {f"▲ {percent(k.fill_rate)}" for k in candidates}
    )
    dash_duo.wait_for_element(
        f'#inv-kpi-value-value span[data-value="{expected.inventory_value!r}"]'
    )
    dash_duo.wait_for_contains_text("#inv-risk-grid", SKU_A_NAME, timeout=20)
    assert dash_duo.find_elements("#inv-risk-grid script") == []
    assert dash_duo.get_logs() == []


def test_unreachable_database_is_named_on_the_page_without_a_traceback(
    dash_duo: DashComposite,
) -> None:
    # Nothing listens on port 1: the connection is refused at once.
    dash_duo.start_server(small_app("postgresql+psycopg://invdash@127.0.0.1:1/inventory"))
    dash_duo.wait_for_contains_text(
        "#inv-freshness", "inventory database unreachable: OperationalError", timeout=15
    )
    dash_duo.wait_for_contains_text("#inv-freshness", "retrying every 2 s")
    dash_duo.wait_for_text_to_equal("#inv-kpi-value-value", "n/a")
    dash_duo.wait_for_contains_text(
        "#source-status", "inventory database: inventory database unreachable", timeout=20
    )
    assert "Traceback" not in dash_duo.driver.page_source
    assert dash_duo.get_logs() == []


def test_page_recovers_by_itself_when_the_database_comes_back(
    dash_duo: DashComposite, postgresql_url: str
) -> None:
    dash_duo.start_server(small_app(postgresql_url))
    dash_duo.wait_for_contains_text(
        "#inv-freshness", "inventory database unreachable: UndefinedTable", timeout=30
    )
    build_small_inventory(sa.create_engine(postgresql_url), as_of=dt.datetime.now(dt.UTC))
    dash_duo.wait_for_text_to_equal("#inv-kpi-value-value", money(170.0), timeout=30)
    dash_duo.wait_for_contains_text("#inv-freshness", "updated", timeout=15)
    assert dash_duo.get_logs() == []


def test_filters_narrow_every_panel_and_html_in_names_is_shown_as_text(
    dash_duo: DashComposite, sqlite_url: str
) -> None:
    build_small_inventory(sa.create_engine(sqlite_url), as_of=dt.datetime.now(dt.UTC))
    dash_duo.start_server(small_app(sqlite_url))
    dash_duo.wait_for_text_to_equal("#inv-kpi-value-value", money(170.0), timeout=30)
    # Plotly renders some tags in labels; the warehouse name must read as typed.
    dash_duo.wait_for_contains_text("#inv-by-warehouse", "North <b>hub</b>", timeout=20)
    assert dash_duo.find_elements("#inv-by-warehouse b") == []
    dash_duo.find_element("#inv-warehouse").click()
    # Every 2 s refresh sends the options again: read and click them through waits.
    dash_duo.wait_for_contains_text("[role=option][value=WH2]", "WH2 · South", timeout=15)
    choose_option(dash_duo, "#inv-warehouse", "WH2", "warehouse=WH2")
    dash_duo.wait_for_text_to_equal("#inv-kpi-value-value", money(10.0), timeout=20)
    dash_duo.wait_for_text_to_equal("#inv-kpi-risk-value", "0")
    # The grid drops the rows of every warehouse and asks for the filter's: B, sold once at WH2.
    wait_for_grid(
        dash_duo, "WH2's row alone", lambda rows, counted: (rows, counted) == ([(0, "B@WH2")], "1")
    )
    assert dash_duo.get_logs() == []


def test_a_risk_row_opens_the_sku_detail(dash_duo: DashComposite, sqlite_url: str) -> None:
    build_small_inventory(sa.create_engine(sqlite_url), as_of=dt.datetime.now(dt.UTC))
    dash_duo.start_server(small_app(sqlite_url))
    dash_duo.wait_for_contains_text("#inv-risk-grid", SKU_A_NAME, timeout=30)
    # Every 2 s refresh makes the grid ask the server again for its rows: find the cell again
    # should it be replaced.
    click_when_stable(
        dash_duo, '#inv-risk-grid .ag-row[row-id="A@WH1"] .ag-cell[col-id="sku_name"]'
    )
    dash_duo.wait_for_contains_text("#sku-detail", f"A · {SKU_A_NAME}", timeout=20)
    dash_duo.wait_for_contains_text("#sku-detail", "PO1")  # the open purchase order, 10 units
    # The demand chart's legend exists once Plotly has drawn it, after the detail's text.
    WebDriverWait(dash_duo.driver, 15).until(lambda driver: "mean 2.00 / day" in driver.page_source)
    assert dash_duo.find_elements("#sku-detail script") == []
    assert "shelf life" not in dash_duo.find_element("#sku-detail").text  # A has no lots
    # B is a perishable: its detail says why its suggested order is small.
    ActionChains(dash_duo.driver).send_keys(Keys.ESCAPE).perform()  # closes the detail
    WebDriverWait(dash_duo.driver, 15).until(
        lambda driver: not driver.find_elements(By.CSS_SELECTOR, ".mantine-Modal-content")
    )
    click_when_stable(
        dash_duo, '#inv-risk-grid .ag-row[row-id="B@WH2"] .ag-cell[col-id="sku_name"]'
    )
    dash_duo.wait_for_contains_text(
        "#sku-detail", "shelf life 10 d: orders capped at what sells before expiry", timeout=20
    )
    assert dash_duo.get_logs() == []


def test_a_screen_left_alone_shows_new_stock_in_its_grid_at_the_next_refresh(
    dash_duo: DashComposite, sqlite_url: str
) -> None:
    engine = sa.create_engine(sqlite_url)
    build_small_inventory(engine, as_of=dt.datetime.now(dt.UTC))
    dash_duo.start_server(small_app(sqlite_url))
    available = '#inv-risk-grid .ag-row[row-id="A@WH1"] .ag-cell[col-id="available"]'
    wait_for_text_in(dash_duo, available, {"0"})  # 6 on hand, 6 reserved

    # 40 units received: the movement and the stock level it moves, as an ERP books them.
    with engine.begin() as conn:
        book_movement(conn, 1, 1, 40, dt.datetime.now(dt.UTC).replace(tzinfo=None), kind="receipt")

    # No click, no scroll: the grid asks again for its rows when a new snapshot arrives.
    wait_for_text_in(dash_duo, available, {"40"})
    assert dash_duo.get_logs() == []


# More risk rows than two of the grid's blocks, so the last page and a sort's first rows come
# from blocks the grid has to ask the server for.
GRID_SCALE = Scale(skus=120, warehouses=3, days=30)
RISK_GRID = "#inv-risk-grid"
# The rows the grid shows, by row index: (index, row id "sku@warehouse"), loaded rows only.
_SHOWN_ROWS = """
const rows = [...document.querySelectorAll(
    arguments[0] + ' .ag-pinned-left-cols-container .ag-row[row-id*="@"]')];
return rows.map(row => [Number(row.getAttribute('row-index')), row.getAttribute('row-id')])
    .sort((a, b) => a[0] - b[0]);
"""
_ROW_COUNT = """
const count = document.querySelector(arguments[0] + ' [data-ref="lbRecordCount"]');
return count ? count.innerText : null;
"""

_BLOCKS = "return JSON.stringify(window.dash_ag_grid.getApi(arguments[0]).getCacheBlockState());"


def wait_for_grid(
    dash_duo: Any, what: str, shows: Callable[[list[tuple[int, str]], str | None], bool]
) -> None:
    """Wait until the risk grid's shown rows and row count satisfy ``shows``."""
    deadline = time.monotonic() + 30
    rows: list[tuple[int, str]] = []
    counted = None
    while time.monotonic() < deadline:
        rows = [(int(i), str(r)) for i, r in dash_duo.driver.execute_script(_SHOWN_ROWS, RISK_GRID)]
        counted = dash_duo.driver.execute_script(_ROW_COUNT, RISK_GRID)
        if shows(rows, counted):
            return
        time.sleep(0.2)
    blocks = dash_duo.driver.execute_script(_BLOCKS, RISK_GRID[1:])
    raise AssertionError(
        f"the risk grid never showed {what}: rows {rows[:5]}..., count {counted}, blocks {blocks}"
    )


def seed_the_grid(sqlite_url: str, refresh_seconds: int) -> tuple[Settings, list[list[str]]]:
    """Seed the grid's inventory: its settings, and the risk grid's row ids (SKU@warehouse) by
    risk as the page may compute them now or PAGE_LAG later.

    Which rows have demand follows the window's whole UTC days: either side of midnight there are
    two such lists, and a test accepts either.
    """
    engine = sa.create_engine(sqlite_url)
    seed_database(engine, scale=GRID_SCALE, seed=7)
    settings = load_settings(database_url=sqlite_url, refresh_seconds=refresh_seconds)
    source = InventorySource(engine, inventory_policy(settings))
    now = dt.datetime.now(dt.UTC)
    moments = [now] if (now + PAGE_LAG).date() == now.date() else [now, now + PAGE_LAG]
    rows_by_risk = []
    for moment in moments:
        risks = top_stockout_risks(source.stock_positions(moment))
        rows_by_risk.append(list(risks["sku_code"] + "@" + risks["warehouse_code"]))
    return settings, rows_by_risk


def in_sku_order(row_ids: list[str]) -> list[str]:
    """The row ids in SKU order; stable, so ties stay in their order (by risk)."""
    return sorted(row_ids, key=lambda row_id: row_id.split("@")[0])


def test_the_risk_grid_sorts_filters_and_pages_over_rows_it_gets_from_the_server(
    dash_duo: DashComposite, sqlite_url: str
) -> None:
    settings, rows_by_risk = seed_the_grid(sqlite_url, refresh_seconds=2)
    orders = [(by_risk, in_sku_order(by_risk)) for by_risk in rows_by_risk]
    assert all(len(by_risk) > 2 * DEFAULT_BLOCK_ROWS for by_risk, _ in orders)

    dash_duo.start_server(create_app(settings))
    wait_for_grid(
        dash_duo,
        "the riskiest rows first",
        lambda rows, counted: any(
            counted == str(len(by_risk)) and rows[:3] == list(enumerate(by_risk[:3]))
            for by_risk, _ in orders
        ),
    )

    click_when_stable(
        dash_duo, f'{RISK_GRID} .ag-header-cell[col-id="sku_code"] .ag-header-cell-label'
    )
    wait_for_grid(
        dash_duo,
        "the SKUs in order",
        lambda rows, _: any(rows[:3] == list(enumerate(by_sku[:3])) for _, by_sku in orders),
    )

    click_when_stable(dash_duo, f'{RISK_GRID} .ag-paging-button[data-ref="btLast"]')
    wait_for_grid(
        dash_duo,
        "the last SKUs on the last page",
        lambda rows, _: any(
            bool(rows) and rows[-1] == (len(by_sku) - 1, by_sku[-1]) for _, by_sku in orders
        ),
    )
    # A refresh asks again for the blocks shown, and the grid stays on its page.
    time.sleep(2 * settings.refresh_seconds + 1)
    wait_for_grid(
        dash_duo,
        "the last page still, after refreshes",
        lambda rows, _: any(
            bool(rows) and rows[-1] == (len(by_sku) - 1, by_sku[-1]) for _, by_sku in orders
        ),
    )

    code = orders[0][1][-1].split("@")[0]
    dash_duo.find_element(
        f"{RISK_GRID} .ag-pinned-left-header .ag-floating-filter input"
    ).send_keys(code.lower())
    wait_for_grid(
        dash_duo,
        f"only the rows of {code}",
        lambda rows, counted: any(
            counted == str(len(matching)) and [r for _, r in rows] == matching
            for _, by_sku in orders
            for matching in [[r for r in by_sku if r.startswith(f"{code}@")]]
        ),
    )
    assert dash_duo.get_logs() == []


def test_a_grid_whose_answer_was_lost_asks_again_at_a_later_refresh(
    dash_duo: DashComposite, sqlite_url: str
) -> None:
    settings, rows_by_risk = seed_the_grid(sqlite_url, refresh_seconds=4)
    firsts = [in_sku_order(by_risk)[:3] for by_risk in rows_by_risk]
    dash_duo.start_server(create_app(settings))
    wait_for_grid(dash_duo, "its first rows", lambda rows, _: len(rows) >= 3)

    # Right after a refresh (so that only the grid's request is lost, not the refresh's), the
    # sort's request goes out while the server cannot be reached: its answer never comes.
    updated = dash_duo.find_element("#inv-freshness").text
    WebDriverWait(dash_duo.driver, 15).until(
        lambda driver: driver.find_element(By.ID, "inv-freshness").text != updated
    )
    driver = dash_duo.driver
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*_dash-update-component*"]})
    click_when_stable(
        dash_duo, f'{RISK_GRID} .ag-header-cell[col-id="sku_code"] .ag-header-cell-label'
    )
    time.sleep(0.5)
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    lost = dash_duo.get_logs()
    assert lost, "the grid's request should have failed in the browser"
    assert all("Callback failed: the server did not respond" in e["message"] for e in lost), lost

    wait_for_grid(
        dash_duo,
        "the SKUs in order, once asked again",
        lambda rows, _: any(rows[:3] == list(enumerate(first)) for first in firsts),
    )
    assert dash_duo.get_logs() == []
