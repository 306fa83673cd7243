"""The alert rules on the demo's screens, in headless Chromium: during a checkout outage the
broken-checkout alert fires on /ops and /sre with its age, the SLO's error budget and burn rate
show on /sre and /exec, and the order service's autoscaler shows against its bounds on /sre and
/cluster; an hour before the outage no alert shows at all.

The demo is seeded three hours before an outage and carried on by its own orders loop to 70 minutes
into it (so the orders booked during it are the tenth that got through); the demo cluster's
clock stands at that moment. The latest weekday business-hours outage in which the demo fires is
used (a quiet Monday morning's may not).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from dash.testing.composite import DashComposite
from screen_actions import open_on_a_screen

from components.formatting import percent
from dashboard.app import create_app
from dashboard.settings import Settings, load_settings
from dashboard.sources import Sources, inventory_source
from demo import visitors
from demo.cluster import DemoCluster
from demo.orders import continue_orders
from demo.seed import seed_database
from queries.inventory import InventoryPolicy, InventorySource
from queries.slo import slo_status


def busy_outages(before: dt.datetime) -> list[dt.datetime]:
    """The starts of the outages of the 8 days before ``before`` (ended by then) on a weekday's
    business hours (08:40, 12:40 or 16:40 UTC), newest first: the shop has orders enough to
    miss."""
    found, moment = [], before - dt.timedelta(days=8)
    while True:
        start, end = visitors.next_outage(moment)
        if end >= before:
            return found[::-1]
        if start.weekday() < 5 and start.hour in (8, 12, 16):
            found.append(start)
        moment = end


# Outages tried, newest first, until the demo fires in one: a quiet morning's outage may miss
# the rule's threshold (measured: it fires in most, not all), and the test needs one that fires.
TRIED_OUTAGES = 3


@dataclass(frozen=True)
class Outage:
    url: str
    inside: dt.datetime  # 70 minutes into the outage: the alert has held its 15 minutes
    calm: dt.datetime  # an hour before it


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory) -> Outage:
    tried = []
    for start in busy_outages(dt.datetime.now(dt.UTC))[:TRIED_OUTAGES]:
        inside = start + dt.timedelta(minutes=70)
        url = f"sqlite:///{tmp_path_factory.mktemp('outage')}/demo.sqlite3"
        engine = sa.create_engine(url)
        seed_database(engine, scale="demo", seed=7, now=start - dt.timedelta(hours=3))
        continue_orders(engine, inside, seed=7)
        demo = DemoCluster(
            InventorySource(engine, InventoryPolicy()).order_lines_per_minute,
            clock=lambda inside=inside: inside,
        )
        fired = set(demo.firing_alerts()["alertname"])
        engine.dispose()
        if "InvdashBrokenCheckout" in fired:
            return Outage(url, inside, start - dt.timedelta(minutes=60))
        tried.append(f"{inside:%a %H:%M}: {sorted(fired)}")
    raise AssertionError(f"no broken checkout in the latest busy outages: {tried}")


def demo_app(url: str, moment: dt.datetime) -> tuple[Settings, Sources]:
    settings = load_settings(database_url=url, refresh_seconds=60, telemetry="demo")
    inventory = inventory_source(settings)
    demo = DemoCluster(inventory.order_lines_per_minute, clock=lambda: moment)
    return settings, Sources(inventory, demo, demo)


def go_to(dash_duo: DashComposite, path: str) -> None:
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}{path}")


def test_a_firing_alert_the_error_budget_and_the_autoscaler_on_the_demo(
    dash_duo: DashComposite, outage: Outage
) -> None:
    settings, sources = demo_app(outage.url, outage.inside)
    metrics = sources.metrics
    assert metrics is not None
    # The page reads the SLO as of when it refreshes; over 30 days the demo sums whole hours,
    # so its budget moves only when an hour ends: the hours either side of the test.
    now = dt.datetime.now(dt.UTC)
    expected = [
        slo_status(metrics, "order-service", settings.slo_objective, moment)
        for moment in (now, now + dt.timedelta(minutes=5))
    ]
    open_on_a_screen(dash_duo, create_app(settings, sources), "/ops")

    broken = '#alert-strip .alert-item[data-alertname="InvdashBrokenCheckout"]'
    dash_duo.wait_for_element(broken, timeout=30)
    text = dash_duo.find_element(broken).text
    assert "CRITICAL" in text
    assert "Orders fell by more than half while traffic holds" in text
    assert "for " in text  # its age: at least the rule's 15 minutes
    assert "alert-critical" in dash_duo.find_element(broken).get_attribute("class")

    go_to(dash_duo, "/sre")
    dash_duo.wait_for_element(broken, timeout=30)
    budget = ", ".join(
        f'#slo-budget .kpi-number[data-value="{status.budget_left!r}"]' for status in expected
    )
    dash_duo.wait_for_element(budget, timeout=30)
    assert dash_duo.find_element("#slo-burn .kpi-number").text.endswith("x")
    availability = dash_duo.find_element("#slo-availability .kpi-number").text
    assert any(availability.endswith(percent(status.availability, 2)) for status in expected)
    row = '#hpa-rows .hpa-row[data-hpa="shop/order-service"]'
    dash_duo.wait_for_element(row, timeout=30)
    assert "(3 to 8)" in dash_duo.find_element(row).text

    go_to(dash_duo, "/exec")
    dash_duo.wait_for_element(budget, timeout=30)

    go_to(dash_duo, "/cluster")
    dash_duo.wait_for_element(row, timeout=30)
    assert dash_duo.get_logs() == []


def test_no_alert_shows_when_none_fires(dash_duo: DashComposite, outage: Outage) -> None:
    settings, sources = demo_app(outage.url, outage.calm)
    assert sources.metrics is not None
    assert sources.metrics.firing_alerts().empty
    open_on_a_screen(dash_duo, create_app(settings, sources), "/ops")
    # The page has refreshed its panels (the stock tiles filled) and the strip stays empty.
    dash_duo.wait_for_element(
        '#ops-kpi-value-value .kpi-number[data-value]:not([data-value=""])', timeout=30
    )
    dash_duo.wait_for_element("#alert-strip", timeout=10)
    assert dash_duo.find_elements("#alert-strip .alert-item") == []
    assert dash_duo.find_element("#alert-strip").text == ""
