"""The roll-up store: a refresh that reads it shows the same figures as one that reads every
order line, whatever the store covers (fresh, days behind, never filled), on SQLite and
PostgreSQL; back-dated edits are picked up by the next run; the inventory database is only read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from small_inventory import AS_OF, POLICY, build_small_inventory

from demo.seed import seed_database
from queries.database import create_inventory_engine
from queries.inventory import InventoryPolicy, InventorySource
from queries.rollup_store import (
    NO_COVERAGE,
    RollupStore,
    daily_demand,
    minute_orders,
    refresh_rollups,
    uncovered,
    window_sums,
)
from queries.schema import SalesOrder, SalesOrderLine


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RollupStore]:
    """A store of its own: a second SQLite file beside the inventory database."""
    engine = sa.create_engine(f"sqlite:///{tmp_path}/rollups.sqlite3")
    try:
        yield RollupStore(engine)
    finally:
        engine.dispose()


def positions(engine: sa.Engine, as_of: dt.datetime, store: RollupStore | None) -> pd.DataFrame:
    return InventorySource(engine, POLICY, store).stock_positions(as_of)


def assert_same_figures(with_store: pd.DataFrame, live: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(with_store, live, check_exact=False, rtol=1e-12, atol=1e-9)


def refresh(
    engine: sa.Engine, store: RollupStore, now: dt.datetime, policy: InventoryPolicy = POLICY
) -> None:
    refresh_rollups(
        engine,
        store,
        now,
        recompute_days=3,
        window_days=policy.demand_window_days,
        dead_stock_days=policy.dead_stock_days,
    )


def test_positions_from_fresh_rollups_equal_the_live_figures(
    empty_engine: sa.Engine, store: RollupStore
) -> None:
    build_small_inventory(empty_engine)
    live = positions(empty_engine, AS_OF, None)
    refresh(empty_engine, store, AS_OF)
    coverage = store.coverage()
    # Fresh: the window's sums are stored for AS_OF's day, so only today's movements are read live.
    assert coverage.window_day == (AS_OF.date() - dt.date(1970, 1, 1)).days
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(window_sums)).scalar() > 0
    assert_same_figures(positions(empty_engine, AS_OF, store), live)


def test_rollups_days_behind_are_completed_by_live_queries(
    empty_engine: sa.Engine, store: RollupStore
) -> None:
    build_small_inventory(empty_engine)
    # Last run three days before: the daily tables end then, the window sums are for that day.
    refresh(empty_engine, store, AS_OF - dt.timedelta(days=3))
    assert store.coverage().end_day == (AS_OF.date() - dt.date(1970, 1, 1)).days - 3
    assert_same_figures(positions(empty_engine, AS_OF, store), positions(empty_engine, AS_OF, None))


def test_a_store_never_filled_means_live_figures(
    empty_engine: sa.Engine, store: RollupStore
) -> None:
    build_small_inventory(empty_engine)
    assert store.coverage() == NO_COVERAGE
    assert_same_figures(positions(empty_engine, AS_OF, store), positions(empty_engine, AS_OF, None))


def test_window_sums_for_another_policy_are_not_used(
    empty_engine: sa.Engine, store: RollupStore
) -> None:
    build_small_inventory(empty_engine)
    refresh(empty_engine, store, AS_OF)
    longer = InventoryPolicy(demand_window_days=14, dead_stock_days=30)
    with_store = InventorySource(empty_engine, longer, store).stock_positions(AS_OF)
    live = InventorySource(empty_engine, longer).stock_positions(AS_OF)
    assert_same_figures(with_store, live)


def test_a_back_dated_cancellation_is_picked_up_by_the_next_run(
    empty_engine: sa.Engine, store: RollupStore
) -> None:
    build_small_inventory(empty_engine)
    refresh(empty_engine, store, AS_OF)
    with empty_engine.begin() as conn:
        yesterday = conn.execute(
            sa.select(SalesOrder.id)
            .where(SalesOrder.ordered_at >= AS_OF - dt.timedelta(days=2))
            .where(SalesOrder.status != "cancelled")
            .order_by(SalesOrder.ordered_at)
            .limit(1)
        ).scalar_one()
        conn.execute(
            sa.update(SalesOrder).where(SalesOrder.id == yesterday).values(status="cancelled")
        )
    live = positions(empty_engine, AS_OF, None)
    # Until the next run the store still counts the order: the roll-ups are as of their run.
    stale = positions(empty_engine, AS_OF, store)
    assert stale["units_ordered_window"].sum() > live["units_ordered_window"].sum()
    refresh(empty_engine, store, AS_OF + dt.timedelta(minutes=5))
    assert_same_figures(positions(empty_engine, AS_OF, store), live)


def test_runs_recompute_only_the_trailing_days_and_repeat_exactly(
    empty_engine: sa.Engine, store: RollupStore
) -> None:
    build_small_inventory(empty_engine)
    first = refresh_rollups(empty_engine, store, AS_OF, recompute_days=3)
    with store.engine.connect() as conn:
        before = conn.execute(sa.select(daily_demand).order_by(*daily_demand.primary_key)).all()
    again = refresh_rollups(empty_engine, store, AS_OF, recompute_days=3)
    today = (AS_OF.date() - dt.date(1970, 1, 1)).days
    assert again.days == (today - 3, today)
    assert first.days[0] < today - 3  # the first run filled the whole history
    with store.engine.connect() as conn:
        after = conn.execute(sa.select(daily_demand).order_by(*daily_demand.primary_key)).all()
    assert after == before


def test_order_volume_per_minute_is_the_same_from_the_store(
    empty_engine: sa.Engine, store: RollupStore
) -> None:
    build_small_inventory(empty_engine)
    source = InventorySource(empty_engine, POLICY, store)
    live = InventorySource(empty_engine, POLICY)
    start, end = AS_OF - dt.timedelta(days=8), AS_OF + dt.timedelta(hours=1)
    refresh(empty_engine, store, AS_OF - dt.timedelta(hours=30))
    with store.engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.sum(minute_orders.c.order_lines))).scalar()
    assert (stored or 0) > 0
    # The store covers up to 30 h ago; the rest, and unaligned ends, are read live.
    for low, high in [
        (start, end),
        (start + dt.timedelta(seconds=30), end - dt.timedelta(seconds=30)),
        (AS_OF - dt.timedelta(hours=2), AS_OF),
    ]:
        pd.testing.assert_frame_equal(
            source.order_lines_per_minute(low, high), live.order_lines_per_minute(low, high)
        )


def test_the_inventory_database_is_only_read(tmp_path: Path, store: RollupStore) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path}/inventory.sqlite3")
    build_small_inventory(engine)
    tables_before = set(sa.inspect(engine).get_table_names())
    refresh(engine, store, AS_OF)
    assert set(sa.inspect(engine).get_table_names()) == tables_before
    assert "invdash_daily_demand" in sa.inspect(store.engine).get_table_names()
    engine.dispose()


def test_demo_positions_and_order_volume_agree_with_and_without_rollups(tmp_path: Path) -> None:
    """The seeded demo (SQLite; the store in the same file, as for the embedded demo): a run
    a day and a half ago, a run now, each against the live figures."""
    now = dt.datetime(2026, 11, 27, 12, 0)
    engine = sa.create_engine(f"sqlite:///{tmp_path}/demo.sqlite3")
    seed_database(engine, scale="demo", now=now)
    store = RollupStore(engine)
    policy = InventoryPolicy()
    live = InventorySource(engine, policy)
    with_store = InventorySource(engine, policy, store)
    for run_at in (now - dt.timedelta(hours=36), now):
        refresh_rollups(engine, store, run_at, recompute_days=14)
        assert_same_figures(with_store.stock_positions(now), live.stock_positions(now))
        start = now - dt.timedelta(days=2)
        pd.testing.assert_frame_equal(
            with_store.order_lines_per_minute(start, now), live.order_lines_per_minute(start, now)
        )
    engine.dispose()


def test_store_health_says_how_far_it_reaches(empty_engine: sa.Engine, store: RollupStore) -> None:
    assert "empty" in store.check_health(AS_OF).message
    build_small_inventory(empty_engine)
    refresh(empty_engine, store, AS_OF)
    health = store.check_health(AS_OF + dt.timedelta(minutes=3))
    assert health.ok
    assert health.message == "roll-ups computed 3 min ago, up to 2026-11-27 12:00 UTC"


def test_uncovered_parts_of_a_range() -> None:
    assert uncovered(0, 10, None) == [(0, 10)]
    assert uncovered(0, 10, (0, 10)) == []
    assert uncovered(0, 10, (3, 7)) == [(0, 3), (7, 10)]
    assert uncovered(5, 5, None) == []


@pytest.mark.postgres
def test_a_postgresql_schema_of_its_own_holds_the_rollups(postgresql_url: str) -> None:
    """The store as a schema beside the ERP's tables (search_path in the URL's options): the
    inventory tables stay untouched, the figures are the live ones."""
    inventory = create_inventory_engine(postgresql_url)
    build_small_inventory(inventory)
    with inventory.begin() as conn:
        conn.execute(sa.text("CREATE SCHEMA invdash"))
    store = RollupStore(
        create_inventory_engine(f"{postgresql_url}?options=-csearch_path%3Dinvdash")
    )
    refresh(inventory, store, AS_OF)
    assert "invdash_daily_demand" in sa.inspect(inventory).get_table_names(schema="invdash")
    assert "invdash_daily_demand" not in sa.inspect(inventory).get_table_names(schema="public")
    assert_same_figures(positions(inventory, AS_OF, store), positions(inventory, AS_OF, None))
    store.engine.dispose()
    inventory.dispose()


def test_a_store_in_the_inventory_database_replaces_and_reads_minutes_on_their_boundaries(
    database_url: str,
) -> None:
    """In the inventory's own database (SQLite file or PostgreSQL) the aggregates go in by
    INSERT ... SELECT: an order placed exactly at a recomputed day's midnight is replaced, not
    doubled, and read back."""
    url = database_url
    engine = sa.create_engine(url)
    build_small_inventory(engine)
    boundary = dt.datetime.combine(AS_OF.date() - dt.timedelta(days=3), dt.time())
    with engine.begin() as conn:
        (warehouse_id, sku_id) = conn.execute(
            sa.text("SELECT warehouse_id, sku_id FROM stock_levels ORDER BY 1, 2 LIMIT 1")
        ).one()
        order_id = conn.execute(
            sa.insert(SalesOrder)
            .values(
                number="SO-MIDNIGHT", warehouse_id=warehouse_id, ordered_at=boundary, status="open"
            )
            .returning(SalesOrder.id)
        ).scalar_one()
        conn.execute(
            sa.insert(SalesOrderLine).values(
                sales_order_id=order_id,
                line_number=1,
                sku_id=sku_id,
                quantity=4,
                quantity_shipped=0,
            )
        )
    store = RollupStore(sa.create_engine(url))
    for _run in range(2):
        refresh_rollups(engine, store, AS_OF, recompute_days=3)
    source = InventorySource(engine, POLICY, store)
    live = InventorySource(engine, POLICY)
    frame = source.order_lines_per_minute(boundary, boundary + dt.timedelta(minutes=2))
    assert frame["order_lines"].tolist() == [1, 0]
    pd.testing.assert_frame_equal(
        frame, live.order_lines_per_minute(boundary, boundary + dt.timedelta(minutes=2))
    )
    assert_same_figures(source.stock_positions(AS_OF), live.stock_positions(AS_OF))
    store.engine.dispose()
    engine.dispose()


def test_a_store_that_fails_half_way_costs_speed_not_figures(
    empty_engine: sa.Engine, store: RollupStore
) -> None:
    build_small_inventory(empty_engine)
    refresh(empty_engine, store, AS_OF)
    # Its coverage still says the window's sums are there; the table they were in is gone.
    with store.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE invdash_window_sums"))
    assert store.coverage().window_day is not None
    assert_same_figures(positions(empty_engine, AS_OF, store), positions(empty_engine, AS_OF, None))
