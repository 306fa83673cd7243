"""The pages' default renderings of an inventory snapshot are made as it is loaded, before any
screen is handed it, and outlive the interval: the first screens of an interval do not wait
for a build, whichever snapshot (the new one, or the last while the new one loads) they get."""

from __future__ import annotations

import sqlalchemy as sa
from small_inventory import build_small_inventory

from dashboard import fetches
from dashboard.app import create_app
from dashboard.context import DashboardContext
from dashboard.settings import load_settings
from queries.inventory import InventorySnapshot

# What /ops and the Inventory page show unfiltered (the keys of fetches.shared_rendering).
DEFAULT_RENDERINGS = ("ops:stock-tiles:{}:all", "inventory:view:{}:all:all",
                      "inventory:risk-order:{}:all:all")  # fmt: skip


def _context(url: str) -> DashboardContext:
    build_small_inventory(sa.create_engine(url))
    app = create_app(load_settings(database_url=url, demo_orders="off", refresh_seconds=3600))
    context = app.server.config["INVDASH_CONTEXT"]
    assert isinstance(context, DashboardContext)
    return context


def _never_built() -> object:
    raise AssertionError("a screen built a rendering the snapshot's load had made")


def test_the_default_renderings_are_made_with_the_snapshot(sqlite_url: str) -> None:
    context = _context(sqlite_url)
    snapshot = fetches.inventory_snapshot(context).value
    assert isinstance(snapshot, InventorySnapshot)
    stamp = snapshot.fetched_at.isoformat()
    for key in DEFAULT_RENDERINGS:
        assert context.cache.loads[key.format(stamp)] == 1, key
    # What a screen asks for is there: its own build never runs.
    tiles = fetches.shared_rendering(context, "ops:stock-tiles", (stamp, "all"), _never_built)
    assert isinstance(tiles, dict)
    assert set(tiles) >= {"ops-kpi-value-value", "ops-risks"}


def test_a_filtered_view_is_built_when_a_screen_asks(sqlite_url: str) -> None:
    context = _context(sqlite_url)
    snapshot = fetches.inventory_snapshot(context).value
    assert isinstance(snapshot, InventorySnapshot)
    stamp = snapshot.fetched_at.isoformat()
    built: list[str] = []
    fetches.shared_rendering(
        context, "ops:stock-tiles", (stamp, "WH1"), lambda: built.append("WH1") or {}
    )
    assert built == ["WH1"]


def test_a_failing_rendering_leaves_the_snapshot_good(sqlite_url: str) -> None:
    context = _context(sqlite_url)

    def broken(snapshot: InventorySnapshot) -> None:
        raise ValueError("a page's bug")

    context.add_snapshot_rendering(broken)
    fetched = fetches.inventory_snapshot(context)
    assert fetched.error is None
    assert isinstance(fetched.value, InventorySnapshot)
