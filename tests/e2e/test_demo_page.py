"""The Inventory page on the seeded demo data, as a person first sees it after `invdash serve`."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from dash.testing.composite import DashComposite
from screen_actions import (
    click_time,
    drag_time,
    open_on_a_screen,
    wait_for_text_in,
    wait_until_settled,
)

from components.formatting import count, money, percent
from components.sre import ROWS as SRE_ROWS
from dashboard.app import create_app
from dashboard.settings import Settings, load_settings
from dashboard.sources import inventory_policy
from dashboard.urlstate import parse_view
from demo.cluster import DemoCluster
from demo.seed import seed_database
from queries.inventory import InventorySource
from queries.kpis import ExecutiveKpiSource
from queries.rollups import InventoryKpis, inventory_kpis

HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)
# A click lands on the orders row's bar of the clicked minute: the bar is one minute wide.
ONE_BAR = dt.timedelta(seconds=30)
# The page computes its figures a little after the test does: long enough for either to fall
# after midnight UTC, when the demand window (whole UTC days) moves on.
PAGE_LAG = dt.timedelta(minutes=5)
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "inventory.png"


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo')}/demo.sqlite3"
    seed_database(sa.create_engine(url), scale="demo", seed=7)
    return url


def demo_settings(demo_url: str) -> Settings:
    """The app's settings on the demo database, with the demo's telemetry."""
    return load_settings(database_url=demo_url, refresh_seconds=60, telemetry="demo")


def open_the_demo(dash_duo: DashComposite, demo_url: str, path: str) -> Settings:
    """Start the app on the demo (``demo_settings``) and open ``path`` on a screen."""
    settings = demo_settings(demo_url)
    open_on_a_screen(dash_duo, create_app(settings), path)
    return settings


def kpis_either_side_of_midnight(source: InventorySource) -> list[InventoryKpis]:
    """The KPI tiles as the page may compute them: now, or after midnight UTC should the page
    get there first (risk and fill rate follow the demand window's whole days)."""
    now = dt.datetime.now(dt.UTC)
    later = now + PAGE_LAG
    moments = [now] if later.date() == now.date() else [now, later]
    return [inventory_kpis(source.stock_positions(moment)) for moment in moments]


def test_demo_tiles_equal_the_queries_and_every_panel_has_data(
    dash_duo: DashComposite, demo_url: str, tmp_path: Path
) -> None:
    settings = load_settings(database_url=demo_url, refresh_seconds=60)
    candidates = kpis_either_side_of_midnight(
        InventorySource(sa.create_engine(demo_url), inventory_policy(settings))
    )
    expected = candidates[0]
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
    wait_for_text_in(
        dash_duo, "#inv-kpi-risk-value", {f"⚠ {count(k.skus_at_risk)}" for k in candidates}
    )
    fill_rates = [k.fill_rate for k in candidates if k.fill_rate is not None]
    assert len(fill_rates) == len(candidates)
    wait_for_text_in(
        dash_duo, "#inv-kpi-fill-value", {percent(rate) for rate in fill_rates}, contains=True
    )
    dash_duo.wait_for_element("#inv-risk-grid .ag-row", timeout=20)
    dash_duo.wait_for_element("#inv-lots-grid .ag-row", timeout=20)
    for graph in ("#inv-by-warehouse", "#inv-by-category", "#inv-utilisation"):
        dash_duo.wait_for_element(f"{graph} .bars path", timeout=20)
    dash_duo.wait_for_contains_text(
        "#inv-utilisation", "⚠", timeout=20
    )  # the warehouse near capacity
    wait_until_settled(dash_duo)
    shot = tmp_path / "inventory.png"
    dash_duo.driver.save_screenshot(str(shot))
    if os.environ.get("INVDASH_UPDATE_SCREENSHOTS"):
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)
    assert dash_duo.get_logs() == []


def test_ops_wall_screen_fits_1920x1080_and_shows_the_same_numbers(
    dash_duo: DashComposite, demo_url: str, tmp_path: Path
) -> None:
    settings = demo_settings(demo_url)
    source = InventorySource(sa.create_engine(demo_url), inventory_policy(settings))
    candidates = kpis_either_side_of_midnight(source)
    expected = candidates[0]
    opened = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    dash_duo.start_server(create_app(settings))
    # A wall screen's browser shows 1920x1080 of page: size the window so the viewport is that.
    chrome = dash_duo.driver.execute_script("return window.outerHeight - window.innerHeight")
    dash_duo.driver.set_window_size(1920, 1080 + chrome)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/ops?kiosk=1")
    dash_duo.wait_for_text_to_equal(
        "#ops-kpi-value-value", money(expected.inventory_value), timeout=30
    )
    wait_for_text_in(
        dash_duo, "#ops-kpi-risk-value", {f"⚠ {count(k.skus_at_risk)}" for k in candidates}
    )
    dash_duo.wait_for_element("#ops-risks .ops-table", timeout=20)
    dash_duo.wait_for_element("#ops-pod-tiles .pod-tile", timeout=20)
    dash_duo.wait_for_element("#ops-orders .bars path", timeout=20)
    dash_duo.wait_for_text_to_equal("#ops-pods-badge", "DEMO DATA", timeout=20)
    # The tile counts the last 60 complete minutes before the minute it was drawn in: any
    # minute from opening the page until now (a slow first draw or a refresh can cross one).
    dash_duo.wait_for_element("#ops-kpi-orders-value [data-value]", timeout=20)
    shown = dash_duo.driver.execute_script(  # in one call: a refresh may replace the element
        "return document.querySelector('#ops-kpi-orders-value').innerText"
    )
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    ends = [opened + n * MINUTE for n in range(int((now - opened) / MINUTE) + 1)]
    windows = {
        count(int(source.order_lines_per_minute(end - HOUR, end)["orders"].sum())) for end in ends
    }
    assert shown in windows, (shown, windows)
    wait_until_settled(dash_duo)
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
    dash_duo.wait_for_element("#ops-risks .ops-table", timeout=20)
    dash_duo.wait_for_element("#ops-orders .bars path", timeout=20)
    dash_duo.wait_for_element("#ops-pod-tiles .pod-tile", timeout=20)
    dash_duo.wait_for_element("#ops-kpi-orders-value [data-value]", timeout=20)
    wait_until_settled(dash_duo)
    overflow = dash_duo.driver.execute_script(
        "return document.documentElement.scrollHeight - window.innerHeight"
    )
    assert overflow <= 0, f"the 4K wall screen scrolls by {overflow} px"
    assert dash_duo.get_logs() == []


def test_sre_page_puts_orders_and_traffic_on_one_axis_with_events(
    dash_duo: DashComposite, demo_url: str, tmp_path: Path
) -> None:
    settings = open_the_demo(dash_duo, demo_url, "/sre?range=6h")
    dash_duo.wait_for_element("#sre-figure .scatterlayer .trace", timeout=30)
    dash_duo.wait_for_contains_text("#sre-kpi-correlation-hint", "best r =", timeout=30)
    dash_duo.wait_for_text_to_equal("#sre-badge", "DEMO DATA", timeout=20)
    titles = dash_duo.driver.execute_script(
        "return [...document.querySelectorAll('#sre-figure .annotation-text')].map(a => a.textContent)"
    )
    # Every row's title: over 6 h the order bars stay one a minute, titled "Order lines / min".
    assert set(SRE_ROWS) <= set(titles)
    wait_until_settled(dash_duo)
    shot = tmp_path / "sre.png"
    dash_duo.driver.save_screenshot(str(shot))
    if os.environ.get("INVDASH_UPDATE_SCREENSHOTS"):
        shutil.copyfile(shot, SCREENSHOT.parent / "sre.png")
    assert "range=6h" in dash_duo.driver.current_url

    # Click the orders row at a minute when the demo's leaking pod was crashlooping: the panel
    # lists the pods unhealthy at the clicked moment, as the demo cluster's history has them.
    # The demo's back-off shows at one minute's start an hour, so the click must hit that bar.
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
    click_time(dash_duo, "#sre-figure", target, within=ONE_BAR)
    dash_duo.wait_for_contains_text("#sre-clicked", "UTC", timeout=20)
    heading = dash_duo.find_element("#sre-clicked strong").text
    clicked = dt.datetime.strptime(heading, "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=dt.UTC)
    assert abs(clicked - target) <= ONE_BAR
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
    click_time(dash_duo, "#sre-figure", beside, within=ONE_BAR)
    dash_duo.wait_for_contains_text("#sre-clicked strong", f"{beside:%H:%M}", timeout=20)
    assert dash_duo.get_logs() == []


def test_exec_review_compares_periods_and_exports_csv(
    dash_duo: DashComposite, demo_url: str, tmp_path: Path
) -> None:
    settings = demo_settings(demo_url)
    source = ExecutiveKpiSource(sa.create_engine(demo_url), settings.holding_cost_rate)
    # The periods end at midnight UTC: the page may compute them after the next one.
    now = dt.datetime.now(dt.UTC)
    moments = [now] if (now + PAGE_LAG).date() == now.date() else [now, now + PAGE_LAG]
    values = [
        float(
            source.period_review(moment, "month").set_index("kpi").loc["inventory_value", "current"]
        )
        for moment in moments
    ]
    open_on_a_screen(dash_duo, create_app(settings), "/exec?period=month")
    dash_duo.wait_for_element(
        ", ".join(f'#exec-inventory_value .exec-value[data-value="{v!r}"]' for v in values),
        timeout=30,
    )
    wait_for_text_in(dash_duo, "#exec-inventory_value .exec-value", {money(v) for v in values})
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
        dash_duo.wait_for_element(f"#exec-{kpi} .exec-change", timeout=20)
    dash_duo.wait_for_contains_text("#exec-fill_rate .exec-change", "vs previous", timeout=15)
    dash_duo.wait_for_element("#exec-abc-grid .ag-row", timeout=20)
    wait_until_settled(dash_duo)
    shot = tmp_path / "exec.png"
    dash_duo.driver.save_screenshot(str(shot))
    if os.environ.get("INVDASH_UPDATE_SCREENSHOTS"):
        shutil.copyfile(shot, SCREENSHOT.parent / "exec.png")
    assert dash_duo.get_logs() == []


def test_dragging_across_the_sre_chart_zooms_into_a_custom_range_kept_in_the_url(
    dash_duo: DashComposite, demo_url: str
) -> None:
    open_the_demo(dash_duo, demo_url, "/sre?range=6h&kiosk=1")
    dash_duo.wait_for_element("#sre-figure .scatterlayer .trace", timeout=30)
    dash_duo.wait_for_contains_text("#sre-kpi-ratio-hint", "over the last 6h", timeout=30)
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    start, end = now - dt.timedelta(hours=3), now - dt.timedelta(hours=2)
    drag_time(dash_duo, "#sre-figure", start, end)
    dash_duo.wait_for_contains_text("#sre-kpi-ratio-hint", "from ", timeout=30)
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
    dash_duo: DashComposite, demo_url: str
) -> None:
    # The demo holds 120 days: the quarter before the last one starts before the first order.
    open_the_demo(dash_duo, demo_url, "/exec?period=quarter")
    dash_duo.wait_for_contains_text("#exec-scope", "⚠ the data starts", timeout=30)
    dash_duo.wait_for_contains_text(
        "#exec-orders_per_day .exec-change", "no previous period in the data", timeout=20
    )
    # Availability comes from the metrics source, whose history does not start with the data.
    dash_duo.wait_for_contains_text("#exec-availability .exec-change", "previous", timeout=20)
    assert dash_duo.get_logs() == []
