"""The inventory schema invdash reads: table and column names are the contract (docs/schema.md).

Times are naive UTC. Quantities and money are NUMERIC on every backend. Stock levels are a
materialised sum of the append-only ``stock_movements`` (positive into a warehouse, negative out).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

MONEY = Numeric(14, 4)
QUANTITY = Numeric(14, 3)
DAYS = Numeric(8, 3)

MOVEMENT_KINDS = ("receipt", "shipment", "transfer", "adjustment")
ADJUSTMENT_REASONS = ("cycle_count", "shrinkage", "damage", "expiry")
SALES_ORDER_STATUSES = ("open", "partially_shipped", "shipped", "cancelled")
PURCHASE_ORDER_STATUSES = ("open", "received", "cancelled")


class Base(DeclarativeBase):
    pass


class Supplier(Base):
    __tablename__ = "suppliers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    lead_time_mean_days: Mapped[Decimal] = mapped_column(DAYS)
    lead_time_sd_days: Mapped[Decimal] = mapped_column(DAYS)
    order_cost: Mapped[Decimal] = mapped_column(MONEY)


class Sku(Base):
    __tablename__ = "skus"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(100), index=True)
    unit_cost: Mapped[Decimal] = mapped_column(MONEY)
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))


class Warehouse(Base):
    __tablename__ = "warehouses"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(100))
    capacity_units: Mapped[Decimal] = mapped_column(QUANTITY)


class StockLevel(Base):
    __tablename__ = "stock_levels"

    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"), primary_key=True)
    on_hand: Mapped[Decimal] = mapped_column(QUANTITY)
    reserved: Mapped[Decimal] = mapped_column(QUANTITY)


class Lot(Base):
    __tablename__ = "lots"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    lot_code: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_on: Mapped[dt.date] = mapped_column(Date, index=True)


class StockMovement(Base):
    __tablename__ = "stock_movements"
    __table_args__ = (
        Index("ix_stock_movements_sku_wh_time", "sku_id", "warehouse_id", "moved_at"),
        CheckConstraint(
            "kind IN ('receipt', 'shipment', 'transfer', 'adjustment')", name="ck_movement_kind"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    moved_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    reason: Mapped[str | None] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(64))


class PurchaseOrder(Base):
    __tablename__ = "purchase_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    ordered_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expected_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), index=True)


class PurchaseOrderLine(Base):
    __tablename__ = "purchase_order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"), index=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    quantity_ordered: Mapped[Decimal] = mapped_column(QUANTITY)
    quantity_received: Mapped[Decimal] = mapped_column(QUANTITY)


class SalesOrder(Base):
    __tablename__ = "sales_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    ordered_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    # Indexed: open orders are few among millions, and the demo picks and reserves from them.
    status: Mapped[str] = mapped_column(String(20), index=True)


class SalesOrderLine(Base):
    __tablename__ = "sales_order_lines"
    __table_args__ = (UniqueConstraint("sales_order_id", "line_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sales_order_id: Mapped[int] = mapped_column(ForeignKey("sales_orders.id"), index=True)
    line_number: Mapped[int] = mapped_column()
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    quantity_shipped: Mapped[Decimal] = mapped_column(QUANTITY)


TABLES = Base.metadata.sorted_tables
