"""The fetch seam (dashboard/fetches.py): pages read sources through it alone, panels showing
the same data share one entry, and a source that is not configured says so."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import sqlalchemy as sa
from small_inventory import build_small_inventory

from dashboard import fetches
from dashboard.app import create_app
from dashboard.context import DashboardContext
from dashboard.settings import load_settings

PAGES_DIR = Path(__file__).resolve().parents[2] / "dashboard" / "pages"
CACHE_CALLS = {"fetch", "peek", "cached_frame", "inventory_snapshot"}


def _context(url: str, telemetry: str) -> DashboardContext:
    build_small_inventory(sa.create_engine(url))
    app = create_app(load_settings(database_url=url, telemetry=telemetry, demo_orders="off"))
    context = app.server.config["INVDASH_CONTEXT"]
    assert isinstance(context, DashboardContext)
    return context


def test_no_page_reads_the_cache_but_through_the_seam() -> None:
    found = [
        f"{path.name}:{node.lineno} .{node.attr}"
        for path in sorted(PAGES_DIR.glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute)
        and node.attr in CACHE_CALLS
        and not (isinstance(node.value, ast.Name) and node.value.id == "fetches")
    ]
    assert found == []


def test_panels_on_the_same_data_share_one_load(sqlite_url: str) -> None:
    context = _context(sqlite_url, "demo")
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    hour = dt.timedelta(hours=1)
    # /ops and /sre on the last hour; the Cluster page's and the /ops pod tiles.
    first = fetches.order_volume(context, 60, now - hour, now)
    second = fetches.order_volume(context, 60, now - hour, now)
    pods = [fetches.fetch_pods(context) for _ in range(3)]
    assert first.fetched_at == second.fetched_at
    assert context.cache.loads[fetches.PODS] == 1
    assert len(fetches.last_pods(context)) == len(pods[0].value) > 0
    assert fetches.last_pods_entry(context) is not None


def test_sources_that_are_not_configured_say_so_and_load_nothing(sqlite_url: str) -> None:
    context = _context(sqlite_url, "off")
    now = dt.datetime.now(dt.UTC)
    for fetched in (
        fetches.fetch_pods(context),
        fetches.fetch_nodes(context),
        fetches.fetch_container_resources(context),
        fetches.fetch_service_traffic(context, 60, now - dt.timedelta(hours=1), now),
    ):
        assert (fetched.value, fetched.error) == (None, "not configured")
    assert (
        fetches.fetch_review_traffic(context, "week", now - dt.timedelta(days=14), now, 300) is None
    )
    assert fetches.last_pods(context).empty
    assert not context.cache.loads
