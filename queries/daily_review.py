"""The executive review's per-day aggregates as SQL: read live by ``queries.kpis`` and kept by
``queries.rollup_store`` for the days it covers, so a review at 20M order lines reads stored days
and computes only what changed since the last roll-up run.

Days are whole UTC days numbered from 1970-01-01 (``queries.database.day_number``); the series
of a review is [first, today), today excluded. Times are naive UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import sqlalchemy as sa

from queries.database import date_number, day_key, day_number
from queries.days import midnight
from queries.schema import SalesOrder, SalesOrderLine, Sku, StockLevel, StockMovement

Period = Literal["week", "month", "quarter"]
PERIOD_DAYS: dict[Period, int] = {"week": 7, "month": 30, "quarter": 91}
# The series lengths a review reads (a period and the one before it): the roll-up run keeps
# the stock-out counts of each, as of its day.
REVIEW_SERIES_DAYS = tuple(2 * days for days in PERIOD_DAYS.values())

Rows = sa.Select[*tuple[Any, ...]]
# Day ranges [low, high), high None for no end.
DayRanges = Sequence[tuple[int, int | None]]


def stock_now() -> Rows:
    """Today's stock: its value at unit cost and its units (one row)."""
    return sa.select(
        sa.func.coalesce(sa.func.sum(StockLevel.on_hand * Sku.unit_cost), 0).label("value"),
        sa.func.coalesce(sa.func.sum(StockLevel.on_hand), 0).label("units"),
    ).join(Sku, Sku.id == StockLevel.sku_id)


def cost_basis() -> Rows:
    """A fingerprint of every SKU's unit cost and price (one row: sku_count, cost_checksum,
    price_checksum): stored movement values are good only while it is unchanged."""
    weight = Sku.id % 1009 + 1
    return sa.select(
        sa.func.count(Sku.id).label("sku_count"),
        sa.cast(sa.func.coalesce(sa.func.sum(Sku.unit_cost * weight), 0), sa.Float).label(
            "cost_checksum"
        ),
        sa.cast(sa.func.coalesce(sa.func.sum(Sku.unit_price * weight), 0), sa.Float).label(
            "price_checksum"
        ),
    )


def _movement_day(today: int) -> sa.ColumnElement[int]:
    """The day of a movement, with today and every later day as one bucket: today."""
    day = day_number(StockMovement.moved_at)
    return sa.case((day >= today, sa.literal(today, sa.Integer())), else_=day)


def _moved_in(column: Any, ranges: DayRanges) -> sa.ColumnElement[bool]:
    return sa.or_(
        *(
            sa.and_(column >= midnight(low), column < midnight(high))
            if high is not None
            else column >= midnight(low)
            for low, high in ranges
        )
    )


def movement_totals(ranges: DayRanges, today: int) -> Rows:
    """Per day of the movements in ``ranges`` (today and later as one day: today): value moved
    and units moved (signed), cost of goods sold and revenue (shipments at unit cost and
    price). Columns day, value_moved, units_moved, cogs, revenue."""
    shipped = StockMovement.kind == "shipment"
    moved_at = StockMovement.moved_at
    # Summed per day's key (none for today and later: one bucket), each bucket's day numbered
    # once outside: no day number per movement.
    bucket = sa.case((moved_at >= midnight(today), sa.null()), else_=day_key(moved_at))
    sums = (
        sa.select(
            bucket.label("bucket"),
            sa.func.sum(StockMovement.quantity * Sku.unit_cost).label("value_moved"),
            sa.func.sum(StockMovement.quantity).label("units_moved"),
            sa.func.sum(sa.case((shipped, -StockMovement.quantity * Sku.unit_cost), else_=0)).label(
                "cogs"
            ),
            sa.func.sum(
                sa.case((shipped, -StockMovement.quantity * Sku.unit_price), else_=0)
            ).label("revenue"),
        )
        .join(Sku, Sku.id == StockMovement.sku_id)
        .where(_moved_in(moved_at, ranges))
        .group_by(bucket)
        .subquery("sums")
    )
    day = sa.func.coalesce(date_number(sums.c.bucket), sa.literal(today, sa.Integer()))
    return sa.select(
        day.label("day"),
        sums.c.value_moved,
        sums.c.units_moved,
        sums.c.cogs,
        sums.c.revenue,
    )


def placed_in(first: int, end: int) -> sa.ColumnElement[bool]:
    """Sales orders placed in days [first, end), cancelled ones excluded."""
    return sa.and_(
        SalesOrder.ordered_at >= midnight(first),
        SalesOrder.ordered_at < midnight(end),
        SalesOrder.status != "cancelled",
    )


def order_totals(first: int, end: int) -> Rows:
    """Per day of [first, end): units ordered and shipped so far, order lines and orders placed
    (cancelled orders excluded). Columns day, units_ordered, units_shipped, order_lines, orders."""
    key = day_key(SalesOrder.ordered_at)
    sums = (
        sa.select(
            key.label("key"),
            sa.func.sum(SalesOrderLine.quantity).label("units_ordered"),
            sa.func.sum(SalesOrderLine.quantity_shipped).label("units_shipped"),
            sa.func.count(SalesOrderLine.id).label("order_lines"),
            sa.func.count(sa.distinct(SalesOrder.id)).label("orders"),
        )
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.sales_order_id)
        .where(placed_in(first, end))
        .group_by(key)
        .subquery("sums")
    )
    # Each day numbered once, outside the sums per day's key.
    return sa.select(
        date_number(sums.c.key).label("day"),
        sums.c.units_ordered,
        sums.c.units_shipped,
        sums.c.order_lines,
        sums.c.orders,
    )


def stockout_changes(firsts: Sequence[int], today: int, dialect: str) -> Rows:
    """Per series [first, today) of ``firsts`` and day: +1 on the day a pair demanded in that
    series has its end-of-day on hand fall to 0 or below, -1 when it rises again. Columns
    series_first, day, change; the running sum of the changes of a series is its stock-out
    count per day.

    Per SKU x warehouse pair with an order line in the longest series, the end-of-day on hand
    only changes on days with movements, so the pair's days split into runs: one from the
    longest series' first day (anchor), one from each movement day until the next. A run's
    level is today's stock minus the movements on later days. A pair counts in a series when it
    has an order line in that series' days (its last order day is on or after the series'
    first); its runs at or below 0 give +1 at their start (or the series' first day, whichever
    is later) and -1 at their end. One pass over the movements serves every series.
    """
    if not firsts:
        raise ValueError("stockout_changes needs at least one series")
    earliest = min(firsts)
    demanded = (
        sa.select(
            SalesOrderLine.sku_id,
            SalesOrder.warehouse_id,
            sa.func.max(day_number(SalesOrder.ordered_at)).label("last_order_day"),
        )
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.sales_order_id)
        .where(placed_in(earliest, today))
        .group_by(SalesOrderLine.sku_id, SalesOrder.warehouse_id)
        .subquery("demanded")
    )
    movement_day = _movement_day(today).label("day")
    quantity = sa.func.sum(StockMovement.quantity).label("quantity")
    # A movement on the first day is in every series day's end: only later ones count.
    in_series = StockMovement.moved_at >= midnight(earliest + 1)
    movement_days: Rows
    if dialect == "sqlite":
        # Each demanded pair looked up in the (sku, warehouse, time) index: SQLite's best plan.
        movement_days = (
            sa.select(
                demanded.c.sku_id,
                demanded.c.warehouse_id,
                demanded.c.last_order_day,
                movement_day,
                quantity,
            )
            .join(
                StockMovement,
                sa.and_(
                    StockMovement.sku_id == demanded.c.sku_id,
                    StockMovement.warehouse_id == demanded.c.warehouse_id,
                ),
            )
            .where(in_series)
            .group_by(
                demanded.c.sku_id,
                demanded.c.warehouse_id,
                demanded.c.last_order_day,
                sa.literal_column("day"),
            )
        )
    else:
        # PostgreSQL: the series' movements summed per pair and day in one range read of the
        # window first, then kept for the demanded pairs; looking each pair up instead is a
        # random read per pair, minutes at 500k demanded pairs once the table outgrows memory.
        recent = (
            sa.select(StockMovement.sku_id, StockMovement.warehouse_id, movement_day, quantity)
            .where(in_series)
            .group_by(StockMovement.sku_id, StockMovement.warehouse_id, sa.literal_column("day"))
            .subquery("recent")
        )
        movement_days = sa.select(
            recent.c.sku_id,
            recent.c.warehouse_id,
            demanded.c.last_order_day,
            recent.c.day,
            recent.c.quantity,
        ).join(
            demanded,
            sa.and_(
                recent.c.sku_id == demanded.c.sku_id,
                recent.c.warehouse_id == demanded.c.warehouse_id,
            ),
        )
    anchors = sa.select(
        demanded.c.sku_id,
        demanded.c.warehouse_id,
        demanded.c.last_order_day,
        sa.literal(earliest, sa.Integer()).label("day"),
        sa.literal(0, StockMovement.quantity.type).label("quantity"),
    )
    points = sa.union_all(movement_days, anchors).subquery("points")
    pair = (points.c.sku_id, points.c.warehouse_id)
    later_quantity = sa.func.sum(points.c.quantity).over(
        partition_by=pair, order_by=points.c.day, rows=(1, None)
    )
    runs = (
        sa.select(
            points.c.last_order_day,
            points.c.day.label("starts"),
            sa.func.coalesce(
                sa.func.lead(points.c.day).over(partition_by=pair, order_by=points.c.day),
                today,
            ).label("ends"),
            (sa.func.coalesce(StockLevel.on_hand, 0) - sa.func.coalesce(later_quantity, 0)).label(
                "on_hand"
            ),
        )
        .select_from(points)
        .outerjoin(
            StockLevel,
            sa.and_(
                StockLevel.sku_id == points.c.sku_id,
                StockLevel.warehouse_id == points.c.warehouse_id,
            ),
        )
        .subquery("runs")
    )
    series = sa.union_all(
        *(
            sa.select(sa.literal(first, sa.Integer()).label("series_first"))
            for first in sorted(firsts)
        )
    ).subquery("series")
    # Each out-of-stock run gives two edges per series it counts in; joining the runs once with
    # the edges and series (rather than a UNION of selects over them) computes the window
    # functions once.
    edges = sa.union_all(
        sa.select(sa.literal(1, sa.Integer()).label("edge")),
        sa.select(sa.literal(-1, sa.Integer()).label("edge")),
    ).subquery("edges")
    counted = sa.and_(
        runs.c.on_hand <= 0,
        runs.c.ends > runs.c.starts,
        runs.c.ends > series.c.series_first,
        runs.c.last_order_day >= series.c.series_first,
    )
    starts = sa.case(
        (runs.c.starts < series.c.series_first, series.c.series_first), else_=runs.c.starts
    )
    day = sa.case((edges.c.edge == 1, starts), else_=runs.c.ends).label("day")
    return (
        sa.select(series.c.series_first, day, sa.func.sum(edges.c.edge).label("change"))
        .select_from(runs.join(series, sa.true()).join(edges, sa.true()))
        .where(counted)
        .group_by(series.c.series_first, sa.literal_column("day"))
    )
