"""The Cluster page in real headless Chromium on the demo cluster, labelled as such."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

from dash.testing.composite import DashComposite
from screen_actions import wait_until_settled
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.ui import WebDriverWait
from small_inventory import small_inventory_settings

from dashboard.app import create_app
from dashboard.settings import Settings
from demo.cluster import DemoCluster

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "cluster.png"


def demo_settings(sqlite_url: str) -> Settings:
    """The small inventory at ``sqlite_url`` and the demo cluster beside it."""
    return small_inventory_settings(sqlite_url, telemetry="demo", refresh_seconds=30)


def test_cluster_page_on_the_demo_cluster_shows_every_panel_marked_demo(
    dash_duo: DashComposite, sqlite_url: str, tmp_path: Path
) -> None:
    settings = demo_settings(sqlite_url)
    dash_duo.driver.set_window_size(1920, 1080)
    dash_duo.start_server(create_app(settings))
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/cluster")
    dash_duo.wait_for_element("#cl-pod-tiles .pod-tile", timeout=30)
    dash_duo.wait_for_text_to_equal("#cl-memory-badge", "DEMO DATA", timeout=20)
    for panel in ("pods", "workloads", "usage", "events", "nodes"):
        dash_duo.wait_for_text_to_equal(f"#cl-{panel}-badge", "DEMO DATA", timeout=20)
        dash_duo.wait_for_contains_text(f"#cl-{panel}-freshness", "updated", timeout=20)
    dash_duo.wait_for_contains_text("#cl-pod-tiles", "order-service", timeout=20)
    dash_duo.wait_for_element("#cl-workload-grid .ag-row", timeout=20)
    dash_duo.wait_for_contains_text("#cl-workload-grid", "order-service", timeout=20)
    dash_duo.wait_for_element("#cl-cpu .scatterlayer .trace", timeout=20)
    dash_duo.wait_for_element("#cl-memory .scatterlayer .trace", timeout=20)
    dash_duo.wait_for_contains_text("#cl-node-tiles", "node-a", timeout=20)
    wait_until_settled(dash_duo)
    shot = tmp_path / "cluster.png"
    dash_duo.driver.save_screenshot(str(shot))
    if os.environ.get("INVDASH_UPDATE_SCREENSHOTS"):
        shutil.copyfile(shot, SCREENSHOT)
    assert dash_duo.get_logs() == []


def test_a_pod_tile_opens_its_detail(dash_duo: DashComposite, sqlite_url: str) -> None:
    settings = demo_settings(sqlite_url)
    dash_duo.start_server(create_app(settings))
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/cluster")
    dash_duo.wait_for_element("#cl-workload-grid .ag-row", timeout=30)
    # A refresh may replace the tiles (the demo's pods come and go) between finding a tile,
    # reading its name and clicking it: then find it again.
    for _attempt in range(5):
        tile = dash_duo.wait_for_element(
            '#cl-pod-tiles .pod-tile[title="shop/order-service"]', timeout=20
        )
        try:
            name = tile.find_element("css selector", ".pod-name").text
            tile.click()
            break
        except StaleElementReferenceException:
            continue
    else:
        raise AssertionError("the order-service tiles kept being replaced")
    dash_duo.wait_for_contains_text("#pod-detail", f"shop/{name}", timeout=20)
    dash_duo.wait_for_contains_text(
        "#pod-detail", "Containers: usage against requests and limits", timeout=15
    )
    dash_duo.wait_for_contains_text("#pod-detail", "app", timeout=15)
    assert dash_duo.get_logs() == []


def test_namespace_and_workload_in_the_url_narrow_every_cluster_panel(
    dash_duo: DashComposite, sqlite_url: str
) -> None:
    settings = demo_settings(sqlite_url)
    opened = dt.datetime.now(dt.UTC)
    pods = DemoCluster(None).pod_health()
    payments = pods[pods["workload"] == "payments"]
    namespace = str(payments["namespace"].iloc[0])
    assert len(set(pods["workload"])) > 2  # there is something to filter out
    dash_duo.start_server(create_app(settings))
    dash_duo.wait_for_page(
        url=f"{dash_duo.server_url}/cluster?namespace={namespace}&workload=payments"
    )
    dash_duo.wait_for_element("#cl-workload-grid .ag-row", timeout=30)
    # Wait for the filtered tiles rather than read the first ones drawn: the filters and the
    # tiles come from separate callbacks.
    titles = WebDriverWait(dash_duo.driver, 20).until(
        lambda driver: (
            (
                found := driver.execute_script(
                    "return [...document.querySelectorAll('#cl-pod-tiles .pod-tile')]"
                    ".map(t => t.title)"
                )
            )
            and set(found) == {f"{namespace}/payments"}
            and found
        )
    )
    # payments has 2 replicas, 3 during its hourly rollout: count them at every second the page
    # may have fetched its pods in, from opening it until now.
    counts = set()
    moment, now = opened, dt.datetime.now(dt.UTC)
    while moment <= now:
        at = DemoCluster(None, clock=lambda moment=moment: moment).pod_health()
        counts.add(int((at["workload"] == "payments").sum()))
        moment += dt.timedelta(seconds=1)
    assert len(titles) in counts, (titles, counts)
    workloads = WebDriverWait(dash_duo.driver, 20).until(
        lambda driver: (
            (
                found := driver.execute_script(
                    "return [...document.querySelectorAll("
                    "'#cl-workload-grid .ag-row [col-id=\"workload\"]')].map(c => c.textContent)"
                )
            )
            and set(found) == {"payments"}
            and found
        )
    )
    assert set(workloads) == {"payments"}
    assert dash_duo.find_element("#cl-namespace").get_attribute("value") == namespace
    assert dash_duo.find_element("#cl-workload").get_attribute("value") == "payments"
    assert dash_duo.get_logs() == []
