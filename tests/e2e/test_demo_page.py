"""The Inventory page on the seeded demo data, as a person first sees it after `invdash serve`."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from screen_actions import click_time, drag_time, open_on_a_screen

from components.formatting import count, money, percent
from dashboard.app import create_app
from dashboard.settings import load_settings
from dashboard.sources import inventory_policy
from dashboard.urlstate import parse_view
from queries.demo_cluster import DemoCluster
from queries.inventory import InventorySource
from queries.kpis import ExecutiveKpiSource
from queries.rollups import inventory_kpis
from queries.seed import seed_database

HOUR = dt.timedelta(hours=1)
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "inventory.png"


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo')}/demo.sqlite3"
    seed_database(sa.create_engine(url), scale="demo", seed=7)
    return url


def test_demo_tiles_equal_the_queries_and_every_panel_has_data(
    dash_duo, demo_url: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(database_url=demo_url, refresh_seconds=60)
    expected = inventory_kpis(
        InventorySource(sa.create_engine(demo_url), inventory_policy(settings)).stock_positions(
            dt.datetime.now(dt.UTC)
        )
    )
    assert expected.skus_at_risk > 0
    with sa.create_engine(demo_url).connect() as conn:
        stock_value = conn.exec_driver_sql(
            "SELECT SUM(l.on_hand * s.unit_cost) FROM stock_levels l JOIN skus s ON s.id = l.sku_id"
        ).scalar()
    assert expected.inventory_value == pytest.approx(float(stock_value))

    dash_duo.driver.set_window_size(1920, 1080)
    dash_duo.start_server(create_app(settings))
    dash_duo.wait_for_text_to_equal(
        "#inv-kpi-value-value", money(expected.inventory_value), timeout=30
    )
    dash_duo.wait_for_element(
        f'#inv-kpi-value-value span[data-value="{expected.inventory_value!r}"]'
    )
    dash_duo.wait_for_text_to_equal("#inv-kpi-carrying-value", money(expected.annual_carrying_cost))
    dash_duo.wait_for_text_to_equal("#inv-kpi-risk-value", f"⚠ {count(expected.skus_at_risk)}")
    assert expected.fill_rate is not None
    dash_duo.wait_for_contains_text("#inv-kpi-fill-value", percent(expected.fill_rate))
    dash_duo.wait_for_element("#inv-risk-grid .ag-row", timeout=10)
    dash_duo.wait_for_element("#inv-lots-grid .ag-row", timeout=10)
    for graph in ("#inv-by-warehouse", "#inv-by-category", "#inv-utilisation"):
        dash_duo.wait_for_element(f"{graph} .bars path", timeout=10)
    dash_duo.wait_for_contains_text(
        "#inv-utilisation", "⚠", timeout=10
    )  # the warehouse near capacity
    shot = tmp_path / "inventory.png"
    dash_duo.driver.save_screenshot(str(shot))
    if os.environ.get("INVDASH_UPDATE_SCREENSHOTS"):
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)
    assert dash_duo.get_logs() == []


def test_ops_wall_screen_fits_1920x1080_and_shows_the_same_numbers(
    dash_duo, demo_url: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(database_url=demo_url, refresh_seconds=60, telemetry="demo")
    source = InventorySource(sa.create_engine(demo_url), inventory_policy(settings))
    expected = inventory_kpis(source.stock_positions(dt.datetime.now(dt.UTC)))
    dash_duo.start_server(create_app(settings))
    # A wall screen's browser shows 1920x1080 of page: size the window so the viewport is that.
    chrome = dash_duo.driver.execute_script("return window.outerHeight - window.innerHeight")
    dash_duo.driver.set_window_size(1920, 1080 + chrome)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/ops?kiosk=1")
    dash_duo.wait_for_text_to_equal(
        "#ops-kpi-value-value", money(expected.inventory_value), timeout=30
    )
    dash_duo.wait_for_text_to_equal("#ops-kpi-risk-value", f"⚠ {count(expected.skus_at_risk)}")
    dash_duo.wait_for_element("#ops-risks .ops-table", timeout=10)
    dash_duo.wait_for_element("#ops-pod-tiles .pod-tile", timeout=15)
    dash_duo.wait_for_element("#ops-orders .bars path", timeout=15)
    dash_duo.wait_for_text_to_equal("#ops-pods-badge", "DEMO DATA", timeout=10)
    # The tile counts the last 60 complete minutes before the minute it was drawn in; the
    # page may have been drawn in the minute before this one, so either window is right.
    dash_duo.wait_for_element("#ops-kpi-orders-value [data-value]", timeout=10)
    shown = dash_duo.find_element("#ops-kpi-orders-value").text
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    windows = {
        count(int(source.order_lines_per_minute(end - HOUR, end)["orders"].sum()))
        for end in (now - dt.timedelta(minutes=1), now)
    }
    assert shown in windows
    shot = tmp_path / "ops.png"
    dash_duo.driver.save_screenshot(str(shot))
    if os.environ.get("INVDASH_UPDATE_SCREENSHOTS"):
        shutil.copyfile(shot, SCREENSHOT.parent / "ops.png")
    overflow = dash_duo.driver.execute_script(
        "return document.documentElement.scrollHeight - window.innerHeight"
    )
    assert overflow <= 0, f"the wall screen scrolls by {overflow} px"
    # A 4K wall: the same page, larger type, still no scrolling.
    dash_duo.driver.set_window_size(3840, 2160 + chrome)
    dash_duo.driver.refresh()
    dash_duo.wait_for_text_to_equal(
        "#ops-kpi-value-value", money(expected.inventory_value), timeout=30
    )
    dash_duo.wait_for_element("#ops-orders .bars path", timeout=15)
    dash_duo.wait_for_element("#ops-pod-tiles .pod-tile", timeout=15)
    overflow = dash_duo.driver.execute_script(
        "return document.documentElement.scrollHeight - window.innerHeight"
    )
    assert overflow <= 0, f"the 4K wall screen scrolls by {overflow} px"
    assert dash_duo.get_logs() == []


def test_sre_page_puts_orders_and_traffic_on_one_axis_with_events(
    dash_duo, demo_url: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(database_url=demo_url, refresh_seconds=60, telemetry="demo")
    open_on_a_screen(dash_duo, create_app(settings), "/sre?range=6h")
    dash_duo.wait_for_element("#sre-figure .scatterlayer .trace", timeout=30)
    dash_duo.wait_for_contains_text("#sre-kpi-correlation-hint", "best r =", timeout=15)
    dash_duo.wait_for_text_to_equal("#sre-badge", "DEMO DATA", timeout=10)
    titles = dash_duo.driver.execute_script(
        "return [...document.querySelectorAll('#sre-figure .annotation-text')].map(a => a.textContent)"
    )
    assert {
        "Order lines / min",
        "Requests / s",
        "5xx errors / s",
        "p95 latency (s)",
        "CPU cores",
        "Memory",
        "HPA replicas",
    } <= set(titles)
    shot = tmp_path / "sre.png"
    dash_duo.driver.save_screenshot(str(shot))
    if os.environ.get("INVDASH_UPDATE_SCREENSHOTS"):
        shutil.copyfile(shot, SCREENSHOT.parent / "sre.png")
    assert "range=6h" in dash_duo.driver.current_url

    # Click the orders row at a minute when the demo's leaking pod was crashlooping: the panel
    # lists the pods unhealthy at the clicked moment, as the demo cluster's history has them.
    demo = DemoCluster(
        InventorySource(
            sa.create_engine(demo_url), inventory_policy(settings)
        ).order_lines_per_minute
    )
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    target = next(
        now - dt.timedelta(minutes=back)
        for back in range(5, 6 * 60)
        if "CrashLoopBackOff"
        in set(demo.unhealthy_pods_at(now - dt.timedelta(minutes=back))["status"])
    )
    click_time(dash_duo, "#sre-figure", target)
    dash_duo.wait_for_contains_text("#sre-clicked", "UTC", timeout=10)
    heading = dash_duo.find_element("#sre-clicked strong").text
    clicked = dt.datetime.strptime(heading, "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=dt.UTC)
    assert abs(clicked - target) <= dt.timedelta(minutes=2)  # a refresh may slide the axis
    expected = demo.unhealthy_pods_at(clicked)
    assert not expected.empty
    listed = dash_duo.driver.execute_script(
        "return [...document.querySelectorAll('#sre-clicked .unhealthy-pods li')]"
        ".map(li => li.textContent)"
    )
    assert [item.split(":")[0] for item in listed] == [
        f"⚠ {row.namespace}/{row.pod}" for row in expected.itertuples()
    ]
    assert any("CrashLoopBackOff" in item for item in listed)

    # A click beside an event marker means the moment under the cursor, not the event's time.
    event = pd.Timestamp(demo.events(now - dt.timedelta(hours=1))["timestamp"].iloc[-1])
    beside = (event + pd.Timedelta(minutes=3)).floor("min").to_pydatetime()
    click_time(dash_duo, "#sre-figure", beside)
    dash_duo.wait_for_contains_text("#sre-clicked strong", f"{beside:%H:%M}", timeout=20)
    assert dash_duo.get_logs() == []


def test_exec_review_compares_periods_and_exports_csv(
    dash_duo, demo_url: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(database_url=demo_url, refresh_seconds=60, telemetry="demo")
    source = ExecutiveKpiSource(sa.create_engine(demo_url), settings.holding_cost_rate)
    expected = source.period_review(dt.datetime.now(dt.UTC), "month").set_index("kpi")
    open_on_a_screen(dash_duo, create_app(settings), "/exec?period=month")
    value = float(expected.loc["inventory_value", "current"])
    dash_duo.wait_for_element(
        f'#exec-inventory_value .exec-value[data-value="{value!r}"]', timeout=30
    )
    dash_duo.wait_for_text_to_equal("#exec-inventory_value .exec-value", money(value))
    for kpi in (
        "carrying_cost",
        "turnover",
        "days_of_inventory",
        "gmroi",
        "fill_rate",
        "stockout_count",
        "orders_per_day",
        "availability",
    ):
        dash_duo.wait_for_element(f"#exec-{kpi} .exec-change", timeout=10)
    dash_duo.wait_for_contains_text("#exec-fill_rate .exec-change", "vs previous", timeout=5)
    dash_duo.wait_for_element("#exec-abc-grid .ag-row", timeout=10)
    shot = tmp_path / "exec.png"
    dash_duo.driver.save_screenshot(str(shot))
    if os.environ.get("INVDASH_UPDATE_SCREENSHOTS"):
        shutil.copyfile(shot, SCREENSHOT.parent / "exec.png")
    assert dash_duo.get_logs() == []


def test_dragging_across_the_sre_chart_zooms_into_a_custom_range_kept_in_the_url(
    dash_duo, demo_url: str
) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(database_url=demo_url, refresh_seconds=60, telemetry="demo")
    open_on_a_screen(dash_duo, create_app(settings), "/sre?range=6h&kiosk=1")
    dash_duo.wait_for_element("#sre-figure .scatterlayer .trace", timeout=30)
    dash_duo.wait_for_contains_text("#sre-kpi-ratio-hint", "over the last 6h", timeout=15)
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    start, end = now - dt.timedelta(hours=3), now - dt.timedelta(hours=2)
    drag_time(dash_duo, "#sre-figure", start, end)
    dash_duo.wait_for_contains_text("#sre-kpi-ratio-hint", "from ", timeout=15)
    url = dash_duo.driver.current_url
    assert "kiosk=1" in url  # the rest of the view is kept
    chosen = parse_view("/sre", url.split("?", 1)[1])
    zoomed_start, zoomed_end = chosen.time_window(now)
    assert abs(zoomed_start - start) <= dt.timedelta(minutes=2)
    assert abs(zoomed_end - end) <= dt.timedelta(minutes=2)
    # The page redraws the chosen window: its x axis spans it and nothing after it.
    axis_end = dash_duo.driver.execute_script(
        "return document.querySelector('#sre-figure .js-plotly-plot')._fullLayout.xaxis.range[1]"
    )
    assert pd.Timestamp(axis_end).tz_localize("UTC") <= pd.Timestamp(zoomed_end) + pd.Timedelta(
        minutes=1
    )
    assert dash_duo.get_logs() == []


def test_a_quarter_reaching_back_before_the_data_is_not_compared_with_zeros(
    dash_duo, demo_url: str
) -> None:  # type: ignore[no-untyped-def]
    # The demo holds 120 days: the quarter before the last one starts before the first order.
    settings = load_settings(database_url=demo_url, refresh_seconds=60, telemetry="demo")
    open_on_a_screen(dash_duo, create_app(settings), "/exec?period=quarter")
    dash_duo.wait_for_contains_text("#exec-scope", "⚠ the data starts", timeout=30)
    dash_duo.wait_for_contains_text(
        "#exec-orders_per_day .exec-change", "no previous period in the data", timeout=10
    )
    # Availability comes from the metrics source, whose history does not start with the data.
    dash_duo.wait_for_contains_text("#exec-availability .exec-change", "previous", timeout=10)
    assert dash_duo.get_logs() == []
