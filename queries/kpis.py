"""Executive KPI review: each KPI over a period against the previous period of the same length.

The database aggregates movements and order lines by day (and stock-outs by run of days); pandas
only accumulates those per-day sums over the days of the series and reduces them to periods.
Periods are whole UTC days ending at as_of's day, as_of's own day excluded: a week is the 7 days
[day(as_of) - 7, day(as_of)) and its previous period the 7 days before that. Times are naive UTC.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from queries.daily_review import (
    PERIOD_DAYS,
    REVIEW_SERIES_DAYS,
    Period,
    cost_basis,
    movement_totals,
    order_totals,
    stock_now,
    stockout_changes,
)
from queries.database import rows_of
from queries.days import aware_utc, day_of, midnight, naive_utc
from queries.health import Health
from queries.inventory import InventorySource
from queries.rollup_store import (
    CostBasis,
    RollupStore,
    review_coverage,
    stored_review_stockouts,
    stored_review_totals,
    uncovered,
)
from queries.schema import SalesOrder, Sku, StockLevel, StockMovement

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

    def __init__(
        self, engine: Engine, holding_cost_rate: float, rollups: RollupStore | None = None
    ) -> None:
        self.engine = engine
        self.holding_cost_rate = holding_cost_rate
        # Where the review's daily totals and stock-outs are kept (queries.rollup_store);
        # None: every figure from live queries.
        self.rollups = rollups

    def check_health(self) -> Health:
        """The inventory database's health: it answers and holds the schema invdash reads."""
        return InventorySource(self.engine).check_health()

    def period_review(self, as_of: dt.datetime, period: Period) -> pd.DataFrame:
        """``period_kpis`` of the period ending at as_of's day and the one before it."""
        daily = self.daily_series(as_of, 2 * PERIOD_DAYS[period])
        return period_kpis(daily, period, self.holding_cost_rate)

    def first_order_at(self) -> dt.datetime | None:
        """When the first sales order was placed (timezone-aware UTC), None without orders:
        where the data starts, so a period before it is not compared as if it had no sales."""
        with self.engine.connect() as conn:
            first = conn.execute(sa.select(sa.func.min(SalesOrder.ordered_at))).scalar()
        return None if first is None else aware_utc(pd.Timestamp(first).to_pydatetime())

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

        With a roll-up store, the days it covers come from its daily totals (while the unit
        costs and prices are the ones they were valued at) and the stock-outs from the series
        it computed as of today; the rest, and everything without a store, from the database.
        """
        if days < 1:
            raise ValueError(f"days must be at least 1, got {days}")
        today = day_of(naive_utc(as_of))
        first = today - days
        stored = self._stored_review(first, today, days)
        live_days = uncovered(first, today, stored.covered)
        with self.engine.connect() as conn:
            stock = conn.execute(stock_now()).one()
            if stored.moved is None:
                moved = _frame(conn, movement_totals([(first, None)], today))
            else:
                ranges: list[tuple[int, int | None]] = [*live_days, (today, None)]
                moved = _sum_by_day([stored.moved, _frame(conn, movement_totals(ranges, today))])
            ordered = _sum_by_day(
                [
                    stored.ordered,
                    *(_frame(conn, order_totals(low, high)) for low, high in live_days),
                ]
            )
            stockouts = stored.stockouts
            if stockouts is None:
                dialect = self.engine.dialect.name
                if dialect == "postgresql":
                    # For this last statement of the transaction only: PostgreSQL's hash joins
                    # of the pairs (hundreds of thousands at 50k SKUs x 20 warehouses) with the
                    # window's movements and the stock levels spill past work_mem into batches
                    # that took 500 s where merge joins take 13 s (docs/benchmarks.md).
                    conn.exec_driver_sql("SET LOCAL enable_hashjoin = off")
                stockouts = _frame(conn, stockout_changes([first], today, dialect))

        day_numbers = pd.RangeIndex(first, today)
        # Every movement after day d is undone from today's stock to get day d's end: sum the
        # per-day movement totals from the last bucket (today and later) backwards.
        bucket_days = pd.RangeIndex(first, today + 1)
        moved = moved.set_index("day").reindex(bucket_days, fill_value=0.0)
        later = moved[["value_moved", "units_moved"]][::-1].cumsum()[::-1].shift(-1, fill_value=0)
        later = later.reindex(day_numbers)
        ordered = ordered.set_index("day").reindex(day_numbers, fill_value=0.0)
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

    def _stored_review(self, first: int, today: int, days: int) -> _StoredReview:
        """What the roll-up store holds of the series [first, today) (``_NOTHING_STORED``
        without a store, or when it cannot be read: figures cost speed, never correctness)."""
        if self.rollups is None:
            return _NOTHING_STORED
        try:
            with self.rollups.engine.connect() as store:
                found = review_coverage(store)
                covered = found.covered_days(first, today)
                stockouts = None
                if found.review_day == today and days in REVIEW_SERIES_DAYS:
                    stockouts = _typed(stored_review_stockouts(store, days))
                if covered is None:
                    return _StoredReview(None, empty_order_totals(), stockouts, None)
                moved, ordered = stored_review_totals(store, covered)
            if found.basis is not None:
                with self.engine.connect() as conn:
                    basis = CostBasis.of(conn.execute(cost_basis()).one())
                if basis != found.basis:
                    # Valued at other costs or prices: the movements are read live.
                    return _StoredReview(None, _typed(ordered), stockouts, covered)
                return _StoredReview(_typed(moved), _typed(ordered), stockouts, covered)
            return _StoredReview(None, _typed(ordered), stockouts, covered)
        except Exception:
            return _NOTHING_STORED

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


@dataclass(frozen=True)
class _StoredReview:
    """The stored parts of a review series: movement totals (None: read every day live),
    order totals, stock-out changes (None: computed live) and the days they cover."""

    moved: pd.DataFrame | None
    ordered: pd.DataFrame
    stockouts: pd.DataFrame | None
    covered: tuple[int, int] | None


def empty_order_totals() -> pd.DataFrame:
    return pd.DataFrame(
        {
            column: pd.Series(dtype="int64" if column == "day" else "float64")
            for column in ("day", "units_ordered", "units_shipped", "order_lines", "orders")
        }
    )


_NOTHING_STORED = _StoredReview(None, empty_order_totals(), None, None)


def _sum_by_day(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Per-day totals of disjoint day ranges (or of a stored day and today's bucket) added up."""
    parts = [frame for frame in frames if not frame.empty]
    if not parts:
        return frames[0]
    return pd.concat(parts, ignore_index=True).groupby("day", as_index=False).sum()


def _frame(conn: sa.Connection, query: sa.Select[*tuple[Any, ...]]) -> pd.DataFrame:
    return _typed(rows_of(conn, query))


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    # NUMERIC sums arrive as Decimal; day numbers and counts as int.
    for column in frame.columns:
        if column == "day":
            frame[column] = frame[column].astype("int64")
        elif column != "sku_code":
            frame[column] = frame[column].astype("float64")
    return frame


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
