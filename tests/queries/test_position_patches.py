"""A snapshot patches the last one's positions from the SKUs that changed since (new movements,
sales and purchase order lines) and gives the figures a whole read gives, on SQLite and
PostgreSQL, with and without the roll-up store; it reads whole again when the day, the roll-ups
or the set of stock levels change, when too many SKUs changed, and after ``full_read_seconds``
(the bound on changes no new id marks)."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from inventory_invariants import book_movement

from demo.orders import continue_orders
from demo.seed import Scale, seed_database
from queries import inventory
from queries.inventory import LOT_ORDER, InventoryPolicy, InventorySource, lot_sort_keys
from queries.rollup_store import RollupStore, refresh_rollups
from queries.schema import Lot, SalesOrder, Sku, StockLevel, StockMovement, Warehouse

NOW = dt.datetime(2026, 11, 27, 12, 0)
SCALE = Scale(skus=150, warehouses=3, days=120)
POLICY = InventoryPolicy()


def whole(engine: sa.Engine, as_of: dt.datetime, store: RollupStore | None) -> pd.DataFrame:
    return InventorySource(engine, POLICY, store).stock_positions(as_of)


def assert_same(patched: pd.DataFrame, read: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(patched, read, check_exact=False, rtol=1e-12, atol=1e-9)


@pytest.fixture
def demo(empty_engine: sa.Engine) -> sa.Engine:
    seed_database(empty_engine, scale=SCALE, now=NOW)
    return empty_engine


@pytest.mark.parametrize("with_store", [False, True], ids=["live", "roll-ups"])
def test_patched_positions_are_the_positions_read_whole(
    demo: sa.Engine, tmp_path: Path, with_store: bool
) -> None:
    store = None
    if with_store:
        store = RollupStore(sa.create_engine(f"sqlite:///{tmp_path}/rollups.sqlite3"))
        refresh_rollups(demo, store, NOW)
    source = InventorySource(demo, POLICY, store)
    first = source.snapshot(NOW)
    assert_same(first.positions, whole(demo, NOW, store))
    assert not first.lots.empty, "the demo must have lots expiring to patch"
    moment = NOW
    for minutes in (7, 13, 29, 41):
        # The demo's own traffic: orders placed, picked and shipped (from lots first to
        # expire), lots written off.
        moment = NOW + dt.timedelta(minutes=minutes)
        continue_orders(demo, moment)
        snapshot = source.snapshot(moment)
        assert_same(snapshot.positions, whole(demo, moment, store))
        assert_same(snapshot.lots, InventorySource(demo, POLICY).expiring_lots(moment))
    assert (source.full_reads, source.patches) == (1, 4)
    # Nothing changed: the same figures, as of the later moment.
    later = moment + dt.timedelta(minutes=1)
    assert_same(source.snapshot(later).positions, whole(demo, later, store))
    assert source.patches == 5


def test_a_receipt_of_a_lot_is_patched_in(demo: sa.Engine) -> None:
    source = InventorySource(demo, POLICY)
    before = source.snapshot(NOW)
    with demo.begin() as conn:
        # The least stocked series of a SKU kept in lots (one with a lot on the books).
        level = conn.execute(
            sa.select(StockLevel.sku_id, StockLevel.warehouse_id)
            .where(StockLevel.sku_id.in_(sa.select(Lot.sku_id)))
            .order_by(StockLevel.on_hand, StockLevel.sku_id)
            .limit(1)
        ).one()
        conn.execute(
            sa.insert(Lot).values(
                sku_id=level.sku_id,
                warehouse_id=level.warehouse_id,
                lot_code="LOT-LATE",
                quantity=Decimal(500),
                received_at=NOW + dt.timedelta(minutes=1),
                expires_on=NOW.date() + dt.timedelta(days=20),
            )
        )
        book_movement(
            conn,
            level.sku_id,
            level.warehouse_id,
            500,
            NOW + dt.timedelta(minutes=1),
            kind="receipt",
            reference="PO-LATE",
        )
    moment = NOW + dt.timedelta(minutes=2)
    patched = source.snapshot(moment)
    assert source.patches == 1
    assert_same(patched.positions, whole(demo, moment, None))
    assert "LOT-LATE" in set(patched.lots["lot_code"])
    assert len(patched.lots) == len(before.lots) + 1
    assert_same(patched.lots, InventorySource(demo, POLICY).expiring_lots(moment))


def test_a_new_stock_level_means_a_whole_read(demo: sa.Engine) -> None:
    source = InventorySource(demo, POLICY)
    source.snapshot(NOW)
    # A warehouse opens, and its first receipt books a stock level of a SKU there.
    with demo.begin() as conn:
        pairs = conn.execute(sa.select(sa.func.count()).select_from(StockLevel)).scalar_one()
        sku = conn.execute(sa.select(sa.func.min(Sku.id))).scalar_one()
        warehouse = conn.execute(
            sa.insert(Warehouse)
            .values(code="WH-NEW", name="New hub", region="North", capacity_units=Decimal(1000))
            .returning(Warehouse.id)
        ).scalar_one()
        conn.execute(
            sa.insert(StockLevel).values(
                sku_id=sku, warehouse_id=warehouse, on_hand=Decimal(30), reserved=Decimal(0)
            )
        )
        conn.execute(
            sa.insert(StockMovement).values(
                sku_id=sku,
                warehouse_id=warehouse,
                kind="receipt",
                quantity=Decimal(30),
                moved_at=NOW + dt.timedelta(minutes=1),
                reference="FIRST",
            )
        )
    moment = NOW + dt.timedelta(minutes=2)
    read = source.snapshot(moment).positions
    assert (source.full_reads, source.patches) == (2, 0)
    assert len(read) == pairs + 1
    assert_same(read, whole(demo, moment, None))


def test_changes_no_id_marks_show_after_full_read_seconds(demo: sa.Engine) -> None:
    source = InventorySource(demo, POLICY, full_read_seconds=1.0)
    source.snapshot(NOW)
    # An open order cancelled: its reservation released, and no new row says so.
    with demo.begin() as conn:
        conn.execute(sa.update(StockLevel).values(reserved=Decimal(0)))
        conn.execute(
            sa.update(SalesOrder).where(SalesOrder.status == "open").values(status="cancelled")
        )
    moment = NOW + dt.timedelta(minutes=1)
    stale = source.snapshot(moment).positions
    assert source.patches == 1
    assert stale["reserved"].sum() > 0, "the demo must hold reservations to release"
    time.sleep(1.1)
    assert_same(source.snapshot(moment).positions, whole(demo, moment, None))
    assert source.full_reads == 2


def test_a_new_day_new_rollups_or_too_many_changes_read_whole(
    demo: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RollupStore(sa.create_engine(f"sqlite:///{tmp_path}/rollups.sqlite3"))
    refresh_rollups(demo, store, NOW)
    source = InventorySource(demo, POLICY, store)
    source.snapshot(NOW)
    tomorrow = NOW + dt.timedelta(days=1)
    assert_same(source.snapshot(tomorrow).positions, whole(demo, tomorrow, store))
    refresh_rollups(demo, store, tomorrow + dt.timedelta(minutes=5))
    moment = tomorrow + dt.timedelta(minutes=6)
    assert_same(source.snapshot(moment).positions, whole(demo, moment, store))
    assert (source.full_reads, source.patches) == (3, 0)
    monkeypatch.setattr(inventory, "MAX_PATCHED_SKUS", 0)
    continue_orders(demo, moment + dt.timedelta(minutes=20))
    later = moment + dt.timedelta(minutes=21)
    assert_same(source.snapshot(later).positions, whole(demo, later, store))
    assert (source.full_reads, source.patches) == (4, 0)


def test_a_movement_dated_ahead_counts_once_its_time_has_come(demo: sa.Engine) -> None:
    """Booked before the first snapshot, dated after it (a clock ahead, a shipment entered in
    advance): no new id marks it when its time comes, but its date does."""
    ahead = NOW + dt.timedelta(minutes=30)
    with demo.begin() as conn:
        level = conn.execute(
            sa.select(StockLevel.sku_id, StockLevel.warehouse_id)
            .where(StockLevel.on_hand >= 5)
            .order_by(StockLevel.sku_id, StockLevel.warehouse_id)
            .limit(1)
        ).one()
        book_movement(conn, level.sku_id, level.warehouse_id, -1, ahead, kind="shipment")
    source = InventorySource(demo, POLICY)
    source.snapshot(NOW)
    moment = ahead + dt.timedelta(minutes=1)
    patched = source.snapshot(moment).positions
    assert source.patches == 1
    read = whole(demo, moment, None)
    assert pd.Timestamp(ahead, tz="UTC") in set(read["last_outbound_at"])
    assert_same(patched, read)


def test_lot_sort_keys_order_rows_as_the_lot_order_does() -> None:
    # Prefixes, case, accents and days on either side of 1970: text order of the keys is the
    # order of (expires_on, sku_code, warehouse_code, lot_code) compared field by field.
    rows = [
        ("2026-12-10", "A", "WH1", "L2"), ("2026-12-10", "A", "WH1", "L10"),
        ("2026-12-10", "AB", "WH1", "L1"), ("2026-12-10", "A-", "WH1", "L1"),
        ("2026-12-09", "Z", "WH9", "L1"), ("1969-07-20", "é", "WH1", "L1"),
        ("2026-12-10", "a", "WH1", "L1"), ("2026-12-10", "A", "WH10", "L1"),
        ("2026-12-10", "A", "WH1", ""), ("2126-01-01", "A", "WH1", "L1"),
    ]  # fmt: skip
    lots = pd.DataFrame(rows, columns=LOT_ORDER).assign(
        expires_on=lambda frame: pd.to_datetime(frame["expires_on"]).astype("datetime64[ns]")
    )
    by_key = np.argsort(lot_sort_keys(lots), kind="stable")
    by_fields = sorted(range(len(rows)), key=lambda i: (rows[i][0], *rows[i][1:]))
    assert list(by_key) == by_fields
