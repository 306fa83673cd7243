"""Executive KPI review: each KPI over a period against the previous period of the same length.

The database aggregates movements and order lines by day (and stock-outs by run of days); pandas
only accumulates those per-day sums over the days of the series and reduces them to periods.
Periods are whole UTC days ending at as_of's day, as_of's own day excluded: a week is the 7 days
[day(as_of) - 7, day(as_of)) and its previous period the 7 days before that. Times are naive UTC.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Literal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from queries.database import day_number, rows_of
from queries.days import day_of, midnight, naive_utc
from queries.health import Health
from queries.inventory import InventorySource
from queries.schema import SalesOrder, SalesOrderLine, Sku, StockLevel, StockMovement

Period = Literal["week", "month", "quarter"]
PERIOD_DAYS: dict[Period, int] = {"week": 7, "month": 30, "quarter": 91}
DAYS_PER_YEAR = 365.0
# Cumulative revenue shares that close classes A and B; the rest (and no revenue) is C.
ABC_LIMITS = (("A", 0.80), ("B", 0.95))
ABC_CLASSES = ("A", "B", "C")

DAILY_COLUMNS = [
    "day", "inventory_value", "units_on_hand", "cogs", "revenue", "units_ordered",
    "units_shipped", "order_lines", "orders", "stockout_rows",
]  # fmt: skip
KPI_COLUMNS = ["kpi", "unit", "current", "previous", "delta", "delta_share", "sparkline"]
KPI_UNITS = {
    "inventory_value": "money",
    "carrying_cost": "money",
    "turnover": "ratio",
    "days_of_inventory": "days",
    "gmroi": "ratio",
    "fill_rate": "share",
    "stockout_count": "count",
    "orders_per_day": "count",
}
ABC_COLUMNS = ["class", "skus", "revenue", "revenue_share", "inventory_value"]


class ExecutiveKpiSource:
    """Daily business figures and ABC classes from the inventory schema (queries.schema)."""

    name = "inventory database"

    def __init__(self, engine: Engine, holding_cost_rate: float) -> None:
        self.engine = engine
        self.holding_cost_rate = holding_cost_rate

    def check_health(self) -> Health:
        """The inventory database's health: it answers and holds the schema invdash reads."""
        return InventorySource(self.engine).check_health()

    def period_review(self, as_of: dt.datetime, period: Period) -> pd.DataFrame:
        """``period_kpis`` of the period ending at as_of's day and the one before it."""
        daily = self.daily_series(as_of, 2 * PERIOD_DAYS[period])
        return period_kpis(daily, period, self.holding_cost_rate)

    def first_order_at(self) -> dt.datetime | None:
        """When the first sales order was placed (naive UTC), None without orders: where the
        data starts, so a period before it is not compared as if it had no sales."""
        with self.engine.connect() as conn:
            first = conn.execute(sa.select(sa.func.min(SalesOrder.ordered_at))).scalar()
        return None if first is None else pd.Timestamp(first).to_pydatetime()

    def daily_series(self, as_of: dt.datetime, days: int) -> pd.DataFrame:
        """One row per whole UTC day of [day(as_of) - days, day(as_of)), oldest first.

        Columns:
          day (datetime64[ns], midnight, naive UTC);
          inventory_value (money: end-of-day on hand x unit cost), units_on_hand (units), both
          reconstructed from stock_levels minus the movements after that day;
          cogs, revenue (money: shipment movements that day, at unit cost and unit price);
          units_ordered, units_shipped (units), order_lines, orders (int): lines and orders
          placed that day, cancelled orders excluded (units_shipped is what has shipped on
          those lines so far, so units_shipped / units_ordered is their fill rate);
          stockout_rows (int): SKU x warehouse pairs whose end-of-day on hand was 0 or below,
          among the pairs with a (not cancelled) order line placed in the series' days.
        """
        if days < 1:
            raise ValueError(f"days must be at least 1, got {days}")
        today = day_of(naive_utc(as_of))
        first = today - days
        with self.engine.connect() as conn:
            stock = conn.execute(_stock_now()).one()
            moved = _frame(conn, _movements_by_day(first, today))
            ordered = _frame(conn, _orders_by_day(first, today))
            dialect = self.engine.dialect.name
            if dialect == "postgresql":
                # For this last statement of the transaction only: PostgreSQL's hash joins of
                # the pairs (hundreds of thousands at 50k SKUs x 20 warehouses) with the window's
                # movements and the stock levels spill past work_mem into batches that took
                # 500 s where merge joins take 13 s (docs/benchmarks.md); no other plan changes.
                conn.exec_driver_sql("SET LOCAL enable_hashjoin = off")
            stockouts = _frame(conn, _stockout_changes_by_day(first, today, dialect))

        day_numbers = pd.RangeIndex(first, today)
        # Every movement after day d is undone from today's stock to get day d's end: sum the
        # per-day movement totals from the last bucket (today and later) backwards.
        bucket_days = pd.RangeIndex(first, today + 1)
        moved = moved.set_index("day").reindex(bucket_days, fill_value=0.0)
        later = moved[["value_moved", "units_moved"]][::-1].cumsum()[::-1].shift(-1, fill_value=0)
        later = later.reindex(day_numbers)
        ordered = ordered.set_index("day").reindex(day_numbers, fill_value=0)
        stockout_rows = (
            stockouts.set_index("day")["change"].reindex(bucket_days, fill_value=0).cumsum()
        )

        frame = pd.DataFrame(
            {
                "day": pd.to_datetime(day_numbers.to_numpy(), unit="D").astype("datetime64[ns]"),
                "inventory_value": float(stock.value) - later["value_moved"].to_numpy("float64"),
                "units_on_hand": float(stock.units) - later["units_moved"].to_numpy("float64"),
                "cogs": moved["cogs"].reindex(day_numbers).to_numpy("float64"),
                "revenue": moved["revenue"].reindex(day_numbers).to_numpy("float64"),
                "units_ordered": ordered["units_ordered"].to_numpy("float64"),
                "units_shipped": ordered["units_shipped"].to_numpy("float64"),
                "order_lines": ordered["order_lines"].to_numpy("int64"),
                "orders": ordered["orders"].to_numpy("int64"),
                "stockout_rows": stockout_rows.reindex(day_numbers).to_numpy("int64"),
            }
        )
        return frame[DAILY_COLUMNS]

    def abc_breakdown(self, as_of: dt.datetime, days: int) -> pd.DataFrame:
        """SKUs in classes by their revenue over the ``days`` whole days before as_of's day.

        A is the highest-revenue SKUs up to and including the one that reaches 80% of the
        window's revenue, B those that then reach 95%, C the rest and every SKU without
        revenue. Ties in revenue go by SKU code. Rows A, B, C (always all three) with columns:
        class (str), skus (int), revenue (money: shipped units x unit price in the window),
        revenue_share (of the window's revenue; NaN without revenue), inventory_value (money:
        the class's stock at the end of the window, at unit cost).
        """
        if days < 1:
            raise ValueError(f"days must be at least 1, got {days}")
        today = day_of(naive_utc(as_of))
        with self.engine.connect() as conn:
            skus = _frame(conn, _sku_revenue_and_value(midnight(today - days), midnight(today)))

        skus = skus.sort_values(["revenue", "sku_code"], ascending=[False, True])
        total = float(skus["revenue"].sum())
        share_before = (skus["revenue"].cumsum() - skus["revenue"]) / total if total > 0 else 1.0
        abc_class = pd.Series("C", index=skus.index)
        for name, limit in reversed(ABC_LIMITS):
            abc_class = abc_class.mask((skus["revenue"] > 0) & (share_before < limit), name)
        grouped = skus.assign(**{"class": abc_class}).groupby("class")
        breakdown = pd.DataFrame(
            {
                "skus": grouped.size(),
                "revenue": grouped["revenue"].sum(),
                "inventory_value": grouped["inventory_value"].sum(),
            }
        ).reindex(list(ABC_CLASSES))
        breakdown = breakdown.fillna(0.0).rename_axis("class").reset_index()
        breakdown["skus"] = breakdown["skus"].astype("int64")
        breakdown["revenue_share"] = breakdown["revenue"] / total if total > 0 else math.nan
        return breakdown[ABC_COLUMNS]


def period_kpis(daily: pd.DataFrame, period: Period, holding_cost_rate: float) -> pd.DataFrame:
    """The executive KPIs of the last ``n`` days of ``daily`` against the ``n`` days before.

    ``daily`` is a ``daily_series`` frame, oldest first, of at least 2n days (n = 7, 30, 91 for
    week, month, quarter); only its last 2n rows are read. One row per KPI, in this order:

      inventory_value (money): stock value at the end of the period;
      carrying_cost (money): mean inventory value x holding_cost_rate x n / 365;
      turnover (ratio, annualised): cogs x 365 / n / mean inventory value;
      days_of_inventory (days): 365 / turnover, NaN without cogs;
      gmroi (ratio, annualised): (revenue - cogs) x 365 / n / mean inventory value;
      fill_rate (share): units shipped / units ordered on the period's order lines;
      stockout_count (count): stock-out pairs per day, the mean over the period rather than
        the count on its last day, so one bad evening does not make the period look bad and a
        stock-out lasting half the period counts a half;
      orders_per_day (count): orders placed / n.

    Ratios over a mean inventory value of 0 or less (and a fill rate without orders) are NaN.
    Columns: kpi, unit ("money", "ratio", "days", "count", "share"), current, previous (float),
    delta (current - previous), delta_share (delta / |previous|, NaN when previous is 0 or NaN),
    sparkline (list of 2n daily floats, oldest first, for the KPIs with a daily value:
    inventory_value, carrying_cost (daily: value x rate / 365, summing to the period's
    carrying_cost), stockout_count (stockout_rows), orders_per_day (orders); None for the rest).
    """
    days = PERIOD_DAYS[period]
    if len(daily) < 2 * days:
        raise ValueError(f"a {period} review needs {2 * days} days of series, got {len(daily)}")
    window = daily.iloc[-2 * days :]
    previous = _period_figures(window.iloc[:days], days, holding_cost_rate)
    current = _period_figures(window.iloc[days:], days, holding_cost_rate)

    daily_value = window["inventory_value"].astype("float64")
    sparklines: dict[str, pd.Series] = {
        "inventory_value": daily_value,
        "carrying_cost": daily_value * holding_cost_rate / DAYS_PER_YEAR,
        "stockout_count": window["stockout_rows"].astype("float64"),
        "orders_per_day": window["orders"].astype("float64"),
    }
    rows = []
    for kpi, unit in KPI_UNITS.items():
        now, before = current[kpi], previous[kpi]
        delta = now - before
        sparkline = sparklines.get(kpi)
        rows.append(
            {
                "kpi": kpi,
                "unit": unit,
                "current": now,
                "previous": before,
                "delta": delta,
                "delta_share": delta / abs(before) if before != 0 else math.nan,
                "sparkline": None if sparkline is None else [float(v) for v in sparkline],
            }
        )
    return pd.DataFrame(rows, columns=KPI_COLUMNS)


def _period_figures(days_frame: pd.DataFrame, days: int, rate: float) -> dict[str, float]:
    mean_value = float(days_frame["inventory_value"].mean())
    cogs = float(days_frame["cogs"].sum())
    revenue = float(days_frame["revenue"].sum())
    ordered = float(days_frame["units_ordered"].sum())
    per_year = DAYS_PER_YEAR / days
    turnover = cogs * per_year / mean_value if mean_value > 0 else math.nan
    return {
        "inventory_value": float(days_frame["inventory_value"].iloc[-1]),
        "carrying_cost": mean_value * rate * days / DAYS_PER_YEAR,
        "turnover": turnover,
        "days_of_inventory": DAYS_PER_YEAR / turnover if turnover > 0 else math.nan,
        "gmroi": (revenue - cogs) * per_year / mean_value if mean_value > 0 else math.nan,
        "fill_rate": float(days_frame["units_shipped"].sum()) / ordered
        if ordered > 0
        else math.nan,
        "stockout_count": float(days_frame["stockout_rows"].mean()),
        "orders_per_day": float(days_frame["orders"].sum()) / days,
    }


def _frame(conn: sa.Connection, query: sa.Select[*tuple[Any, ...]]) -> pd.DataFrame:
    frame = rows_of(conn, query)
    # NUMERIC sums arrive as Decimal; day numbers and counts as int.
    for column in frame.columns:
        if column == "day":
            frame[column] = frame[column].astype("int64")
        elif column != "sku_code":
            frame[column] = frame[column].astype("float64")
    return frame


def _stock_now() -> sa.Select[*tuple[Any, ...]]:
    return sa.select(
        sa.func.coalesce(sa.func.sum(StockLevel.on_hand * Sku.unit_cost), 0).label("value"),
        sa.func.coalesce(sa.func.sum(StockLevel.on_hand), 0).label("units"),
    ).join(Sku, Sku.id == StockLevel.sku_id)


def _movement_day(today: int) -> sa.ColumnElement[int]:
    """The day of a movement, with today and every later day as one bucket: today."""
    day = day_number(StockMovement.moved_at)
    return sa.case((day >= today, sa.literal(today, sa.Integer())), else_=day)


def _movements_by_day(first: int, today: int) -> sa.Select[*tuple[Any, ...]]:
    shipped = StockMovement.kind == "shipment"
    return (
        sa.select(
            _movement_day(today).label("day"),
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
        .where(StockMovement.moved_at >= midnight(first))
        .group_by(sa.literal_column("day"))
    )


def _placed_in(first: int, today: int) -> sa.ColumnElement[bool]:
    return sa.and_(
        SalesOrder.ordered_at >= midnight(first),
        SalesOrder.ordered_at < midnight(today),
        SalesOrder.status != "cancelled",
    )


def _orders_by_day(first: int, today: int) -> sa.Select[*tuple[Any, ...]]:
    return (
        sa.select(
            day_number(SalesOrder.ordered_at).label("day"),
            sa.func.sum(SalesOrderLine.quantity).label("units_ordered"),
            sa.func.sum(SalesOrderLine.quantity_shipped).label("units_shipped"),
            sa.func.count(SalesOrderLine.id).label("order_lines"),
            sa.func.count(sa.distinct(SalesOrder.id)).label("orders"),
        )
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.sales_order_id)
        .where(_placed_in(first, today))
        .group_by(sa.literal_column("day"))
    )


def _stockout_changes_by_day(first: int, today: int, dialect: str) -> sa.Select[*tuple[Any, ...]]:
    """+1 on the day a demanded pair's end-of-day on hand falls to 0 or below, -1 when it rises.

    Per SKU x warehouse pair with an order line in the series, the end-of-day on hand only
    changes on days with movements, so the pair's series days split into runs: one from the
    first day (anchor), one from each movement day until the next. A run's level is today's
    stock minus the movements on later days. Runs at or below 0 give +1 at their start and -1
    at their end; the running sum of these per-day changes is the stock-out count per day.
    """
    demanded = (
        sa.select(SalesOrderLine.sku_id, SalesOrder.warehouse_id)
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.sales_order_id)
        .where(_placed_in(first, today))
        .distinct()
        .subquery("demanded")
    )
    movement_day = _movement_day(today).label("day")
    quantity = sa.func.sum(StockMovement.quantity).label("quantity")
    # A movement on the first day is in every series day's end: only later ones count.
    in_series = StockMovement.moved_at >= midnight(first + 1)
    movement_days: sa.Select[*tuple[Any, ...]]
    if dialect == "sqlite":
        # Each demanded pair looked up in the (sku, warehouse, time) index: SQLite's best plan.
        movement_days = (
            sa.select(demanded.c.sku_id, demanded.c.warehouse_id, movement_day, quantity)
            .join(
                StockMovement,
                sa.and_(
                    StockMovement.sku_id == demanded.c.sku_id,
                    StockMovement.warehouse_id == demanded.c.warehouse_id,
                ),
            )
            .where(in_series)
            .group_by(demanded.c.sku_id, demanded.c.warehouse_id, sa.literal_column("day"))
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
            recent.c.sku_id, recent.c.warehouse_id, recent.c.day, recent.c.quantity
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
        sa.literal(first, sa.Integer()).label("day"),
        sa.literal(0, StockMovement.quantity.type).label("quantity"),
    )
    points = sa.union_all(movement_days, anchors).subquery("points")
    pair = (points.c.sku_id, points.c.warehouse_id)
    later_quantity = sa.func.sum(points.c.quantity).over(
        partition_by=pair, order_by=points.c.day, rows=(1, None)
    )
    runs = (
        sa.select(
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
    out_of_stock = sa.and_(runs.c.on_hand <= 0, runs.c.ends > runs.c.starts)
    # Each out-of-stock run gives two edges; joining the runs once with two rows (rather than a
    # UNION of two selects over them) computes the window functions once, not twice.
    edges = sa.union_all(
        sa.select(sa.literal(1, sa.Integer()).label("edge")),
        sa.select(sa.literal(-1, sa.Integer()).label("edge")),
    ).subquery("edges")
    day = sa.case((edges.c.edge == 1, runs.c.starts), else_=runs.c.ends).label("day")
    return (
        sa.select(day, sa.func.sum(edges.c.edge).label("change"))
        .select_from(runs.join(edges, sa.true()))
        .where(out_of_stock)
        .group_by(sa.literal_column("day"))
    )


def _sku_revenue_and_value(start: dt.datetime, end: dt.datetime) -> sa.Select[*tuple[Any, ...]]:
    revenue = (
        sa.select(
            StockMovement.sku_id,
            sa.func.sum(-StockMovement.quantity).label("units_shipped"),
        )
        .where(
            StockMovement.kind == "shipment",
            StockMovement.moved_at >= start,
            StockMovement.moved_at < end,
        )
        .group_by(StockMovement.sku_id)
        .subquery("shipped")
    )
    stock = (
        sa.select(StockLevel.sku_id, sa.func.sum(StockLevel.on_hand).label("on_hand"))
        .group_by(StockLevel.sku_id)
        .subquery("stock")
    )
    later = (
        sa.select(StockMovement.sku_id, sa.func.sum(StockMovement.quantity).label("quantity"))
        .where(StockMovement.moved_at >= end)
        .group_by(StockMovement.sku_id)
        .subquery("later")
    )
    units_at_end = sa.func.coalesce(stock.c.on_hand, 0) - sa.func.coalesce(later.c.quantity, 0)
    return (
        sa.select(
            Sku.code.label("sku_code"),
            (sa.func.coalesce(revenue.c.units_shipped, 0) * Sku.unit_price).label("revenue"),
            (units_at_end * Sku.unit_cost).label("inventory_value"),
        )
        .outerjoin(revenue, revenue.c.sku_id == Sku.id)
        .outerjoin(stock, stock.c.sku_id == Sku.id)
        .outerjoin(later, later.c.sku_id == Sku.id)
    )
