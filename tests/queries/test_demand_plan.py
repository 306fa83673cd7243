"""The forecast plans the stock where it beats the baseline: the stored plan shared among a SKU's
warehouses feeds the risk, cover, safety stock and reorder point, on the hand-built inventory of
tests/small_inventory.py (SQLite and PostgreSQL); the window's figures stand everywhere else.

Hand-worked from that module's rows plus one order added here: A ordered 6 at WH2 on the 24th,
so A's window demand is 14 at WH1 and 6 at WH2 (shares 0.7 and 0.3 of its 20).
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
import sqlalchemy as sa
from small_inventory import AS_OF, POLICY, add_sales_order, build_small_inventory
from sqlalchemy.orm import Session

from queries.days import day_of
from queries.inventory import (
    FORECAST_BASIS,
    WINDOW_BASIS,
    InventorySource,
    plan_demand,
)
from queries.rollup_store import FORECAST, RollupStore, demand_plan, set_coverage

Z95 = 1.6448536269514722
TODAY = day_of(AS_OF)


def build(engine: sa.Engine) -> RollupStore:
    build_small_inventory(engine)
    with Session(engine) as session:
        add_sales_order(session, "SO10", 2, dt.datetime(2026, 11, 24, 10), "open", [(1, 6, 0)])
        session.commit()
    store = RollupStore(engine)
    store.create()
    return store


def plan(store: RollupStore, as_of_day: int, daily: float, sd: float, sku_id: int = 1) -> None:
    """A forecast run as of ``as_of_day`` that put SKU ``sku_id`` on the model."""
    with store.engine.begin() as conn:
        conn.execute(sa.delete(demand_plan))
        conn.execute(
            demand_plan.insert(),
            [
                {
                    "sku_id": sku_id,
                    "as_of_day": as_of_day,
                    "daily_demand": daily,
                    "sd_daily_demand": sd,
                }
            ],
        )
        set_coverage(conn, FORECAST, AS_OF, first_day=as_of_day, end_day=as_of_day + 1)


def row(positions: pd.DataFrame, sku: str, warehouse: str) -> pd.Series:
    found = positions[(positions["sku_code"] == sku) & (positions["warehouse_code"] == warehouse)]
    assert len(found) == 1
    return found.iloc[0]


def test_the_forecast_is_shared_among_the_warehouses_by_their_window_demand(
    empty_engine: sa.Engine,
) -> None:
    store = build(empty_engine)
    plan(store, TODAY - 1, daily=4.0, sd=2.0)
    positions = InventorySource(empty_engine, POLICY, store).snapshot(AS_OF).positions

    a1, a2 = row(positions, "A", "WH1"), row(positions, "A", "WH2")
    assert (a1["demand_basis"], a2["demand_basis"]) == (FORECAST_BASIS, FORECAST_BASIS)
    # The window's own figures stay what they measure: 14 units over 7 days at WH1.
    assert a1["mean_daily_demand"] == pytest.approx(2.0)
    assert a1["planned_daily_demand"] == pytest.approx(4.0 * 0.7)
    assert a2["planned_daily_demand"] == pytest.approx(4.0 * 0.3)
    assert a1["planned_sd_daily_demand"] == pytest.approx(2.0 * math.sqrt(0.7))
    # Lead time 4 +- 1 days: sigma_LT = sqrt(4 x 2.8 + 2.8**2 x 1) = sqrt(19.04) at WH1.
    assert a1["safety_stock"] == pytest.approx(Z95 * math.sqrt(19.04), rel=1e-9)
    assert a1["reorder_point"] == pytest.approx(4 * 2.8 + Z95 * math.sqrt(19.04), rel=1e-9)
    # Position 10 (0 available, 10 on order) against 11.2 expected over the lead time.
    probability = 1 - 0.5 * (1 + math.erf((10 - 11.2) / math.sqrt(19.04) / math.sqrt(2)))
    assert a1["stockout_probability"] == pytest.approx(probability, rel=1e-6)
    # EOQ = sqrt(2 x (2.8 x 365) x 50 / (10 x 0.25)).
    assert a1["economic_order_quantity"] == pytest.approx(math.sqrt(2 * 2.8 * 365 * 50 / 2.5))
    # A @ WH2 holds nothing: it runs out today, now that the forecast says it sells there.
    assert a2["days_of_cover"] == 0
    assert a2["expected_stockout_date"] == pd.Timestamp(AS_OF, tz="UTC")

    # B has no plan (its forecast did not beat the baseline): the window's figures.
    b2 = row(positions, "B", "WH2")
    assert b2["demand_basis"] == WINDOW_BASIS
    assert b2["planned_daily_demand"] == pytest.approx(1 / 7)
    assert b2["days_of_cover"] == pytest.approx(35.0)


@pytest.mark.parametrize(
    ("as_of_day", "why"),
    [(TODAY - 8, "the forecast's week is over"), (TODAY, "made from today's part day")],
)
def test_a_plan_that_does_not_cover_today_is_not_used(
    empty_engine: sa.Engine, as_of_day: int, why: str
) -> None:
    store = build(empty_engine)
    plan(store, as_of_day, daily=4.0, sd=2.0)
    positions = InventorySource(empty_engine, POLICY, store).snapshot(AS_OF).positions
    assert set(positions["demand_basis"]) == {WINDOW_BASIS}, why
    assert row(positions, "A", "WH1")["planned_daily_demand"] == pytest.approx(2.0)


def test_the_last_day_of_the_forecast_still_plans(empty_engine: sa.Engine) -> None:
    store = build(empty_engine)
    plan(store, TODAY - 7, daily=4.0, sd=2.0)
    positions = InventorySource(empty_engine, POLICY, store).snapshot(AS_OF).positions
    assert row(positions, "A", "WH1")["demand_basis"] == FORECAST_BASIS


def test_a_patched_refresh_keeps_the_plan_and_a_new_forecast_reads_every_row(
    empty_engine: sa.Engine,
) -> None:
    store = build(empty_engine)
    plan(store, TODAY - 1, daily=4.0, sd=2.0)
    source = InventorySource(empty_engine, POLICY, store)
    source.snapshot(AS_OF)
    # A new order of A today: today is not in the window, so the shares stay; the row is read again.
    with Session(empty_engine) as session:
        add_sales_order(session, "SO11", 1, AS_OF + dt.timedelta(minutes=1), "open", [(1, 1, 0)])
        session.commit()
    later = source.snapshot(AS_OF + dt.timedelta(minutes=2)).positions
    assert (source.full_reads, source.patches) == (1, 1)
    assert row(later, "A", "WH1")["demand_basis"] == FORECAST_BASIS
    assert row(later, "A", "WH1")["planned_daily_demand"] == pytest.approx(2.8)

    # The next day's forecast run lands: the snapshot reads every row again, with its plan.
    plan(store, TODAY - 1, daily=10.0, sd=3.0)
    with store.engine.begin() as conn:
        set_coverage(conn, FORECAST, AS_OF, first_day=TODAY - 1, end_day=TODAY + 1)
    renewed = source.snapshot(AS_OF + dt.timedelta(minutes=3)).positions
    assert source.full_reads == 1  # same forecast day in the coverage: still patched
    assert row(renewed, "A", "WH1")["planned_daily_demand"] == pytest.approx(2.8)

    with store.engine.begin() as conn:
        conn.execute(sa.update(demand_plan).values(as_of_day=TODAY - 2))
        set_coverage(conn, FORECAST, AS_OF, first_day=TODAY - 2, end_day=TODAY - 1)
    renewed = source.snapshot(AS_OF + dt.timedelta(minutes=4)).positions
    assert source.full_reads == 2
    assert row(renewed, "A", "WH1")["planned_daily_demand"] == pytest.approx(10.0 * 0.7)


def test_without_a_plan_table_or_a_store_the_window_plans(empty_engine: sa.Engine) -> None:
    store = build(empty_engine)
    with store.engine.begin() as conn:
        set_coverage(conn, FORECAST, AS_OF, first_day=TODAY - 1, end_day=TODAY)
        conn.execute(sa.text("DROP TABLE invdash_demand_plan"))
    for source in (
        InventorySource(empty_engine, POLICY, store),
        InventorySource(empty_engine, POLICY),
    ):
        positions = source.snapshot(AS_OF).positions
        assert set(positions["demand_basis"]) == {WINDOW_BASIS}
        pd.testing.assert_series_equal(
            positions["planned_daily_demand"], positions["mean_daily_demand"], check_names=False
        )


def test_a_plan_without_window_demand_to_share_keeps_the_window() -> None:
    frame = pd.DataFrame(
        {
            "sku_code": ["A", "A", "B"],
            "demand_sum": [0.0, 0.0, 7.0],
            "mean_daily_demand": [0.0, 0.0, 1.0],
            "sd_daily_demand": [0.0, 0.0, 0.5],
            "plan_daily_demand": [3.0, 3.0, 2.0],
            "plan_sd_daily_demand": [1.0, 1.0, 0.4],
        }
    )
    planned = plan_demand(frame)
    assert list(planned["demand_basis"]) == [WINDOW_BASIS, WINDOW_BASIS, FORECAST_BASIS]
    assert list(planned["planned_daily_demand"]) == [0.0, 0.0, 2.0]
    assert list(planned["planned_sd_daily_demand"]) == [0.0, 0.0, 0.4]
