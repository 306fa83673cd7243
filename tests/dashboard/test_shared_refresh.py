"""Many screens, one query: every screen's refresh in an interval reads the same cached snapshot."""

from __future__ import annotations

import sqlalchemy as sa
from small_inventory import build_small_inventory

from dashboard.app import create_app
from dashboard.context import DashboardContext
from dashboard.settings import load_settings


def test_twenty_screens_refreshing_in_one_interval_run_the_queries_once(sqlite_url: str) -> None:
    build_small_inventory(sa.create_engine(sqlite_url))
    app = create_app(load_settings(database_url=sqlite_url, refresh_seconds=3600))
    context: DashboardContext = app.server.config["INVDASH_CONTEXT"]
    statements: list[str] = []
    sa.event.listen(
        context.inventory.engine, "before_cursor_execute", lambda *args: statements.append(args[2])
    )

    snapshots = [context.inventory_snapshot() for _ in range(20)]

    assert {s.fetched_at for s in snapshots} == {snapshots[0].fetched_at}
    # Once: the newest ids (what the next snapshot patches from), stock levels, the window's
    # demand and movements (no roll-up store), lots, warehouses.
    assert len(statements) == 6
    assert context.cache.loads["inventory:snapshot"] == 1
