"""What must hold of any inventory history invdash writes (the seed, the demo carrying on):
each check reads the database as it is and says which rule broke."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
import sqlalchemy as sa

from queries.schema import Lot, SalesOrder, SalesOrderLine, Sku, StockLevel, StockMovement


def frame(engine: sa.Engine, query: sa.Select[Any]) -> pd.DataFrame:
    """The query's rows; NUMERIC columns (Decimal on every backend) become float64."""
    with engine.connect() as conn:
        result = conn.execute(query)
        rows = pd.DataFrame(result.all(), columns=list(result.keys()))
    for column in rows.columns:
        if len(rows) and isinstance(rows[column].iloc[0], Decimal):
            rows[column] = rows[column].astype("float64")
    return rows


def scalar(engine: sa.Engine, query: sa.Select[Any]) -> Any:
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()


def per_series_sum(
    sku_id: Any, warehouse_id: Any, value: Any, label: str, *, join: Any = None, where: Any = None
) -> sa.Subquery:
    """The sum of ``value`` (as ``label``) per sku_id x warehouse_id, over the rows of ``value``'s
    table (joined ``join``, an (entity, on clause) pair) that meet ``where``."""
    query = sa.select(sku_id, warehouse_id, sa.func.sum(value).label(label))
    if join is not None:
        query = query.join(*join)
    if where is not None:
        query = query.where(where)
    return query.group_by(sku_id, warehouse_id).subquery()


def stock_levels_with(
    engine: sa.Engine, per_series: sa.Subquery, *columns: Any, join: Any = None
) -> pd.DataFrame:
    """``columns`` of every stock level (joined ``join``, an (entity, on clause) pair), outer-
    joined to ``per_series`` (a subquery with sku_id and warehouse_id columns) by its series."""
    query = sa.select(*columns).select_from(StockLevel)
    if join is not None:
        query = query.join(*join)
    return frame(
        engine,
        query.outerjoin(
            per_series,
            sa.and_(
                per_series.c.sku_id == StockLevel.sku_id,
                per_series.c.warehouse_id == StockLevel.warehouse_id,
            ),
        ),
    )


def stock_with_movement_totals(engine: sa.Engine) -> pd.DataFrame:
    """Every stock level with the sum of its series' movements (``total``, NaN without any)."""
    totals = per_series_sum(
        StockMovement.sku_id, StockMovement.warehouse_id, StockMovement.quantity, "total"
    )
    levels = stock_levels_with(
        engine,
        totals,
        StockLevel.sku_id,
        StockLevel.warehouse_id,
        StockLevel.on_hand,
        totals.c.total,
    )
    assert scalar(engine, sa.select(sa.func.count()).select_from(totals)) == len(levels), (
        "movements of a SKU x warehouse without a stock level"
    )
    return levels


def assert_on_hand_is_the_sum_of_movements(engine: sa.Engine) -> None:
    levels = stock_with_movement_totals(engine)
    assert (levels["on_hand"] == levels["total"].fillna(0.0)).all()


def assert_stock_never_negative(engine: sa.Engine) -> None:
    running = sa.func.sum(StockMovement.quantity).over(
        partition_by=(StockMovement.sku_id, StockMovement.warehouse_id),
        order_by=(StockMovement.moved_at, StockMovement.id),
    )
    balances = sa.select(running.label("balance")).subquery()
    assert scalar(engine, sa.select(sa.func.min(balances.c.balance))) >= 0
    levels = frame(engine, sa.select(StockLevel.on_hand, StockLevel.reserved))
    assert (levels["on_hand"] >= 0).all()
    assert ((levels["reserved"] >= 0) & (levels["reserved"] <= levels["on_hand"])).all()
    assert scalar(engine, sa.select(sa.func.min(Lot.quantity))) >= 0


def assert_pharmacy_lots_add_up_to_on_hand(engine: sa.Engine) -> None:
    lots = per_series_sum(Lot.sku_id, Lot.warehouse_id, Lot.quantity, "in_lots")
    levels = stock_levels_with(
        engine,
        lots,
        Sku.category,
        StockLevel.on_hand,
        lots.c.in_lots,
        join=(Sku, Sku.id == StockLevel.sku_id),
    )
    pharmacy = levels[levels["category"] == "Pharmacy"]
    assert len(pharmacy) > 0
    assert (pharmacy["in_lots"] == pharmacy["on_hand"]).all()
    assert levels.loc[levels["category"] != "Pharmacy", "in_lots"].isna().all()


def orders_with_totals(engine: sa.Engine) -> pd.DataFrame:
    """One row per sales order: status, ordered_at, quantity and shipped (its lines' sums)."""
    lines = frame(
        engine,
        sa.select(
            SalesOrder.status,
            SalesOrder.ordered_at,
            SalesOrderLine.sales_order_id,
            SalesOrderLine.quantity,
            SalesOrderLine.quantity_shipped,
        ).join(SalesOrder, SalesOrder.id == SalesOrderLine.sales_order_id),
    )
    return lines.groupby("sales_order_id").agg(
        status=("status", "first"),
        ordered_at=("ordered_at", "first"),
        quantity=("quantity", "sum"),
        shipped=("quantity_shipped", "sum"),
    )


def assert_status_follows_shipped_quantities(engine: sa.Engine) -> None:
    orders = orders_with_totals(engine)
    status = orders["status"]
    shipped = orders[status == "shipped"]
    assert (shipped["shipped"] == shipped["quantity"]).all()
    partial = orders[status == "partially_shipped"]
    assert ((partial["shipped"] > 0) & (partial["shipped"] < partial["quantity"])).all()
    assert (orders.loc[status.isin(["open", "cancelled"]), "shipped"] == 0).all()


def stock_with_open_quantity(engine: sa.Engine) -> pd.DataFrame:
    """Every stock level with ``open``: the unshipped quantity of its orders not cancelled."""
    unshipped = per_series_sum(
        SalesOrderLine.sku_id,
        SalesOrder.warehouse_id,
        SalesOrderLine.quantity - SalesOrderLine.quantity_shipped,
        "open",
        join=(SalesOrder, SalesOrder.id == SalesOrderLine.sales_order_id),
        where=SalesOrder.status != "cancelled",
    )
    levels = stock_levels_with(
        engine, unshipped, StockLevel.on_hand, StockLevel.reserved, unshipped.c.open
    )
    levels["open"] = levels["open"].fillna(0.0)
    return levels


def assert_reserved_is_the_open_quantity_capped_at_on_hand(engine: sa.Engine) -> None:
    levels = stock_with_open_quantity(engine)
    assert (levels["reserved"] == levels["open"].clip(upper=levels["on_hand"])).all()


def assert_inventory_invariants(engine: sa.Engine) -> None:
    assert_on_hand_is_the_sum_of_movements(engine)
    assert_stock_never_negative(engine)
    assert_pharmacy_lots_add_up_to_on_hand(engine)
    assert_status_follows_shipped_quantities(engine)
    assert_reserved_is_the_open_quantity_capped_at_on_hand(engine)


def book_movement(
    conn: sa.Connection,
    sku_id: int,
    warehouse_id: int,
    quantity: int,
    moved_at: Any,
    kind: str = "adjustment",
    reason: str | None = None,
    reference: str = "TEST",
) -> None:
    """A stock movement and its stock level moved with it, as an ERP books one (the stock level
    must already exist)."""
    conn.execute(
        sa.insert(StockMovement).values(
            sku_id=sku_id,
            warehouse_id=warehouse_id,
            kind=kind,
            reason=reason,
            quantity=Decimal(quantity),
            moved_at=moved_at,
            reference=reference,
        )
    )
    conn.execute(
        sa.update(StockLevel)
        .where(StockLevel.sku_id == sku_id, StockLevel.warehouse_id == warehouse_id)
        .values(on_hand=StockLevel.on_hand + quantity)
    )
