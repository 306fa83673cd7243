"""The roll-up store invdash owns: daily demand and movements per SKU x warehouse, orders per
minute, and the demand window's per SKU x warehouse sums, kept by ``invdash rollup``.

A refresh must not re-read the whole order history. ``refresh_rollups`` aggregates the inventory
database's order lines and stock movements into tables of a store invdash owns (never the
user's ERP database, which invdash only reads): on PostgreSQL a database or schema of its own,
for the embedded demo the same SQLite file. Each run recomputes a trailing window of days
(``recompute_days``), so back-dated edits and cancellations are picked up, and brings the
tables up to the run's last whole day (daily tables) and last whole minute (per-minute table).

Readers (``queries.inventory``) take the covered part of a range from here and the part the
roll-ups do not cover yet (today, the minutes since the last run, or everything when the store
was never filled) from the inventory database: the figures are the same either way, the
roll-ups only make them cheap. Days are whole UTC days numbered from 1970-01-01; times are
naive UTC.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.types import TypeEngine

from queries.daily_review import (
    REVIEW_SERIES_DAYS,
    cost_basis,
    movement_totals,
    order_totals,
    stockout_changes,
)
from queries.database import among, day_number, minute_start, rows_of, to_datetimes, unparsed
from queries.days import day_of, midnight, naive_utc
from queries.health import Health, describe_failure
from queries.schema import SalesOrder, SalesOrderLine, StockMovement

OUTBOUND_KINDS = ("shipment", "transfer")
DEFAULT_RECOMPUTE_DAYS = 14
# Days aggregated per statement on a first fill: bounds the memory of a long history's move.
FILL_CHUNK_DAYS = 31

STORE = sa.MetaData()

# Column types by the letter a table's spec gives them (``_table``).
_TYPES: dict[str, Callable[[], TypeEngine[Any]]] = {
    "int": sa.Integer,
    "float": sa.Float,
    "time": sa.DateTime,
    "name": lambda: sa.String(32),
    "text": lambda: sa.String(200),
}


def _table(name: str, keys: str, values: str, nullable: str = "") -> sa.Table:
    """A store table: ``keys`` its primary key, ``values`` its NOT NULL columns, ``nullable``
    the others, each a space-separated list of ``column:type`` (a type of _TYPES)."""

    def columns(spec: str, key: bool, null: bool) -> list[sa.Column[Any]]:
        pairs = (item.split(":") for item in spec.split())
        return [
            sa.Column(column, _TYPES[kind](), primary_key=key, nullable=null)
            for column, kind in pairs
        ]

    return sa.Table(
        name,
        STORE,
        *columns(keys, key=True, null=False),
        *columns(values, key=False, null=False),
        *columns(nullable, key=False, null=True),
    )


# Units ordered and shipped so far on the (not cancelled) order lines placed that day.
daily_demand = _table(
    "invdash_daily_demand",
    "day:int sku_id:int warehouse_id:int",
    "units_ordered:float units_shipped:float",
)

# The day's movements of each SKU x warehouse: net_quantity of every kind, signed;
# shipped_units, shipments as positive units; last_outbound_at, the latest outbound (shipment
# or transfer out) that day, NULL without one.
daily_movements = _table(
    "invdash_daily_movements",
    "day:int sku_id:int warehouse_id:int",
    "net_quantity:float shipped_units:float",
    "last_outbound_at:time",
)

# Order lines, units and orders placed each minute; cancelled orders included: they were orders
# when placed.
minute_orders = _table(
    "invdash_minute_orders", "minute:time", "order_lines:int units:float orders:int"
)

# The per SKU x warehouse sums behind the demand window as of one day, so a refresh reads one
# row per SKU x warehouse instead of the window's days (queries.inventory.PAIR_STATS).
window_sums = _table(
    "invdash_window_sums",
    "sku_id:int warehouse_id:int",
    "demand_sum:float demand_sum_squares:float units_shipped_window:float shipped_units:float "
    "weighted_movement:float",
    "last_outbound_at:time",
)

# The executive review's daily totals (queries.daily_review): movements valued at the unit costs
# and prices of ``invdash_cost_basis`` (a change of any recomputes every day), orders placed.
daily_movement_totals = _table(
    "invdash_daily_movement_totals",
    "day:int",
    "value_moved:float units_moved:float cogs:float revenue:float",
)
daily_order_totals = _table(
    "invdash_daily_order_totals",
    "day:int",
    "units_ordered:float units_shipped:float order_lines:int orders:int",
)

# The review's stock-out changes per day for each series length (REVIEW_SERIES_DAYS), as of
# the review coverage's day: the series [day - series_days, day).
review_stockouts = _table("invdash_review_stockouts", "series_days:int day:int", "change:int")

# The costs and prices the movement totals were valued at (queries.daily_review.cost_basis).
cost_basis_table = _table(
    "invdash_cost_basis",
    "name:name",
    "sku_count:int cost_checksum:float price_checksum:float",
)

# The demand forecast of each SKU, day by day (queries.forecast; kept by queries.forecast_store),
# made from the daily demand up to the "forecast" coverage's first_day.
forecasts = _table(
    "invdash_forecasts",
    "sku_id:int day:int",
    "forecast:float lower:float upper:float method:name",
)
# Each forecast run's backtest, one row per SKU and run (the day the run read up to), so that
# its accuracy can be followed over time. NULL scores: too little history for a backtest.
forecast_accuracy = _table(
    "invdash_forecast_accuracy",
    "as_of_day:int sku_id:int",
    "method:name actual_units:float",
    "reason:text wape:float bias:float tracking_signal:float model_wape:float baseline_wape:float",
)
# The stock plan of the newest run's SKUs on the model (queries.forecast.PLAN_COLUMNS), the
# forecast's as of ``as_of_day`` (the last whole day it read).
demand_plan = _table(
    "invdash_demand_plan",
    "sku_id:int",
    "as_of_day:int daily_demand:float sd_daily_demand:float",
)

# One row per kind of roll-up: what it covers (days [first_day, end_day), minutes before
# end_minute, both ends exclusive) and when it was computed.
coverage = _table(
    "invdash_rollup_coverage",
    "name:name",
    "computed_at:time",
    "first_day:int end_day:int end_minute:time window_days:int dead_stock_days:int",
)

DAILY, MINUTES, WINDOW, FORECAST = "daily", "minutes", "window", "forecast"
TOTALS, REVIEW = "totals", "review"
Rows = sa.Select[*tuple[Any, ...]]
Point = TypeVar("Point", int, dt.datetime)


@dataclass(frozen=True)
class Coverage:
    """What the store holds: whole days [first_day, end_day), minutes [first_minute,
    end_minute), and the window sums as of ``window_day`` (None: not computed)."""

    first_day: int | None
    end_day: int | None
    first_minute: dt.datetime | None
    end_minute: dt.datetime | None
    window_day: int | None
    window_days: int | None
    dead_stock_days: int | None
    computed_at: dt.datetime | None
    # The last whole day the newest forecasts read (None: never forecast).
    forecast_day: int | None = None

    def covered_days(self, start: int, end: int) -> tuple[int, int] | None:
        """The part of days [start, end) the daily tables hold, None when none."""
        if self.first_day is None or self.end_day is None:
            return None
        return overlap((start, end), (self.first_day, self.end_day))

    def covered_minutes(
        self, start: dt.datetime, end: dt.datetime
    ) -> tuple[dt.datetime, dt.datetime] | None:
        if self.first_minute is None or self.end_minute is None:
            return None
        # Whole minutes only: a stored minute counts all of its orders.
        whole_start = start.replace(second=0, microsecond=0)
        if whole_start < start:
            whole_start += dt.timedelta(minutes=1)
        whole_end = end.replace(second=0, microsecond=0)
        return overlap((whole_start, whole_end), (self.first_minute, self.end_minute))


NO_COVERAGE = Coverage(None, None, None, None, None, None, None, None)


def overlap(wanted: tuple[Point, Point], held: tuple[Point, Point]) -> tuple[Point, Point] | None:
    """The part of [wanted) inside [held), None when they do not meet."""
    low, high = max(wanted[0], held[0]), min(wanted[1], held[1])
    return (low, high) if low < high else None


def uncovered(
    start: Point, end: Point, covered: tuple[Point, Point] | None
) -> list[tuple[Point, Point]]:
    """The parts of [start, end) outside ``covered`` (at most two ranges, in order)."""
    if covered is None:
        return [(start, end)] if start < end else []
    low, high = covered
    parts = []
    if start < low:
        parts.append((start, low))
    if high < end:
        parts.append((high, end))
    return parts


@dataclass(frozen=True)
class RollupReport:
    """What one ``refresh_rollups`` run did."""

    days: tuple[int, int]  # recomputed whole days [first, end)
    minutes: tuple[dt.datetime, dt.datetime]  # recomputed minutes [first, end)
    demand_rows: int
    movement_rows: int
    minute_rows: int
    window_rows: int
    elapsed_seconds: float
    # The review's daily totals recomputed from this day on, and its stock-outs' day when this
    # run computed them (None: the stored ones were still of today).
    totals_from: int | None = None
    review_day: int | None = None

    def __str__(self) -> str:
        first, end = (midnight(day).date() for day in self.days)
        return (
            f"roll-ups recomputed for {first} .. {end} (exclusive; {self.demand_rows:,} demand "
            f"and {self.movement_rows:,} movement rows), minutes up to "
            f"{self.minutes[1]:%Y-%m-%d %H:%M} UTC ({self.minute_rows:,} rows), window sums "
            f"for {self.window_rows:,} SKU x warehouse pairs"
            + (
                ""
                if self.totals_from is None
                else f", review totals from {midnight(self.totals_from).date()}"
            )
            + (" and the review's stock-outs" if self.review_day is not None else "")
            + f", in {self.elapsed_seconds:.1f} s"
        )


class RollupStore:
    """The roll-up tables in the database behind ``engine`` (a store invdash owns)."""

    name = "roll-up store"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self) -> None:
        """Create the tables that are missing (``invdash rollup`` does; readers never write)."""
        STORE.create_all(self.engine)

    def coverage(self, conn: Connection | None = None) -> Coverage:
        """What the store covers; ``NO_COVERAGE`` when its tables do not exist (yet)."""
        if conn is None:
            with self.engine.connect() as own:
                return self.coverage(own)
        if not sa.inspect(conn).has_table(coverage.name):
            return NO_COVERAGE
        rows = {row.name: row for row in conn.execute(sa.select(coverage))}
        daily, minutes, window = rows.get(DAILY), rows.get(MINUTES), rows.get(WINDOW)
        forecast = rows.get(FORECAST)
        first_minute = None
        if minutes is not None and minutes.first_day is not None:
            first_minute = midnight(minutes.first_day)
        return Coverage(
            first_day=daily.first_day if daily else None,
            end_day=daily.end_day if daily else None,
            first_minute=first_minute,
            end_minute=minutes.end_minute if minutes else None,
            window_day=window.end_day if window else None,
            window_days=window.window_days if window else None,
            dead_stock_days=window.dead_stock_days if window else None,
            computed_at=daily.computed_at if daily else None,
            forecast_day=forecast.first_day if forecast else None,
        )

    def check_health(self, now: dt.datetime | None = None) -> Health:
        """ok when the store answers; the message says how far its tables reach."""
        details = {"url": self.engine.url.render_as_string(hide_password=True)}
        try:
            found = self.coverage()
        except Exception as error:
            return Health("error", f"roll-up store unreachable: {describe_failure(error)}", details)
        if found.computed_at is None:
            return Health(
                "ok",
                "roll-up store empty: figures come from live queries (run invdash rollup)",
                details,
            )
        moment = naive_utc(now or dt.datetime.now(dt.UTC))
        age = moment - found.computed_at
        details["computed_at"] = f"{found.computed_at:%Y-%m-%d %H:%M:%S}"
        return Health(
            "ok",
            f"roll-ups computed {_age(age)} ago, up to {found.end_minute:%Y-%m-%d %H:%M} UTC",
            details,
        )


def _age(age: dt.timedelta) -> str:
    seconds = max(0, int(age.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


# --- Aggregates read from the inventory database --------------------------------------------


def _per_pair_and_day(
    moment: InstrumentedAttribute[dt.datetime],
    sku: InstrumentedAttribute[int],
    warehouse: InstrumentedAttribute[int],
    *figures: sa.ColumnElement[Any],
) -> Rows:
    """``figures`` per SKU x warehouse x UTC day of ``moment`` (columns day, the SKU's and the
    warehouse's, then the figures)."""
    return sa.select(day_number(moment).label("day"), sku, warehouse, *figures).group_by(
        sa.literal_column("day"), sku, warehouse
    )


def demand_by_day(first: int, end: int) -> Rows:
    """Per SKU x warehouse x day in [first, end): units ordered and shipped on the not
    cancelled order lines placed that day."""
    return (
        _per_pair_and_day(
            SalesOrder.ordered_at,
            SalesOrderLine.sku_id,
            SalesOrder.warehouse_id,
            sa.func.sum(SalesOrderLine.quantity).label("units_ordered"),
            sa.func.sum(SalesOrderLine.quantity_shipped).label("units_shipped"),
        )
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.sales_order_id)
        .where(
            SalesOrder.ordered_at >= midnight(first),
            SalesOrder.ordered_at < midnight(end),
            SalesOrder.status != "cancelled",
        )
    )


def movements_by_day(first: int, end: int) -> Rows:
    """Per SKU x warehouse x day in [first, end): net quantity, shipped units, latest outbound."""
    outbound = sa.and_(StockMovement.quantity < 0, StockMovement.kind.in_(OUTBOUND_KINDS))
    shipped = sa.case((StockMovement.kind == "shipment", -StockMovement.quantity), else_=0)
    return _per_pair_and_day(
        StockMovement.moved_at,
        StockMovement.sku_id,
        StockMovement.warehouse_id,
        sa.func.sum(StockMovement.quantity).label("net_quantity"),
        sa.func.sum(shipped).label("shipped_units"),
        sa.func.max(sa.case((outbound, StockMovement.moved_at))).label("last_outbound_at"),
    ).where(StockMovement.moved_at >= midnight(first), StockMovement.moved_at < midnight(end))


def orders_by_minute(start: dt.datetime, end: dt.datetime, into: str | None = None) -> Rows:
    """Per minute in [start, end): order lines, units and orders placed (cancelled included).

    The minute is ISO text. ``into`` (a dialect name) shapes it for an INSERT ... SELECT into
    a DateTime column: a timestamp on PostgreSQL; on SQLite the text SQLAlchemy itself writes
    (with microseconds), so that stored minutes compare with bound datetimes as they should.
    """
    minute: sa.ColumnElement[Any] = minute_start(SalesOrder.ordered_at)
    if into == "postgresql":
        minute = sa.cast(minute, sa.DateTime)
    elif into == "sqlite":
        minute = minute.concat(".000000")
    minute = minute.label("minute")
    return (
        sa.select(
            minute,
            sa.func.count(SalesOrderLine.id).label("order_lines"),
            sa.func.sum(SalesOrderLine.quantity).label("units"),
            sa.func.count(sa.distinct(SalesOrder.id)).label("orders"),
        )
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.sales_order_id)
        .where(SalesOrder.ordered_at >= start, SalesOrder.ordered_at < end)
        .group_by(sa.literal_column("minute"))
    )


# --- Keeping the store -------------------------------------------------------------------------


def refresh_rollups(
    inventory: Engine,
    store: RollupStore,
    now: dt.datetime,
    *,
    recompute_days: int = DEFAULT_RECOMPUTE_DAYS,
    window_days: int = 56,
    dead_stock_days: int = 90,
) -> RollupReport:
    """Bring the store up to ``now``: recompute the trailing ``recompute_days`` whole days (and
    any days since the last run) of the daily tables and minutes of the per-minute table, then
    the window sums as of ``now``'s day for the given demand window and dead-stock period.

    The first run fills the whole history. Each table's rows are replaced in one transaction,
    so readers see the old or the new roll-ups, never a mix. Reads the inventory database only.
    """
    if recompute_days < 1:
        raise ValueError(f"recompute_days must be at least 1, got {recompute_days}")
    started = time.perf_counter()
    moment = naive_utc(now)
    today = day_of(moment)
    this_minute = moment.replace(second=0, microsecond=0)
    store.create()
    with store.engine.connect() as conn:
        found = store.coverage(conn)
    with inventory.connect() as source:
        first_day = found.first_day if found.first_day is not None else _first_day(source, today)
    redo_from = first_day
    if found.end_day is not None:
        redo_from = max(first_day, min(today - recompute_days, found.end_day))
    minute_from = midnight(redo_from)
    if found.end_minute is not None:
        minute_from = max(midnight(first_day), min(minute_from, found.end_minute))
    # One write transaction for the store. In the inventory database's own file or server the
    # aggregates go straight in (INSERT ... SELECT); from another database each chunk is read on
    # a connection of its own and given back at once.
    same_database = _same_database(inventory, store.engine)
    with store.engine.begin() as conn:
        mover = _Mover(conn, inventory, same_database)
        conn.execute(sa.delete(daily_demand).where(daily_demand.c.day >= redo_from))
        conn.execute(sa.delete(daily_movements).where(daily_movements.c.day >= redo_from))
        conn.execute(sa.delete(minute_orders).where(minute_orders.c.minute >= minute_from))
        demand_rows = movement_rows = 0
        for start in range(redo_from, today, FILL_CHUNK_DAYS):
            end = min(today, start + FILL_CHUNK_DAYS)
            demand_rows += mover.move(daily_demand, demand_by_day(start, end))
            movement_rows += mover.move(daily_movements, movements_by_day(start, end))
        minute_rows = mover.move(
            minute_orders, orders_by_minute(minute_from, this_minute, conn.dialect.name)
        )
        set_coverage(conn, DAILY, moment, first_day=first_day, end_day=today)
        set_coverage(conn, MINUTES, moment, first_day=first_day, end_minute=this_minute)
    totals_from, review_day = _refresh_review(inventory, store, moment, first_day, recompute_days)
    with store.engine.begin() as conn:
        sums = daily_pair_sums(conn, today, window_days, dead_stock_days, (first_day, today))
        conn.execute(sa.delete(window_sums))
        window_rows = insert_rows(conn, window_sums, store_records(sums))
        set_coverage(
            conn,
            WINDOW,
            moment,
            end_day=today,
            window_days=window_days,
            dead_stock_days=dead_stock_days,
        )
    return RollupReport(
        days=(redo_from, today),
        minutes=(minute_from, this_minute),
        demand_rows=demand_rows,
        movement_rows=movement_rows,
        minute_rows=minute_rows,
        window_rows=window_rows,
        elapsed_seconds=time.perf_counter() - started,
        totals_from=totals_from,
        review_day=review_day,
    )


def _refresh_review(
    inventory: Engine, store: RollupStore, moment: dt.datetime, first_day: int, recompute_days: int
) -> tuple[int, int | None]:
    """The executive review's roll-ups: the daily totals of the trailing days (every day when a
    unit cost or price changed since they were valued), and once a day the stock-out changes
    of every review series as of today. Returns where the totals were recomputed from and the
    day of the stock-outs when this run computed them."""
    today = day_of(moment)
    with store.engine.connect() as conn:
        found = review_coverage(conn)
    with inventory.connect() as source:
        basis = CostBasis.of(source.execute(cost_basis()).one())
    totals_from = first_day
    if found.totals is not None and found.basis == basis:
        totals_from = max(first_day, min(today - recompute_days, found.totals[1]))
    same_database = _same_database(inventory, store.engine)
    with store.engine.begin() as conn:
        before = _stock_out_inputs_from(conn, totals_from)
        mover = _Mover(conn, inventory, same_database)
        for table in (daily_movement_totals, daily_order_totals):
            conn.execute(sa.delete(table).where(table.c.day >= totals_from))
        for start in range(totals_from, today, FILL_CHUNK_DAYS):
            end = min(today, start + FILL_CHUNK_DAYS)
            mover.move(daily_movement_totals, movement_totals([(start, end)], end))
            mover.move(daily_order_totals, order_totals(start, end))
        conn.execute(sa.delete(cost_basis_table))
        conn.execute(sa.insert(cost_basis_table).values(name=TOTALS, **basis.values()))
        set_coverage(conn, TOTALS, moment, first_day=first_day, end_day=today)
        # Days before today that changed since the last run (a back-dated movement or a
        # cancellation) change the stock-outs too; otherwise those are good for the day.
        changed = before != _stock_out_inputs_from(conn, totals_from)
    if found.review_day == today and not changed:
        return totals_from, None
    firsts = [today - days for days in REVIEW_SERIES_DAYS]
    with inventory.connect() as source:
        if source.dialect.name == "postgresql":
            # As queries.kpis does for the same statement: merge joins, not spilling hash joins.
            source.exec_driver_sql("SET LOCAL enable_hashjoin = off")
        changes = rows_of(source, stockout_changes(firsts, today, source.dialect.name))
    records = [
        {"series_days": today - int(first), "day": int(day), "change": int(change)}
        for first, day, change in changes.itertuples(index=False, name=None)
    ]
    with store.engine.begin() as conn:
        conn.execute(sa.delete(review_stockouts))
        insert_rows(conn, review_stockouts, records)
        set_coverage(conn, REVIEW, moment, end_day=today)
    return totals_from, today


def _first_day(conn: Connection, today: int) -> int:
    """The first day with an order or a movement (today for an empty database)."""
    firsts = conn.execute(
        sa.select(
            sa.select(sa.func.min(SalesOrder.ordered_at)).scalar_subquery(),
            sa.select(sa.func.min(StockMovement.moved_at)).scalar_subquery(),
        )
    ).one()
    days = [day_of(pd.Timestamp(first).to_pydatetime()) for first in firsts if first is not None]
    return min([*days, today])


def _same_database(inventory: Engine, store: Engine) -> bool:
    return inventory.url.render_as_string(hide_password=False) == store.url.render_as_string(
        hide_password=False
    )


class _Mover:
    """Moves a query's rows from the inventory database into a store table."""

    def __init__(self, conn: Connection, inventory: Engine, same_database: bool) -> None:
        self.conn = conn
        self.inventory = inventory
        self.same_database = same_database

    def move(self, table: sa.Table, query: Rows) -> int:
        if self.same_database:
            names = list(query.selected_columns.keys())
            result = self.conn.execute(table.insert().from_select(names, query))
            return max(0, result.rowcount)
        with self.inventory.connect() as source:
            rows = rows_of(source, query)
        if table is minute_orders:
            rows = rows.assign(minute=pd.to_datetime(rows["minute"]))
        return insert_rows(self.conn, table, store_records(rows))


def store_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows for an insert: numbers as Python floats and ints, NaT/NaN as NULL."""
    out: list[dict[str, Any]] = []
    columns = list(frame.columns)
    for values in frame.itertuples(index=False, name=None):
        record: dict[str, Any] = {}
        for column, value in zip(columns, values, strict=True):
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                record[column] = None
            elif column in ("day", "sku_id", "warehouse_id", "order_lines", "orders", "as_of_day"):
                record[column] = int(value)
            elif isinstance(value, str):
                record[column] = value
            elif column in ("last_outbound_at", "minute"):
                record[column] = pd.Timestamp(value).to_pydatetime()
            else:
                record[column] = float(value)
        out.append(record)
    return out


def insert_rows(conn: Connection, table: sa.Table, records: list[dict[str, Any]]) -> int:
    if records:
        conn.execute(table.insert(), records)
    return len(records)


def set_coverage(conn: Connection, name: str, computed_at: dt.datetime, **values: Any) -> None:
    conn.execute(sa.delete(coverage).where(coverage.c.name == name))
    conn.execute(sa.insert(coverage).values(name=name, computed_at=computed_at, **values))


# --- Reading the store -------------------------------------------------------------------------


def daily_pair_sums(
    conn: Connection,
    today: int,
    window_days: int,
    dead_stock_days: int,
    days: tuple[int, int],
    sku_ids: list[int] | None = None,
) -> pd.DataFrame:
    """Per SKU x warehouse (of ``sku_ids``, None: every one), the window sums (``queries.
    inventory.PAIR_STATS``) of the daily tables' days [days[0], days[1]) for the demand window
    [today - window_days, today).

    ``last_outbound_at`` is the latest outbound of those days from ``today - dead_stock_days - 1``
    on: the caller keeps it only when it falls in its dead-stock period (the period starts at
    a time of day, so the day before it is read too).
    """
    first, end = days
    window_start = today - window_days
    in_window = sa.and_(daily_demand.c.day >= window_start, daily_demand.c.day < today)
    demand = (
        sa.select(
            daily_demand.c.sku_id,
            daily_demand.c.warehouse_id,
            sa.func.sum(daily_demand.c.units_ordered).label("demand_sum"),
            sa.func.sum(daily_demand.c.units_ordered * daily_demand.c.units_ordered).label(
                "demand_sum_squares"
            ),
            sa.func.sum(daily_demand.c.units_shipped).label("units_shipped_window"),
        )
        .where(
            in_window,
            daily_demand.c.day >= first,
            daily_demand.c.day < end,
            among(daily_demand.c.sku_id, sku_ids),
        )
        .group_by(daily_demand.c.sku_id, daily_demand.c.warehouse_id)
    )
    day = daily_movements.c.day
    moves_in_window = sa.and_(day >= window_start, day < today)
    movements = (
        sa.select(
            daily_movements.c.sku_id,
            daily_movements.c.warehouse_id,
            sa.func.sum(
                sa.case((moves_in_window, daily_movements.c.shipped_units), else_=0.0)
            ).label("shipped_units"),
            sa.func.sum(
                sa.case(
                    (day < window_start, 0.0),
                    (day >= today, daily_movements.c.net_quantity * window_days),
                    else_=daily_movements.c.net_quantity * (day - window_start),
                )
            ).label("weighted_movement"),
            unparsed(
                sa.func.max(
                    sa.case(
                        (day >= today - dead_stock_days - 1, daily_movements.c.last_outbound_at)
                    )
                ),
                "last_outbound_at",
            ),
        )
        .where(
            day >= min(window_start, today - dead_stock_days - 1),
            day >= first,
            day < end,
            among(daily_movements.c.sku_id, sku_ids),
        )
        .group_by(daily_movements.c.sku_id, daily_movements.c.warehouse_id)
    )
    return merge_pair_sums([rows_of(conn, demand), rows_of(conn, movements)])


PAIR = ["sku_id", "warehouse_id"]
SUMMED = [
    "demand_sum",
    "demand_sum_squares",
    "units_shipped_window",
    "shipped_units",
    "weighted_movement",
]


def merge_pair_sums(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Add up per SKU x warehouse sums of disjoint day ranges: sums added, latest outbound kept.

    Columns of the result: sku_id, warehouse_id (int), the ``SUMMED`` columns (float, 0 where a
    part had no row) and last_outbound_at (datetime64[ns], NaT without one).
    """
    parts = []
    for frame in frames:
        if frame.empty:
            continue
        part = frame.copy()
        for column in SUMMED:
            if column in part:
                part[column] = part[column].astype("float64")
        if "last_outbound_at" in part:
            part["last_outbound_at"] = to_datetimes(part["last_outbound_at"])
        parts.append(part)
    if not parts:
        empty = pd.DataFrame({column: pd.Series(dtype="int64") for column in PAIR})
        for column in SUMMED:
            empty[column] = pd.Series(dtype="float64")
        empty["last_outbound_at"] = pd.Series(dtype="datetime64[ns]")
        return empty
    joined = pd.concat(parts, ignore_index=True)
    for column in [*SUMMED]:
        if column not in joined:
            joined[column] = 0.0
    if "last_outbound_at" not in joined:
        joined["last_outbound_at"] = pd.Series(pd.NaT, index=joined.index, dtype="datetime64[ns]")
    joined[PAIR] = joined[PAIR].astype("int64")
    grouped = joined.groupby(PAIR, sort=True).agg(
        {**{column: "sum" for column in SUMMED}, "last_outbound_at": "max"}
    )
    return grouped.reset_index()


def stored_window_sums(conn: Connection, sku_ids: list[int] | None = None) -> pd.DataFrame:
    """The window sums table (its rows of ``sku_ids``, None: every row) as ``merge_pair_sums``
    frames it."""
    columns = [c for c in window_sums.c if c.name != "last_outbound_at"]
    query = sa.select(*columns, unparsed(window_sums.c.last_outbound_at, "last_outbound_at")).where(
        among(window_sums.c.sku_id, sku_ids)
    )
    return merge_pair_sums([rows_of(conn, query)])


def stored_minutes(conn: Connection, start: dt.datetime, end: dt.datetime) -> list[Any]:
    """Per-minute order volume of [start, end) from the store: rows of ``orders_by_minute``'s
    columns (the minute a datetime)."""
    query = sa.select(
        minute_orders.c.minute,
        minute_orders.c.order_lines,
        minute_orders.c.units,
        minute_orders.c.orders,
    ).where(minute_orders.c.minute >= start, minute_orders.c.minute < end)
    return list(conn.execute(query).all())


def _stock_out_inputs_from(conn: Connection, first: int) -> list[tuple[Any, ...]]:
    """What the stock-outs depend on among the stored daily totals from day ``first`` on: the
    units moved and the (not cancelled) order lines placed per day. Equal lists mean no
    back-dated movement or cancellation (the same statement over the same rows gives the same
    sums); unit costs and later shipments of past orders leave them alone."""
    movements = sa.select(daily_movement_totals.c.day, daily_movement_totals.c.units_moved)
    lines = sa.select(daily_order_totals.c.day, daily_order_totals.c.order_lines)
    return [
        *(
            tuple(row)
            for row in conn.execute(
                movements.where(daily_movement_totals.c.day >= first).order_by("day")
            )
        ),
        *(
            tuple(row)
            for row in conn.execute(lines.where(daily_order_totals.c.day >= first).order_by("day"))
        ),
    ]


@dataclass(frozen=True)
class CostBasis:
    """The fingerprint of the unit costs and prices (``queries.daily_review.cost_basis``)."""

    sku_count: int
    cost_checksum: float
    price_checksum: float

    @classmethod
    def of(cls, row: Any) -> CostBasis:
        return cls(int(row.sku_count), float(row.cost_checksum), float(row.price_checksum))

    def values(self) -> dict[str, Any]:
        return {
            "sku_count": self.sku_count,
            "cost_checksum": self.cost_checksum,
            "price_checksum": self.price_checksum,
        }


@dataclass(frozen=True)
class ReviewCoverage:
    """What the store holds for the executive review: daily totals of days [totals[0],
    totals[1]) valued at ``basis``, and the review series' stock-outs as of ``review_day``."""

    totals: tuple[int, int] | None
    basis: CostBasis | None
    review_day: int | None

    def covered_days(self, start: int, end: int) -> tuple[int, int] | None:
        """The part of days [start, end) the daily totals hold, None when none."""
        return None if self.totals is None else overlap((start, end), self.totals)


NO_REVIEW = ReviewCoverage(None, None, None)


def review_coverage(conn: Connection) -> ReviewCoverage:
    """The review's part of the store; ``NO_REVIEW`` when its tables do not exist (yet)."""
    inspector = sa.inspect(conn)
    if not all(
        inspector.has_table(table.name) for table in (coverage, cost_basis_table, review_stockouts)
    ):
        return NO_REVIEW
    rows = {
        row.name: row
        for row in conn.execute(sa.select(coverage).where(coverage.c.name.in_([TOTALS, REVIEW])))
    }
    totals, review = rows.get(TOTALS), rows.get(REVIEW)
    basis = conn.execute(sa.select(cost_basis_table)).first()
    return ReviewCoverage(
        totals=(totals.first_day, totals.end_day)
        if totals is not None and totals.first_day is not None and totals.end_day is not None
        else None,
        basis=CostBasis.of(basis) if basis is not None else None,
        review_day=review.end_day if review is not None else None,
    )


def stored_review_totals(
    conn: Connection, days: tuple[int, int]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The stored movement and order totals of days [days[0], days[1]), columns as
    ``queries.daily_review.movement_totals`` and ``order_totals``."""
    low, high = days
    frames = []
    for table in (daily_movement_totals, daily_order_totals):
        query = sa.select(table).where(table.c.day >= low, table.c.day < high)
        frames.append(rows_of(conn, query))
    return frames[0], frames[1]


def stored_review_stockouts(conn: Connection, series_days: int) -> pd.DataFrame:
    """The stored stock-out changes of the series of ``series_days`` days (columns day,
    change), as of the review coverage's day."""
    query = sa.select(review_stockouts.c.day, review_stockouts.c.change).where(
        review_stockouts.c.series_days == series_days
    )
    return rows_of(conn, query)
