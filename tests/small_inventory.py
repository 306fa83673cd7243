"""A hand-built inventory whose every figure is worked out by hand in tests/queries/test_inventory.py.

as_of is 2026-11-27 12:00 UTC and the demand window is the 7 whole days 2026-11-20 .. 2026-11-26.
Tests of the running app build it as of now (``build_small_inventory(engine, as_of=now)``): the
same inventory with every date moved to end today, since the app's clock is the real one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from dashboard.settings import Settings, load_settings
from queries import schema
from queries.inventory import InventoryPolicy

AS_OF = dt.datetime(2026, 11, 27, 12, 0)
Moment = TypeVar("Moment", dt.date, dt.datetime)
POLICY = InventoryPolicy(
    holding_cost_rate=0.25, service_level=0.95, demand_window_days=7, risk_threshold=0.2
)
WAREHOUSE_1_NAME = "North <b>hub</b>"
SKU_A_NAME = "<script>alert(1)</script> Wrench"


def build_small_inventory(engine: Engine, as_of: dt.datetime = AS_OF) -> None:
    """The inventory as of ``as_of``: every date moved by the whole days from AS_OF's date to
    ``as_of``'s, so that a test of the running app (whose clock says today) sees the same
    window, figures and ages as the hand-worked ones of AS_OF, whatever day it runs on."""
    shift = as_of.date() - AS_OF.date()

    def moved(moment: Moment) -> Moment:
        return moment + shift

    def at(day: int, hour: int = 10) -> dt.datetime:
        return moved(dt.datetime(2026, 11, day, hour, 0))

    schema.Base.metadata.create_all(engine)
    with Session(engine) as session:
        supplier = schema.Supplier(
            id=1,
            code="S1",
            name="Acme",
            lead_time_mean_days=Decimal(4),
            lead_time_sd_days=Decimal(1),
            order_cost=Decimal(50),
        )
        wh1 = schema.Warehouse(
            id=1, code="WH1", name=WAREHOUSE_1_NAME, region="North", capacity_units=Decimal(1000)
        )
        wh2 = schema.Warehouse(
            id=2, code="WH2", name="South", region="South", capacity_units=Decimal(200)
        )
        sku_a = schema.Sku(
            id=1,
            code="A",
            name=SKU_A_NAME,
            category="Tools",
            unit_cost=Decimal(10),
            unit_price=Decimal(15),
            supplier_id=1,
        )
        sku_b = schema.Sku(
            id=2,
            code="B",
            name="Saline",
            category="Pharmacy",
            unit_cost=Decimal(2),
            unit_price=Decimal(5),
            supplier_id=1,
        )
        session.add_all([supplier, wh1, wh2])
        session.flush()
        session.add_all([sku_a, sku_b])
        session.flush()

        movements = [
            # A @ WH1: 20 in before the window, 12 shipped inside it, 2 shipped today.
            (1, 1, moved(dt.datetime(2026, 11, 1, 9)), "receipt", 20, None),
            (1, 1, at(20, 18), "shipment", -3, None),
            (1, 1, at(22, 18), "shipment", -5, None),
            (1, 1, at(26, 18), "shipment", -4, None),
            (1, 1, at(27, 8), "shipment", -2, None),
            # B @ WH1: received in August, never moved since: dead stock.
            (2, 1, moved(dt.datetime(2026, 8, 1, 9)), "receipt", 50, None),
            # B @ WH2: 6 in, one shipped on the 25th.
            (2, 2, moved(dt.datetime(2026, 11, 10, 9)), "receipt", 6, None),
            (2, 2, at(25, 18), "shipment", -1, None),
        ]
        session.add_all(
            schema.StockMovement(
                sku_id=s, warehouse_id=w, moved_at=t, kind=k, quantity=Decimal(q), reason=r
            )
            for s, w, t, k, q, r in movements
        )
        # (sku, warehouse, on_hand, reserved)
        stock_levels = [(1, 1, 6, 6), (2, 1, 50, 0), (1, 2, 0, 0), (2, 2, 5, 0)]
        session.add_all(
            schema.StockLevel(
                sku_id=s, warehouse_id=w, on_hand=Decimal(on_hand), reserved=Decimal(reserved)
            )
            for s, w, on_hand, reserved in stock_levels
        )
        # (sku, warehouse, lot_code, quantity, received_at, expires_on)
        lots = [
            (2, 1, "L1", 30, dt.datetime(2026, 8, 1), dt.date(2026, 12, 10)),
            (2, 1, "L2", 20, dt.datetime(2026, 8, 1), dt.date(2027, 2, 10)),
            (2, 2, "L3", 5, dt.datetime(2026, 11, 10), dt.date(2026, 11, 20)),
            (2, 2, "L4", 0, dt.datetime(2026, 11, 10), dt.date(2026, 11, 30)),
        ]
        session.add_all(
            schema.Lot(
                sku_id=s,
                warehouse_id=w,
                lot_code=code,
                quantity=Decimal(q),
                received_at=moved(received_at),
                expires_on=moved(expires_on),
            )
            for s, w, code, q, received_at, expires_on in lots
        )
        purchase_order_columns = "id number supplier_id warehouse_id ordered_at expected_on status"
        purchase_orders = [
            (1, "PO1", 1, 1, at(25), moved(dt.date(2026, 11, 29)), "open"),
            (2, "PO2", 1, 1, at(1), moved(dt.date(2026, 11, 5)), "received"),
        ]
        # (purchase order, sku, quantity ordered, quantity received)
        purchase_order_lines = [(1, 1, 10, 0), (2, 1, 20, 20)]
        session.add_all(
            [
                *(
                    schema.PurchaseOrder(
                        **dict(zip(purchase_order_columns.split(), row, strict=True))
                    )
                    for row in purchase_orders
                ),
                *(
                    schema.PurchaseOrderLine(
                        purchase_order_id=po,
                        sku_id=s,
                        quantity_ordered=Decimal(ordered),
                        quantity_received=Decimal(received),
                    )
                    for po, s, ordered, received in purchase_order_lines
                ),
            ]
        )
        # (number, warehouse, ordered_at, status, [(sku, quantity, shipped)])
        orders = [
            ("SO1", 1, at(19), "shipped", [(1, 7, 7)]),  # before the window
            ("SO2", 1, at(20), "shipped", [(1, 3, 3)]),
            ("SO3", 1, at(21), "cancelled", [(1, 10, 0)]),  # cancelled: not demand
            ("SO4", 1, at(22, 9), "shipped", [(1, 2, 2)]),
            ("SO5", 1, at(22, 15), "shipped", [(1, 3, 3)]),
            ("SO6", 1, at(26, 9), "shipped", [(1, 4, 4)]),
            ("SO7", 1, at(26, 23), "open", [(1, 2, 0)]),
            ("SO8", 2, at(25), "shipped", [(2, 1, 1)]),
            ("SO9", 1, at(27, 8), "shipped", [(1, 2, 2)]),  # today: after the window
        ]
        for number, warehouse, ordered_at, status, lines in orders:
            add_sales_order(session, number, warehouse, ordered_at, status, lines)
        session.commit()


def add_sales_order(
    session: Session,
    number: str,
    warehouse_id: int,
    ordered_at: dt.datetime,
    status: str,
    lines: Iterable[tuple[int, int, int]],
) -> None:
    """Add a sales order and its ``lines`` of (sku, quantity, shipped), numbered from 1."""
    order = schema.SalesOrder(
        number=number, warehouse_id=warehouse_id, ordered_at=ordered_at, status=status
    )
    session.add(order)
    session.flush()
    session.add_all(
        schema.SalesOrderLine(
            sales_order_id=order.id,
            line_number=i,
            sku_id=sku,
            quantity=Decimal(q),
            quantity_shipped=Decimal(shipped),
        )
        for i, (sku, q, shipped) in enumerate(lines, start=1)
    )


def small_inventory_settings(url: str, **settings: object) -> Settings:
    """Build the inventory as of now at ``url``: the app's settings on it, with POLICY's demand
    window and ``settings``."""
    build_small_inventory(sa.create_engine(url), as_of=dt.datetime.now(dt.UTC))
    return load_settings(database_url=url, demand_window_days=POLICY.demand_window_days, **settings)


def small_inventory_file(directory: Path) -> str:
    """The URL of a new SQLite file in ``directory`` holding the inventory as of now."""
    url = f"sqlite:///{directory / 'inventory.sqlite3'}"
    engine = sa.create_engine(url)
    try:
        build_small_inventory(engine, as_of=dt.datetime.now(dt.UTC))
    finally:
        engine.dispose()
    return url
