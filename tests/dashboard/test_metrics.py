"""invdash's own metrics: source calls counted and timed with their labels, cache hits and
misses, callback latency by output, active screens, and the /metrics route."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from clock import Clock
from dash_requests import UPDATE_PATH, callback_request
from flask import Flask
from flask_caching import Cache
from prometheus_client import REGISTRY
from small_inventory import build_small_inventory

from dashboard.app import create_app
from dashboard.cache import SharedCache
from dashboard.instrumented_sources import instrument_sources, instrumented
from dashboard.metrics import UNKNOWN_CALLBACK, callback_label
from dashboard.screens import SCREEN_COOKIE, ProcessScreens, ScreenTracker, track_screens
from dashboard.settings import load_settings
from dashboard.sources import Sources, inventory_source
from demo.cluster import DemoCluster
from queries.inventory import InventorySource


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def queries(source: str, query: str) -> tuple[float, float, float]:
    """(calls, errors, timed calls) of one source query so far."""
    labels = {"source": source, "query": query}
    return (
        sample("invdash_source_queries_total", **labels),
        sample("invdash_source_errors_total", **labels),
        sample("invdash_source_query_duration_seconds_count", **labels),
    )


def test_each_query_method_call_is_counted_and_timed_under_its_source_and_name(
    sqlite_url: str,
) -> None:
    build_small_inventory(sa.create_engine(sqlite_url))
    source = instrumented(inventory_source(load_settings(database_url=sqlite_url)))
    before = queries("inventory database", "warehouses")

    source.warehouses()
    source.warehouses()

    calls, errors, timed = queries("inventory database", "warehouses")
    assert (calls, errors, timed) == (before[0] + 2, before[1], before[2] + 2)
    assert source.name == "inventory database"
    assert source.engine.url.database.endswith("inventory.sqlite3")


def test_a_query_that_raises_and_a_health_probe_that_fails_count_as_errors(tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path}/no/such/dir/inventory.sqlite3"
    source: InventorySource = instrumented(inventory_source(load_settings(database_url=missing)))
    warehouses_before = queries("inventory database", "warehouses")
    health_before = queries("inventory database", "check_health")

    with pytest.raises(sa.exc.OperationalError):
        source.warehouses()
    assert not source.check_health().ok

    calls, errors, timed = queries("inventory database", "warehouses")
    assert (calls, errors, timed) == tuple(n + 1 for n in warehouses_before)
    calls, errors, _ = queries("inventory database", "check_health")
    assert (calls, errors) == (health_before[0] + 1, health_before[1] + 1)


def test_the_demo_cluster_stays_one_source_when_instrumented(sqlite_url: str) -> None:
    inventory = inventory_source(load_settings(database_url=sqlite_url))
    demo = DemoCluster(inventory.order_lines_per_minute)
    sources = instrument_sources(Sources(inventory, demo, demo))
    assert [source.name for source in sources.all] == ["inventory database", "demo cluster"]
    assert sources.cluster is sources.metrics
    assert instrumented(sources.inventory) is sources.inventory


def test_lookups_count_as_hits_and_loads_as_misses_by_key_kind() -> None:
    shared = SharedCache(Cache(Flask("test"), config={"CACHE_TYPE": "SimpleCache"}), 3600)
    hits = sample("invdash_cache_hits_total", key="metrics-test")
    misses = sample("invdash_cache_misses_total", key="metrics-test")
    for _ in range(3):
        shared.fetch("metrics-test:window:60", lambda: 1)
    assert sample("invdash_cache_misses_total", key="metrics-test") == misses + 1
    assert sample("invdash_cache_hits_total", key="metrics-test") == hits + 2


def test_callback_labels_are_the_first_output_and_only_registered_ones() -> None:
    known = {"source-status.children", "..sre-figure.figure...sre-badge.children..."}
    assert callback_label("source-status.children", known) == "source-status.children"
    assert callback_label("..a.b...c.d...e.f..", {"..a.b...c.d...e.f.."}) == "a.b +2"
    duplicate = "url.search@" + "b63a1f" + "0" * 58
    assert callback_label(duplicate, {duplicate}) == "url.search@b63a1f"
    assert callback_label("made-up.children", known) == UNKNOWN_CALLBACK
    assert callback_label(None, known) == UNKNOWN_CALLBACK


def test_callback_requests_are_timed_by_output_and_served_at_metrics(sqlite_url: str) -> None:
    build_small_inventory(sa.create_engine(sqlite_url))
    app = create_app(load_settings(database_url=sqlite_url, telemetry="off", refresh_seconds=60))
    client = app.server.test_client()
    dependencies = client.get("/_dash-dependencies").get_json()
    status = callback_request(dependencies, "source-status.children", {"tick.data": 1})
    timed = sample("invdash_callback_duration_seconds_count", output="source-status.children")
    unknown = sample("invdash_callback_duration_seconds_count", output=UNKNOWN_CALLBACK)

    assert client.post(UPDATE_PATH, json=status).status_code == 200
    client.post(UPDATE_PATH, json={**status, "output": "made-up.children"})

    assert sample("invdash_callback_duration_seconds_count", output="source-status.children") == (
        timed + 1
    )
    assert sample("invdash_callback_duration_seconds_count", output=UNKNOWN_CALLBACK) == (
        unknown + 1
    )
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert 'invdash_callback_duration_seconds_count{output="source-status.children"}' in text
    assert 'invdash_source_queries_total{query="check_health",source="inventory database"}' in text


def test_screens_count_while_they_refresh_and_drop_out_after_the_window() -> None:
    clock = Clock()
    tracker = ScreenTracker(ProcessScreens(), refresh_seconds=10, clock=clock)
    assert tracker.window_seconds == 30
    for screen in ("wall-1", "wall-2", "wall-1"):
        tracker.seen(screen)
    assert tracker.active() == 2
    assert sample("invdash_active_screens") == 2
    clock.now += 20
    tracker.seen("wall-2")
    clock.now += 15  # wall-1 last seen 35 s ago, wall-2 15 s ago
    assert tracker.active() == 1
    clock.now += 60
    assert tracker.active() == 0


def test_a_screen_is_its_cookie_and_a_new_browser_gets_one() -> None:
    server = Flask("screens")
    server.add_url_rule(UPDATE_PATH, "update", lambda: "{}", methods=["POST"])
    server.add_url_rule("/", "index", lambda: "<html></html>")
    screens = ProcessScreens()
    track_screens(server, ScreenTracker(screens, refresh_seconds=10))
    client = server.test_client()

    page = client.get("/")
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith(f"{SCREEN_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    for _ in range(3):  # the test client sends the cookie back, as a browser does
        response = client.post(UPDATE_PATH)
        assert "Set-Cookie" not in response.headers
    other = server.test_client()
    other.set_cookie(SCREEN_COOKIE, "another-wall-screen")
    other.post(UPDATE_PATH)
    assert screens.count(since=0) == 2
