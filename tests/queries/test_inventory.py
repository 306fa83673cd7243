"""The inventory queries on the hand-built database of tests/small_inventory.py, on SQLite and PostgreSQL.

Every expected number is worked out by hand in the comments from the rows that module inserts.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from small_inventory import AS_OF, POLICY, SKU_A_NAME, WAREHOUSE_1_NAME, build_small_inventory
from sqlalchemy.orm import Session

from demo.seed import seed_database
from queries.inventory import ORDER_VOLUME_COLUMNS, InventorySnapshot, InventorySource
from queries.rollups import (
    DemandBand,
    ExpiringSoon,
    demand_band,
    expiring_soon,
    filter_rows,
    inventory_kpis,
    orders_in_last_hour,
    summary_by,
    top_stockout_risks,
)
from queries.schema import Lot, Sku, Warehouse
from queries.telemetry import empty_frame

POSITION_COLUMNS = [
    "sku_code", "sku_name", "category", "warehouse_code", "warehouse_name", "unit_cost",
    "unit_price", "on_hand", "reserved", "on_order", "units_shipped_window", "lead_time_days",
    "sd_lead_time_days", "shelf_life_days", "last_outbound_at", "available", "inventory_position",
    "mean_daily_demand", "sd_daily_demand", "units_ordered_window", "demand_basis",
    "planned_daily_demand", "planned_sd_daily_demand", "days_of_cover",
    "expected_stockout_date", "stockout_probability", "at_risk", "safety_stock", "reorder_point",
    "economic_order_quantity", "suggested_order_quantity", "inventory_value",
    "annual_carrying_cost", "daily_carrying_cost", "excess_units", "excess_value",
    "excess_carrying_cost", "dead_stock", "dead_stock_value", "cogs_window", "avg_on_hand_window",
]  # fmt: skip


@pytest.fixture
def snapshot(empty_engine: sa.Engine) -> InventorySnapshot:
    build_small_inventory(empty_engine)
    return InventorySource(empty_engine, POLICY).snapshot(AS_OF)


def row(positions: pd.DataFrame, sku: str, warehouse: str) -> pd.Series:
    found = positions[(positions["sku_code"] == sku) & (positions["warehouse_code"] == warehouse)]
    assert len(found) == 1
    return found.iloc[0]


def test_positions_have_the_documented_columns_one_row_per_stock_level(
    snapshot: InventorySnapshot,
) -> None:
    positions = snapshot.positions
    assert list(positions.columns) == POSITION_COLUMNS
    assert list(zip(positions["sku_code"], positions["warehouse_code"], strict=True)) == [
        ("A", "WH1"), ("A", "WH2"), ("B", "WH1"), ("B", "WH2"),
    ]  # fmt: skip
    assert positions["on_hand"].dtype == "float64"


def test_instants_are_timezone_aware_utc_from_the_source_on(snapshot: InventorySnapshot) -> None:
    # The schema stores naive UTC; what leaves the source says so.
    assert snapshot.as_of == AS_OF.replace(tzinfo=dt.UTC)
    assert snapshot.fetched_at.tzinfo == dt.UTC
    for column in ("expected_stockout_date", "last_outbound_at"):
        dtype = snapshot.positions[column].dtype
        assert isinstance(dtype, pd.DatetimeTZDtype), column
        assert str(dtype.tz) == "UTC", column
    # Expiry is a calendar date (midnight), not an instant.
    expires = snapshot.lots["expires_on"]
    assert pd.api.types.is_datetime64_dtype(expires)
    assert not isinstance(expires.dtype, pd.DatetimeTZDtype)


def test_daily_demand_counts_days_without_orders_as_zero_and_ignores_cancelled_and_out_of_window(
    snapshot: InventorySnapshot,
) -> None:
    a = row(snapshot.positions, "A", "WH1")
    # Window 20..26 Nov: 3 on the 20th, 2+3 on the 22nd, 4+2 on the 26th, zero on four days.
    # The cancelled 10 (21st), the 7 before the window and today's 2 are not counted.
    assert a["units_ordered_window"] == 14
    assert a["mean_daily_demand"] == pytest.approx(2.0)
    # Sample variance of [3, 0, 5, 0, 0, 0, 6]: (70 - 7 * 2**2) / 6 = 7.
    assert a["sd_daily_demand"] == pytest.approx(math.sqrt(7))
    assert a["units_shipped_window"] == 12


def test_position_of_a_sku_about_to_run_out(snapshot: InventorySnapshot) -> None:
    a = row(snapshot.positions, "A", "WH1")
    assert (a["on_hand"], a["reserved"], a["available"], a["on_order"]) == (6, 6, 0, 10)
    assert a["inventory_position"] == 10
    # sigma_LT = sqrt(4 * 7 + 2**2 * 1**2) = sqrt(32); P = 1 - Phi((10 - 8) / sqrt(32)).
    assert a["stockout_probability"] == pytest.approx(0.361837, abs=1e-6)
    assert bool(a["at_risk"])
    assert a["safety_stock"] == pytest.approx(1.6448536 * math.sqrt(32), rel=1e-6)
    assert a["reorder_point"] == pytest.approx(8 + 1.6448536 * math.sqrt(32), rel=1e-6)
    # EOQ = sqrt(2 * (2 * 365) * 50 / (10 * 0.25)) = sqrt(29200).
    assert a["economic_order_quantity"] == pytest.approx(math.sqrt(29200))
    # Order up to ROP + EOQ from a position of 10: ceil(17.3047 + 170.8801 - 10) = 179.
    assert a["suggested_order_quantity"] == 179
    assert a["days_of_cover"] == 0
    # Instants are timezone-aware UTC from the source on.
    assert a["expected_stockout_date"] == pd.Timestamp(AS_OF, tz="UTC")


def test_money_figures_use_unit_cost_and_holding_rate(snapshot: InventorySnapshot) -> None:
    a = row(snapshot.positions, "A", "WH1")
    assert a["inventory_value"] == 60
    assert a["annual_carrying_cost"] == pytest.approx(15.0)
    assert a["daily_carrying_cost"] == pytest.approx(15.0 / 365)
    # Shipped inside the window: 3 + 5 + 4 units at 10.
    assert a["cogs_window"] == 120
    # End-of-day on hand 20..26 Nov: 17, 17, 12, 12, 12, 12, 8 -> 90 / 7.
    assert a["avg_on_hand_window"] == pytest.approx(90 / 7)


def test_a_perishable_orders_no_more_than_sells_within_its_shelf_life(
    snapshot: InventorySnapshot,
) -> None:
    # B's lots: L1 131 days from receipt to expiry, L2 193, L3 10 (10 to 20 Nov), L4 20.
    b = row(snapshot.positions, "B", "WH2")
    assert b["shelf_life_days"] == 10
    # One unit in the 7-day window: 1/7 a day, of which 10 days' worth is 10/7 units, far
    # below the uncapped EOQ.
    assert b["mean_daily_demand"] == pytest.approx(1 / 7)
    uncapped = math.sqrt(2 * (365 / 7) * 50 / (b["unit_cost"] * 0.25))
    assert uncapped > 10
    assert b["economic_order_quantity"] == pytest.approx(10 / 7)
    # A has no lots: not a perishable, its EOQ is Harris's (test above).
    assert pd.isna(row(snapshot.positions, "A", "WH1")["shelf_life_days"])


def test_unmoved_stock_is_dead_and_excess(snapshot: InventorySnapshot) -> None:
    b = row(snapshot.positions, "B", "WH1")
    assert bool(b["dead_stock"])
    assert pd.isna(b["last_outbound_at"])
    assert b["dead_stock_value"] == 100
    assert (b["excess_units"], b["excess_value"], b["excess_carrying_cost"]) == (50, 100, 25)
    assert b["days_of_cover"] == math.inf
    assert pd.isna(b["expected_stockout_date"])
    assert b["stockout_probability"] == 0


def test_slow_mover_cover_and_stockout_date(snapshot: InventorySnapshot) -> None:
    b = row(snapshot.positions, "B", "WH2")
    assert b["mean_daily_demand"] == pytest.approx(1 / 7)
    assert b["sd_daily_demand"] == pytest.approx(math.sqrt(1 / 7))
    assert b["days_of_cover"] == pytest.approx(35.0)
    assert b["expected_stockout_date"] == pd.Timestamp(AS_OF, tz="UTC") + pd.Timedelta(days=35)
    assert b["last_outbound_at"] == pd.Timestamp(2026, 11, 25, 18, tz="UTC")
    assert not bool(b["dead_stock"])
    # End-of-day on hand: 6 on five days, 5 on two.
    assert b["avg_on_hand_window"] == pytest.approx(40 / 7)


def test_empty_stock_without_demand_is_not_a_risk(snapshot: InventorySnapshot) -> None:
    a2 = row(snapshot.positions, "A", "WH2")
    assert a2["stockout_probability"] == 0
    assert a2["suggested_order_quantity"] == 0
    assert pd.isna(a2["expected_stockout_date"])


def test_expiring_lots_include_expired_and_skip_empty_lots(snapshot: InventorySnapshot) -> None:
    lots = snapshot.lots
    assert list(lots["lot_code"]) == ["L3", "L1", "L2"]
    assert list(lots["days_to_expiry"]) == [-7, 13, 75]
    assert list(lots["value"]) == [10, 60, 40]


# Codes that a linguistic collation orders otherwise ("a" before "C", "é" beside "e").
SAME_DAY_CODES = ["b", "C", "é", "e", "Éa", "Z", "a"]


def add_lots_expiring_the_same_day(engine: sa.Engine) -> list[str]:
    """SKUs with SAME_DAY_CODES, each with one lot "X" expiring in 3 days: the codes of those
    lots as ``expiring_lots`` lists them."""
    with Session(engine) as session:
        for number, code in enumerate(SAME_DAY_CODES, start=10):
            session.add(
                Sku(id=number, code=code, name=f"SKU {code}", category="Tools",
                    unit_cost=Decimal(1), unit_price=Decimal(2), supplier_id=1)
            )  # fmt: skip
        session.flush()
        for number in range(10, 10 + len(SAME_DAY_CODES)):
            session.add(
                Lot(sku_id=number, warehouse_id=1, lot_code="X", quantity=Decimal(1),
                    received_at=AS_OF - dt.timedelta(days=5),
                    expires_on=AS_OF.date() + dt.timedelta(days=3))
            )  # fmt: skip
        session.commit()
    lots = InventorySource(engine, POLICY).expiring_lots(AS_OF)
    return list(lots.loc[lots["lot_code"] == "X", "sku_code"])


def test_lots_expiring_the_same_day_sort_by_code_point(empty_engine: sa.Engine) -> None:
    build_small_inventory(empty_engine)
    assert add_lots_expiring_the_same_day(empty_engine) == sorted(SAME_DAY_CODES)
    assert sorted(SAME_DAY_CODES) == ["C", "Z", "a", "b", "e", "Éa", "é"]


@pytest.mark.postgres
def test_lots_sort_by_code_point_under_a_linguistic_column_collation(postgresql_url: str) -> None:
    engine = sa.create_engine(postgresql_url)
    try:
        build_small_inventory(engine)
        with engine.begin() as conn:
            conn.execute(
                sa.text('ALTER TABLE skus ALTER COLUMN code TYPE varchar(64) COLLATE "und-x-icu"')
            )
        assert add_lots_expiring_the_same_day(engine) == sorted(SAME_DAY_CODES)
        with engine.connect() as conn:
            # The column's own order is the linguistic one (else this test proves nothing).
            linguistic = conn.execute(sa.text("SELECT code FROM skus ORDER BY code")).scalars()
            assert list(linguistic)[:3] == ["a", "A", "b"]
    finally:
        engine.dispose()


def test_expiring_soon_counts_lots_within_the_horizon_inclusive_and_never_expired_ones(
    snapshot: InventorySnapshot,
) -> None:
    # L3 expired 7 days ago (10), L1 expires in 13 days (60), L2 in 75 (40).
    assert expiring_soon(snapshot.lots, 30) == ExpiringSoon(1, 60.0)
    assert expiring_soon(snapshot.lots, 13) == ExpiringSoon(1, 60.0)
    assert expiring_soon(snapshot.lots, 12) == ExpiringSoon(0, 0.0)
    assert expiring_soon(snapshot.lots, 90) == ExpiringSoon(2, 100.0)


def test_orders_in_the_last_hour_are_the_newest_60_minutes_of_the_volume() -> None:
    minutes = pd.date_range("2026-11-27 10:00", periods=90, freq="min", tz="UTC")
    volume = pd.DataFrame(
        {"timestamp": minutes, "order_lines": 0, "units": 0.0, "orders": range(90)}
    )
    # Minutes 30..89 of the range: 30 + 31 + ... + 89.
    assert orders_in_last_hour(volume) == sum(range(30, 90))
    assert orders_in_last_hour(volume.iloc[:0]) == 0


def test_the_demand_band_is_the_plotted_series_own_mean_and_deviation() -> None:
    days = pd.date_range("2026-11-20", periods=7, freq="D")
    # 3, 0, 5, 0, 0, 0, 6: mean 2; squared deviations 1 + 4 + 9 + 4 + 4 + 4 + 16 = 42, / 6 = 7.
    band = demand_band(pd.DataFrame({"day": days, "units": [3.0, 0, 5, 0, 0, 0, 6]}))
    assert band.mean == 2.0
    assert math.isclose(band.sd, math.sqrt(7), rel_tol=1e-12)
    # Two warehouses selling alike, 1 then 3 units each: each one's sd is sqrt(2), and the root
    # of their summed variances 2; the plotted series (2, then 6) deviates by sqrt(8).
    together = demand_band(pd.DataFrame({"day": days[:2], "units": [2.0, 6.0]}))
    assert math.isclose(together.sd, math.sqrt(8), rel_tol=1e-12)
    assert demand_band(pd.DataFrame({"day": days[:1], "units": [4.0]})) == DemandBand(4.0, 0.0)
    assert demand_band(pd.DataFrame({"day": days[:0], "units": []})) == DemandBand(0.0, 0.0)


def test_the_sku_detail_band_comes_from_the_demand_history_it_plots(
    empty_engine: sa.Engine,
) -> None:
    build_small_inventory(empty_engine)
    history = InventorySource(empty_engine, POLICY).sku_demand_history("A", AS_OF)
    # A over the window 20..26 Nov: 3, 0, 2 + 3, 0, 0, 0, 4 + 2 (see the daily demand test).
    assert history["units"].tolist() == [3.0, 0, 5, 0, 0, 0, 6]
    band = demand_band(history)
    assert band.mean == 2.0
    assert math.isclose(band.sd, math.sqrt(7), rel_tol=1e-12)


def test_summary_by_warehouse(snapshot: InventorySnapshot) -> None:
    summary = summary_by(snapshot.positions, snapshot.lots, "warehouse", 7, snapshot.warehouses)
    wh1, wh2 = (summary.set_index("key").loc[code] for code in ("WH1", "WH2"))
    assert list(summary["key"]) == ["WH1", "WH2"]
    assert wh1["label"] == WAREHOUSE_1_NAME
    assert (wh1["inventory_value"], wh1["annual_carrying_cost"]) == (160, 40)
    assert wh1["utilisation"] == pytest.approx(56 / 1000)
    assert wh2["utilisation"] == pytest.approx(5 / 200)
    # WH1: 12 of 14 units ordered in the window were shipped.
    assert wh1["fill_rate"] == pytest.approx(12 / 14)
    # WH1 turnover: COGS 120 * 365 / 7 over mean value 90/7 * 10 + 50 * 2.
    assert wh1["turnover"] == pytest.approx((120 * 365 / 7) / (900 / 7 + 100))
    assert (wh1["expiring_30_units"], wh1["expiring_30_value"]) == (30, 60)
    assert (wh1["expiring_60_units"], wh1["expiring_90_units"], wh1["expiring_90_value"]) == (
        30,
        50,
        100,
    )
    assert (wh2["expired_value"], wh2["expiring_90_value"]) == (10, 0)
    assert wh1["dead_stock_value"] == 100
    assert wh1["skus_at_risk"] == 1


def test_summary_by_category(snapshot: InventorySnapshot) -> None:
    summary = summary_by(snapshot.positions, snapshot.lots, "category", 7).set_index("key")
    assert summary.loc["Pharmacy", "inventory_value"] == 110
    assert summary.loc["Tools", "excess_value"] == 0
    # B @ WH1: 50 dead units at 2, a quarter a year: 25. B @ WH2: its 5 units above ROP plus
    # its shelf-life-capped EOQ of 10/7 (perishable stock beyond what sells before expiry).
    b2 = row(snapshot.positions, "B", "WH2")
    over = 5 - (b2["reorder_point"] + 10 / 7)
    assert over > 0
    assert summary.loc["Pharmacy", "excess_carrying_cost"] == pytest.approx(25 + over * 2 * 0.25)
    # Pharmacy: 2 of cost shipped, mean value (50 + 40/7) * 2.
    assert summary.loc["Pharmacy", "turnover"] == pytest.approx((2 * 365 / 7) / ((50 + 40 / 7) * 2))


def test_kpis_and_filters(snapshot: InventorySnapshot) -> None:
    kpis = inventory_kpis(snapshot.positions)
    assert kpis.inventory_value == 170
    assert kpis.annual_carrying_cost == pytest.approx(42.5)
    assert (kpis.skus_at_risk, kpis.sku_count) == (1, 2)
    assert kpis.fill_rate == pytest.approx(13 / 15)
    only_wh2 = inventory_kpis(filter_rows(snapshot.positions, warehouse="WH2"))
    assert (only_wh2.inventory_value, only_wh2.skus_at_risk) == (10, 0)
    tools = filter_rows(snapshot.positions, category="Tools")
    assert set(tools["sku_code"]) == {"A"}


def test_top_risks_list_skus_with_demand_most_likely_to_run_out_first(
    snapshot: InventorySnapshot,
) -> None:
    top = top_stockout_risks(snapshot.positions)
    assert list(zip(top["sku_code"], top["warehouse_code"], strict=True)) == [
        ("A", "WH1"),
        ("B", "WH2"),
    ]
    assert top.iloc[0]["sku_name"] == SKU_A_NAME


def test_as_of_with_timezone_is_read_as_utc(empty_engine: sa.Engine) -> None:
    build_small_inventory(empty_engine)
    source = InventorySource(empty_engine, POLICY)
    eastern = dt.timezone(dt.timedelta(hours=-5))
    aware = source.stock_positions(AS_OF.replace(tzinfo=dt.UTC).astimezone(eastern))
    pd.testing.assert_frame_equal(aware, source.stock_positions(AS_OF))


def test_health_names_missing_tables_and_unreachable_databases(
    empty_engine: sa.Engine, tmp_path
) -> None:
    source = InventorySource(empty_engine, POLICY)
    assert source.check_health().status == "error"
    assert "lacks" in source.check_health().message
    build_small_inventory(empty_engine)
    assert source.check_health().ok
    broken = InventorySource(sa.create_engine(f"sqlite:///{tmp_path}/missing/dir/x.sqlite3"))
    health = broken.check_health()
    assert health.status == "error"
    assert health.message.startswith("inventory database unreachable: OperationalError")


def test_order_lines_per_minute_fills_quiet_minutes_with_zero(empty_engine: sa.Engine) -> None:
    build_small_inventory(empty_engine)
    source = InventorySource(empty_engine, POLICY)
    start = dt.datetime(2026, 11, 22, 8, 58, tzinfo=dt.UTC)
    frame = source.order_lines_per_minute(start, start + dt.timedelta(minutes=5))
    assert list(frame.columns) == ORDER_VOLUME_COLUMNS
    # A panel whose fetch failed draws from an empty frame of the same contract.
    pd.testing.assert_series_equal(empty_frame(ORDER_VOLUME_COLUMNS).dtypes, frame.dtypes)
    assert list(frame["timestamp"]) == list(pd.date_range(start, periods=5, freq="min"))
    # SO4 (2 units) was placed at 09:00 that day; nothing else in those minutes.
    assert list(frame["order_lines"]) == [0, 0, 1, 0, 0]
    assert list(frame["units"]) == [0, 0, 2, 0, 0]
    day = source.order_lines_per_minute(dt.datetime(2026, 11, 19), dt.datetime(2026, 11, 28))
    assert day["order_lines"].sum() == 9  # every line of the nine orders, cancelled included
    assert day["orders"].sum() == 9


def test_orders_per_minute_count_orders_not_their_lines(sqlite_url: str) -> None:
    engine = sa.create_engine(sqlite_url)
    seed_database(engine, scale="demo", seed=3)
    with engine.connect() as conn:
        last = conn.exec_driver_sql("SELECT MAX(ordered_at) FROM sales_orders").scalar()
        end = pd.Timestamp(last).floor("min").to_pydatetime() + dt.timedelta(minutes=1)
        start = end - dt.timedelta(days=1)
        orders, lines = conn.exec_driver_sql(
            "SELECT COUNT(DISTINCT o.id), COUNT(l.id) FROM sales_orders o "
            "JOIN sales_order_lines l ON l.sales_order_id = o.id "
            "WHERE o.ordered_at >= ? AND o.ordered_at < ?",
            (start, end),
        ).one()
    frame = InventorySource(engine, POLICY).order_lines_per_minute(start, end)
    assert orders < lines  # demo orders have several lines: the two counts differ
    assert int(frame["orders"].sum()) == orders
    assert int(frame["order_lines"].sum()) == lines


def test_sku_demand_history_lists_every_window_day(empty_engine: sa.Engine) -> None:
    build_small_inventory(empty_engine)
    history = InventorySource(empty_engine, POLICY).sku_demand_history("A", AS_OF)
    assert list(history["day"]) == list(pd.date_range("2026-11-20", "2026-11-26"))
    # The same daily sums as the position's mean and deviation: 3, 0, 5, 0, 0, 0, 6.
    assert list(history["units"]) == [3, 0, 5, 0, 0, 0, 6]


def test_open_purchase_orders_show_open_units_and_lateness(empty_engine: sa.Engine) -> None:
    build_small_inventory(empty_engine)
    source = InventorySource(empty_engine, POLICY)
    orders = source.open_purchase_orders("A", AS_OF)
    assert list(orders["number"]) == ["PO1"]
    assert orders.iloc[0]["open_units"] == 10
    assert orders.iloc[0]["days_late"] == 0  # expected on the 29th
    assert str(orders["ordered_at"].dt.tz) == "UTC"  # an instant, aware from the source on
    late = source.open_purchase_orders("A", dt.datetime(2026, 12, 2, 9))
    assert late.iloc[0]["days_late"] == 3
    assert source.open_purchase_orders("B", AS_OF).empty


@pytest.mark.postgres
def test_a_warehouse_added_between_a_snapshots_statements_names_its_lots(
    postgresql_url: str,
) -> None:
    # A snapshot reads the warehouses, then the lots: on PostgreSQL (read committed) a
    # warehouse and a lot committed in between by another connection are named from a second
    # read. (SQLite's open read holds the writer off.)
    empty_engine = sa.create_engine(postgresql_url)
    build_small_inventory(empty_engine)
    added = []

    def add_once(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if added or "FROM warehouses ORDER BY" not in statement:
            return
        added.append(True)
        with empty_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as other:
            other.execute(
                sa.insert(Warehouse).values(
                    id=3, code="WH3", name="East", region="East", capacity_units=100
                )
            )
            other.execute(
                sa.insert(Lot).values(
                    sku_id=2,
                    warehouse_id=3,
                    lot_code="L9",
                    quantity=4,
                    received_at=AS_OF - dt.timedelta(days=1),
                    expires_on=AS_OF.date() + dt.timedelta(days=5),
                )
            )

    sa.event.listen(empty_engine, "after_cursor_execute", add_once)
    try:
        lots = InventorySource(empty_engine, POLICY).snapshot(AS_OF).lots
    finally:
        sa.event.remove(empty_engine, "after_cursor_execute", add_once)
    empty_engine.dispose()
    assert added
    new = lots[lots["lot_code"] == "L9"]
    assert new[["warehouse_code", "warehouse_name"]].values.tolist() == [["WH3", "East"]]
