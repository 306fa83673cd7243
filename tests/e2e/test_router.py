"""A filter change updates the panels, not the page: counted from the callback requests the
browser sends, one per panel, and none that rebuilds the page."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

from dash.testing.composite import DashComposite
from flask import request
from screen_actions import choose_option
from small_inventory import small_inventory_settings

from components.formatting import money
from dashboard.app import create_app

ROUTE = "page.children"
OPS_PANELS = ("ops-scope.children", "ops-kpi-orders-value.children", "ops-kpi-pods-value.children")
INVENTORY = "inv-freshness.children"
QUIET_SECONDS = 1.5
# Moves the address as the browser's back and forward do: history changes, then popstate.
GO_TO = "window.history.pushState({}, '', arguments[0]); window.dispatchEvent(new PopStateEvent('popstate'));"


def start(dash_duo: DashComposite, sqlite_url: str, path: str) -> Callable[[], Counter[str]]:
    """The app on a small inventory, no refresh tick in the test's time (an hour), opened at
    ``path``; returns what counts its callback requests by output."""
    settings = small_inventory_settings(
        sqlite_url, telemetry="demo", demo_orders="off", refresh_seconds=3600
    )
    app = create_app(settings)
    calls: Counter[str] = Counter()
    guard = threading.Lock()

    @app.server.before_request
    def count() -> None:
        if request.path.endswith("/_dash-update-component") and request.is_json:
            body = request.get_json(silent=True) or {}
            with guard:
                calls[str(body.get("output", ""))] += 1

    def counted() -> Counter[str]:
        with guard:
            return Counter(calls)

    dash_duo.start_server(app)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}{path}")
    return counted


def settled(counted: Callable[[], Counter[str]]) -> Counter[str]:
    """The counts once no callback request has come for QUIET_SECONDS."""
    last, since = counted(), time.monotonic()
    deadline = since + 30
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = counted()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= QUIET_SECONDS:
            return now
    raise AssertionError(f"callbacks never settled: {last}")


def calls_to(counts: Counter[str], output: str) -> int:
    """Requests of the callback whose outputs include ``output`` (a callback with several
    outputs names them as ``..a.children...b.figure..``)."""
    return sum(
        n
        for spec, n in counts.items()
        if output in (spec[2:-2].split("...") if spec.startswith("..") else [spec])
    )


def _delta(before: Counter[str], after: Counter[str], output: str) -> int:
    return calls_to(after, output) - calls_to(before, output)


def test_a_filter_change_on_ops_updates_each_panel_once_and_never_rebuilds_the_page(
    dash_duo: DashComposite, sqlite_url: str
) -> None:
    counted = start(dash_duo, sqlite_url, "/ops")
    dash_duo.wait_for_text_to_equal("#ops-scope", "All warehouses", timeout=30)
    before = settled(counted)
    assert all(calls_to(before, panel) >= 1 for panel in (ROUTE, *OPS_PANELS)), before

    dash_duo.driver.execute_script(GO_TO, "/ops?warehouse=WH2")
    dash_duo.wait_for_text_to_equal("#ops-scope", "Warehouse WH2", timeout=20)
    after = settled(counted)
    assert _delta(before, after, ROUTE) == 0
    assert {panel: _delta(before, after, panel) for panel in OPS_PANELS} == dict.fromkeys(
        OPS_PANELS, 1
    )
    assert dash_duo.get_logs() == []


def test_a_filter_chosen_on_the_inventory_updates_it_once_and_the_address_follows_back(
    dash_duo: DashComposite, sqlite_url: str
) -> None:
    counted = start(dash_duo, sqlite_url, "/?warehouse=WH2")
    dash_duo.wait_for_text_to_equal("#inv-kpi-value-value", money(10.0), timeout=30)
    before = settled(counted)
    choose_option(dash_duo, "#inv-category", "Pharmacy", "category=Pharmacy")
    after = settled(counted)
    assert dash_duo.driver.current_url.endswith("/?warehouse=WH2&category=Pharmacy")
    assert _delta(before, after, ROUTE) == 0
    assert _delta(before, after, INVENTORY) == 1

    # Back to the address before: the control follows it, and the panel updates once more.
    dash_duo.driver.execute_script(GO_TO, "/?warehouse=WH2")
    dash_duo.wait_for_text_to_equal("#inv-kpi-value-value", money(10.0), timeout=20)
    back = settled(counted)
    assert dash_duo.find_element("#inv-category").get_attribute("value") == "All"
    assert _delta(after, back, ROUTE) == 0
    assert _delta(after, back, INVENTORY) == 1
    assert dash_duo.get_logs() == []
