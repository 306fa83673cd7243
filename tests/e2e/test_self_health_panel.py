"""The SRE page's panel on invdash itself, in a real browser: this screen counts as active, the
sources' queries it caused are listed with their rates, the cache serves hits, and the page's
own refresh appears among the callbacks."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from dash.testing.composite import DashComposite
from selenium.webdriver.support.ui import WebDriverWait
from small_inventory import build_small_inventory

from dashboard.app import create_app
from dashboard.settings import load_settings

GRID_ROWS = """
const rows = [];
try {
    const api = window.dash_ag_grid.getApi('self-health-sources');
    api.forEachNode(node => rows.push(node.data.source + '/' + node.data.query));
} catch (notYet) {}
return rows;
"""
BAR_LABELS = """
const plot = document.querySelector('#self-health-callbacks .js-plotly-plot');
return plot && plot.data && plot.data.length ? [...plot.data[0].y] : [];
"""
EXPECTED_ROWS = {
    "inventory database/order_lines_per_minute",
    "inventory database/check_health",
    "demo cluster/service_traffic",
    "demo cluster/check_health",
}


def test_the_sre_page_shows_invdash_own_health(dash_duo: DashComposite, sqlite_url: str) -> None:
    build_small_inventory(sa.create_engine(sqlite_url), as_of=dt.datetime.now(dt.UTC))
    settings = load_settings(database_url=sqlite_url, telemetry="demo", refresh_seconds=2)
    dash_duo.start_server(create_app(settings))
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/sre")

    # The first refresh may race the page's own queries: the next ticks list them (on any of
    # the grid's pages, so read its rows rather than its text).
    WebDriverWait(dash_duo.driver, 30).until(
        lambda driver: set(driver.execute_script(GRID_ROWS)) >= EXPECTED_ROWS
    )
    dash_duo.wait_for_contains_text("#self-health-screens-value", "1", timeout=20)
    dash_duo.wait_for_contains_text("#self-health-hits-hint", "hits", timeout=20)
    # The page's own refresh is timed when it has answered: a later tick draws its bar.
    WebDriverWait(dash_duo.driver, 30).until(
        lambda driver: any(
            label.startswith("sre-figure.figure") for label in driver.execute_script(BAR_LABELS)
        )
    )
    # Read through waits: the panel re-renders every 2 s, replacing what find_element found.
    dash_duo.wait_for_contains_text("#self-health-window", "this replica, last", timeout=15)
    dash_duo.wait_for_text_to_equal("#self-health-errors-hint", "no source failed", timeout=15)
    assert dash_duo.get_logs() == []
