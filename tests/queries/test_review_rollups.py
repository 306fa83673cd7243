"""The executive review from the roll-up store: the same daily series as from the live queries,
on SQLite (the store in a file of its own) and PostgreSQL (the store in the same database), for
every review period and for a series length the store does not keep; days behind, changed unit
costs and back-dated movements are read live until the next run, which picks them up."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from inventory_invariants import book_movement

from demo.seed import Scale, seed_database
from queries.daily_review import REVIEW_SERIES_DAYS
from queries.days import day_of
from queries.kpis import ExecutiveKpiSource
from queries.rollup_store import RollupReport, RollupStore, refresh_rollups, review_stockouts
from queries.schema import Sku, StockLevel

NOW = dt.datetime(2026, 11, 27, 12, 0)
TODAY = day_of(NOW)
RATE = 0.25
# The demo's world, smaller: 150 SKUs x 3 warehouses over the 120 days a quarter review reads.
SCALE = Scale(skus=150, warehouses=3, days=120)


@pytest.fixture
def demo(empty_engine: sa.Engine, tmp_path: Path) -> Iterator[tuple[sa.Engine, RollupStore]]:
    """The seeded demo world and a store: on SQLite a file of its own, on PostgreSQL the same
    database (both ways of moving the aggregates)."""
    seed_database(empty_engine, scale=SCALE, now=NOW)
    if empty_engine.dialect.name == "sqlite":
        store_engine = sa.create_engine(f"sqlite:///{tmp_path}/rollups.sqlite3")
    else:
        store_engine = sa.create_engine(empty_engine.url)
    try:
        yield empty_engine, RollupStore(store_engine)
    finally:
        store_engine.dispose()


def series(
    engine: sa.Engine, days: int, store: RollupStore | None, as_of: dt.datetime = NOW
) -> pd.DataFrame:
    return ExecutiveKpiSource(engine, RATE, store).daily_series(as_of, days)


def assert_same(with_store: pd.DataFrame, live: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(with_store, live, check_exact=False, rtol=1e-9, atol=1e-6)


def refresh(engine: sa.Engine, store: RollupStore, now: dt.datetime = NOW) -> RollupReport:
    return refresh_rollups(engine, store, now, recompute_days=14)


def test_the_review_from_rollups_is_the_live_review(demo: tuple[sa.Engine, RollupStore]) -> None:
    engine, store = demo
    report = refresh(engine, store)
    assert report.review_day == TODAY
    with store.engine.connect() as conn:
        kept = conn.execute(sa.select(review_stockouts.c.series_days).distinct()).scalars().all()
    assert sorted(kept) == sorted(REVIEW_SERIES_DAYS)
    for days in (*REVIEW_SERIES_DAYS, 10):  # 10: not kept, its stock-outs are computed live
        live = series(engine, days, None)
        assert live["stockout_rows"].sum() > 0, "the demo must have stock-outs to compare"
        assert live["orders"].sum() > 0
        assert_same(series(engine, days, store), live)


def test_a_store_days_behind_is_completed_live(demo: tuple[sa.Engine, RollupStore]) -> None:
    engine, store = demo
    refresh(engine, store, NOW - dt.timedelta(days=3))
    days = REVIEW_SERIES_DAYS[1]
    assert_same(series(engine, days, store), series(engine, days, None))


def test_a_back_dated_movement_is_stale_until_the_next_run_picks_it_up(
    demo: tuple[sa.Engine, RollupStore],
) -> None:
    engine, store = demo
    refresh(engine, store)
    assert refresh(engine, store, NOW + dt.timedelta(minutes=5)).review_day is None
    # Yesterday, 40 units of a SKU written off, booked now: its stock level goes down with it.
    yesterday = NOW - dt.timedelta(days=1)
    with engine.begin() as conn:
        level = conn.execute(
            sa.select(StockLevel.sku_id, StockLevel.warehouse_id, StockLevel.on_hand)
            .where(StockLevel.on_hand >= 40)
            .order_by(StockLevel.sku_id, StockLevel.warehouse_id)
            .limit(1)
        ).one()
        book_movement(
            conn,
            level.sku_id,
            level.warehouse_id,
            -40,
            yesterday,
            reason="damage",
            reference="BACK-DATED",
        )
    days = REVIEW_SERIES_DAYS[0]
    live = series(engine, days, None)
    # Until the next run the stored days lack it: the days before yesterday come out 40 units
    # lower (today's stock minus the stored movements), which shows the store is what is read.
    stale = series(engine, days, store)
    assert stale["units_on_hand"].iloc[0] == pytest.approx(live["units_on_hand"].iloc[0] - 40)
    again = refresh(engine, store, NOW + dt.timedelta(minutes=10))
    assert again.review_day == TODAY, "a changed past day recomputes the stock-outs"
    assert_same(series(engine, days, store), live)


def test_changed_unit_costs_read_movements_live_until_the_next_run_revalues_every_day(
    demo: tuple[sa.Engine, RollupStore],
) -> None:
    engine, store = demo
    first = refresh(engine, store)
    with engine.begin() as conn:
        conn.execute(sa.update(Sku).where(Sku.id <= 50).values(unit_cost=Sku.unit_cost * 2))
    days = REVIEW_SERIES_DAYS[1]
    live = series(engine, days, None)
    assert_same(series(engine, days, store), live)
    again = refresh(engine, store, NOW + dt.timedelta(minutes=5))
    assert again.totals_from == first.totals_from, "every day valued again at the new costs"
    assert again.review_day is None, "stock-outs count units: the costs do not change them"
    assert_same(series(engine, days, store), live)
    trailing = refresh(engine, store, NOW + dt.timedelta(minutes=10))
    assert trailing.totals_from == TODAY - 14


def test_an_unreadable_store_costs_speed_not_figures(
    demo: tuple[sa.Engine, RollupStore], tmp_path: Path
) -> None:
    engine, _store = demo
    broken = RollupStore(sa.create_engine(f"sqlite:///{tmp_path}/no/such/dir/rollups.sqlite3"))
    days = REVIEW_SERIES_DAYS[0]
    assert_same(series(engine, days, broken), series(engine, days, None))


def test_the_next_day_computes_the_stock_outs_again(demo: tuple[sa.Engine, RollupStore]) -> None:
    engine, store = demo
    refresh(engine, store)
    tomorrow = NOW + dt.timedelta(days=1)
    assert refresh(engine, store, tomorrow).review_day == TODAY + 1
    days = REVIEW_SERIES_DAYS[0]
    assert_same(series(engine, days, store, tomorrow), series(engine, days, None, tomorrow))
