"""The query floor: each panel query of invdash against the best hand-written SQL that returns
the same numbers, on the same database in the same run.

The hand-written SQL lives in ``bench/floor_sql/<layout>/`` as one file per query
(``<query>.<dialect>.sql``, or ``<query>.sql`` when one text serves both, the lines of one
dialect alone between ``-- if <dialect>`` and ``-- end if``), with named parameters
(``bench/floor_sql/README.md`` lists them). ``raw`` reads the schema's own tables. When invdash
reads other tables (roll-ups it keeps itself), write a layout that reads those same tables and
run with ``--floor-layout NAME``: a floor must read what the implementation reads, and it is
checked to return invdash's numbers (``FloorMismatch`` otherwise), or the ratio would mean
nothing.

invdash's side is always its public source methods, cold: no cache, each call a new query.
What is compared is what the database computes (sums, counts, dates); invdash's per-row
mathematics on top of them (stockout probability, EOQ, ...) is pandas, and is in invdash's time.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from queries.daily_review import PERIOD_DAYS, Period
from queries.inventory import InventoryPolicy, InventorySource
from queries.kpis import ExecutiveKpiSource

FLOOR_SQL = Path(__file__).resolve().parent / "floor_sql"
EPOCH = dt.date(1970, 1, 1)
RELATIVE_TOLERANCE = 1e-9
ABSOLUTE_TOLERANCE = 1e-6


class FloorMismatch(AssertionError):
    """The hand-written SQL does not return invdash's numbers: its time is no floor."""


@dataclass(frozen=True)
class FloorFigure:
    """Seconds of invdash's public method and of the floor SQL: the fastest of ``repeat`` runs."""

    query: str
    invdash_seconds: float
    floor_seconds: float
    rows: int
    repeat: int
    # Set when a statement of either ran past the engine's statement timeout (seconds): then
    # neither time was measured, and the report says so instead of a ratio.
    timed_out_after: float | None = None

    @property
    def ratio(self) -> float:
        if self.timed_out_after is not None:
            return math.nan
        return self.invdash_seconds / self.floor_seconds


def statement_timed_out(error: sa.exc.DBAPIError) -> bool:
    """Whether the database cancelled a statement for running past its timeout."""
    text = str(error.orig).lower()
    return "statement timeout" in text or "interrupted" in text


DIALECTS = ("postgresql", "sqlite")
# A floor file's lines for one dialect alone: from "-- if <dialect>" to the next marker.
_DIALECT_MARKER = re.compile(r"--\s*(?:if\s+(?P<dialect>\w+)|end\s+if)")


def dialect_statement(path: Path, dialect: str) -> str:
    """The statement of a floor SQL file for ``dialect``: its lines outside ``-- if`` blocks and
    those of the ``-- if <dialect>`` blocks, comment lines left out (they may name parameters,
    ":start", which are not bound, so not sent)."""
    kept: list[str] = []
    only: str | None = None  # the dialect of the block the line is in, None outside blocks
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        marker = _DIALECT_MARKER.fullmatch(line.strip())
        if marker is not None:
            only = marker["dialect"]
            if only is not None and only not in DIALECTS:
                raise ValueError(f"{path}:{number}: no dialect {only!r} (one of {DIALECTS})")
        elif not line.lstrip().startswith("--") and only in (None, dialect):
            kept.append(line)
    if only is not None:
        raise ValueError(f"{path}: the -- if {only} block has no -- end if")
    return "\n".join(kept)


class FloorSql:
    """The floor statements of one layout for one dialect."""

    def __init__(self, layout: str, dialect: str) -> None:
        self.directory = FLOOR_SQL / layout
        if not self.directory.is_dir():
            raise ValueError(f"no floor SQL layout {layout!r} under {FLOOR_SQL}")
        self.dialect = dialect

    def text(self, query: str) -> sa.TextClause:
        for name in (f"{query}.{self.dialect}.sql", f"{query}.sql"):
            path = self.directory / name
            if path.is_file():
                return sa.text(dialect_statement(path, self.dialect))
        raise FileNotFoundError(f"no floor SQL for {query} ({self.dialect}) in {self.directory}")

    def rows(self, conn: sa.Connection, query: str, **params: Any) -> list[Any]:
        return list(conn.execute(self.text(query), params).all())


def _midnight(day: int) -> dt.datetime:
    return dt.datetime.combine(EPOCH + dt.timedelta(days=day), dt.time())


def _day(moment: dt.datetime) -> int:
    return (moment.date() - EPOCH).days


def _timestamp(moment: dt.datetime, dialect: str) -> Any:
    # SQLite keeps SQLAlchemy's DateTime as ISO text with microseconds: compare text with text.
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f") if dialect == "sqlite" else moment


def _date(day: dt.date, dialect: str) -> Any:
    return day.isoformat() if dialect == "sqlite" else day


def _julian_day(moment: dt.datetime) -> float:
    return (moment - dt.datetime(1970, 1, 1)).total_seconds() / 86400.0 + 2440587.5


# --- The floor statements, with invdash's parameters ----------------------------------------


def floor_positions(
    sql: FloorSql, conn: sa.Connection, as_of: dt.datetime, policy: InventoryPolicy
) -> list[Any]:
    window = policy.demand_window_days
    today = _day(as_of)
    window_start, window_end = _midnight(today - window), _midnight(today)
    dead_start = as_of - dt.timedelta(days=policy.dead_stock_days)
    history_start = min(window_start, dead_start)
    d = sql.dialect
    return sql.rows(
        conn,
        "positions",
        window_start=_timestamp(window_start, d),
        window_end=_timestamp(window_end, d),
        window_days=window,
        window_start_jd=_julian_day(window_start),
        dead_start=_timestamp(dead_start, d),
        history_start=_timestamp(history_start, d),
        as_of=_timestamp(as_of, d),
    )


def floor_expiring_lots(
    sql: FloorSql, conn: sa.Connection, as_of: dt.datetime, within_days: int = 90
) -> list[Any]:
    today = as_of.date()
    until = today + dt.timedelta(days=within_days + 1)
    return sql.rows(
        conn, "expiring_lots", today=_date(today, sql.dialect), until=_date(until, sql.dialect)
    )


def floor_warehouses(sql: FloorSql, conn: sa.Connection) -> list[Any]:
    return sql.rows(conn, "warehouses")


def floor_order_lines_per_minute(
    sql: FloorSql, conn: sa.Connection, start: dt.datetime, end: dt.datetime
) -> list[Any]:
    d = sql.dialect
    return sql.rows(
        conn, "order_lines_per_minute", start=_timestamp(start, d), end=_timestamp(end, d)
    )


@dataclass(frozen=True)
class FloorDaily:
    """The daily series' numbers, by day number, as the floor statements return them."""

    stock_value: float
    stock_units: float
    moved: dict[int, tuple[float, float, float, float]]  # value, units, cogs, revenue
    ordered: dict[int, tuple[float, float, int, int]]  # units, shipped, lines, orders
    stockout_changes: dict[int, int]
    first: int
    today: int

    def rows(self) -> list[dict[str, float]]:
        """One dict per day of [first, today), with daily_series' columns (day as a number)."""
        later_value = later_units = 0.0
        # Movements after day d: the bucket of today and later, then every day back to d + 1.
        after: dict[int, tuple[float, float]] = {}
        for day in range(self.today, self.first - 1, -1):
            after[day] = (later_value, later_units)
            value, units, _, _ = self.moved.get(day, (0.0, 0.0, 0.0, 0.0))
            later_value += value
            later_units += units
        running = 0
        stockouts: dict[int, int] = {}
        for day in range(self.first, self.today):
            running += self.stockout_changes.get(day, 0)
            stockouts[day] = running
        rows = []
        for day in range(self.first, self.today):
            _, _, cogs, revenue = self.moved.get(day, (0.0, 0.0, 0.0, 0.0))
            units_ordered, units_shipped, lines, orders = self.ordered.get(day, (0.0, 0.0, 0, 0))
            rows.append(
                {
                    "day": float(day),
                    "inventory_value": self.stock_value - after[day][0],
                    "units_on_hand": self.stock_units - after[day][1],
                    "cogs": cogs,
                    "revenue": revenue,
                    "units_ordered": units_ordered,
                    "units_shipped": units_shipped,
                    "order_lines": float(lines),
                    "orders": float(orders),
                    "stockout_rows": float(stockouts[day]),
                }
            )
        return rows


def floor_daily_series(
    sql: FloorSql, conn: sa.Connection, as_of: dt.datetime, days: int
) -> FloorDaily:
    today = _day(as_of)
    first = today - days
    d = sql.dialect
    stock = sql.rows(conn, "daily_stock_now")[0]
    moved = sql.rows(
        conn,
        "daily_movements",
        first_ts=_timestamp(_midnight(first), d),
        today_text=_midnight(today).date().isoformat(),
        today_day=today,
    )
    ordered = sql.rows(
        conn,
        "daily_orders",
        first_ts=_timestamp(_midnight(first), d),
        today_ts=_timestamp(_midnight(today), d),
    )
    if d == "postgresql":
        # The planner setting invdash gives this statement (queries/kpis.py): the floor is the
        # best SQL, and with hash joins the same statement takes minutes at the l scale.
        conn.exec_driver_sql("SET LOCAL enable_hashjoin = off")
    changes = sql.rows(
        conn,
        "daily_stockout_changes",
        first_ts=_timestamp(_midnight(first), d),
        first1_ts=_timestamp(_midnight(first + 1), d),
        today_ts=_timestamp(_midnight(today), d),
        first_day=first,
        today_day=today,
    )
    return FloorDaily(
        stock_value=float(stock[0]),
        stock_units=float(stock[1]),
        moved={int(r[0]): (float(r[1]), float(r[2]), float(r[3]), float(r[4])) for r in moved},
        ordered={int(r[0]): (float(r[1]), float(r[2]), int(r[3]), int(r[4])) for r in ordered},
        stockout_changes={int(r[0]): int(r[1]) for r in changes},
        first=first,
        today=today,
    )


# --- Same numbers? --------------------------------------------------------------------------


def _close(a: object, b: object) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
        return (a is None or (isinstance(a, float) and math.isnan(a))) and (
            b is None or (isinstance(b, float) and math.isnan(b))
        )
    return math.isclose(float(a), float(b), rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_TOLERANCE)  # type: ignore[arg-type]


def _compare(query: str, expected: pd.DataFrame, found: pd.DataFrame, key: Sequence[str]) -> None:
    if len(expected) != len(found):
        raise FloorMismatch(f"{query}: invdash has {len(expected)} rows, the floor {len(found)}")
    expected = expected.reset_index(drop=True)
    found = found.reset_index(drop=True)
    for column in found.columns:
        for index, (a, b) in enumerate(zip(expected[column], found[column], strict=True)):
            if column in key:
                if str(a) != str(b):
                    raise FloorMismatch(
                        f"{query}: row {index} is {a!r} in invdash, {b!r} in the floor"
                    )
            elif not _close(_plain(a), _plain(b)):
                names = {k: expected.loc[index, k] for k in key}
                raise FloorMismatch(f"{query}: {column} of {names}: invdash {a!r}, floor {b!r}")


def _plain(value: object) -> object:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | dt.datetime):
        return pd.Timestamp(value).value / 1e9
    if isinstance(value, str):
        return pd.Timestamp(value).value / 1e9
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return value
    return None if math.isnan(number) else number


def check_positions(invdash: pd.DataFrame, floor: list[Any], policy: InventoryPolicy) -> None:
    window = float(policy.demand_window_days)
    rows = []
    for r in floor:
        demand_sum, squares = float(r.demand_sum), float(r.demand_sum_squares)
        mean = demand_sum / window
        variance = max((squares - window * mean**2) / (window - 1), 0.0)
        rows.append(
            {
                "sku_code": r.sku_code,
                "warehouse_code": r.warehouse_code,
                "unit_cost": r.unit_cost,
                "unit_price": r.unit_price,
                "on_hand": r.on_hand,
                "reserved": r.reserved,
                "on_order": r.on_order,
                "units_ordered_window": demand_sum,
                "mean_daily_demand": mean,
                "sd_daily_demand": math.sqrt(variance),
                "units_shipped_window": r.units_shipped_window,
                "lead_time_days": r.lead_time_days,
                "sd_lead_time_days": r.sd_lead_time_days,
                "shelf_life_days": r.shelf_life_days,
                "cogs_window": float(r.shipped_units) * float(r.unit_cost),
                "avg_on_hand_window": float(r.on_hand) - float(r.weighted_movement) / window,
                "last_outbound_at": r.last_outbound_at,
            }
        )
    found = pd.DataFrame(rows)
    _compare("positions", invdash[list(found.columns)], found, ("sku_code", "warehouse_code"))


def check_lots(invdash: pd.DataFrame, floor: list[Any]) -> None:
    found = pd.DataFrame([r._asdict() for r in floor])
    columns = [
        "sku_code",
        "warehouse_code",
        "lot_code",
        "quantity",
        "unit_cost",
        "value",
        "days_to_expiry",
    ]
    if found.empty:
        found = pd.DataFrame(columns=columns)
    _compare("lots", invdash[columns], found[columns], ("sku_code", "warehouse_code", "lot_code"))


def check_warehouses(invdash: pd.DataFrame, floor: list[Any]) -> None:
    found = pd.DataFrame([r._asdict() for r in floor])
    _compare(
        "warehouses",
        invdash[list(found.columns)],
        found,
        ("warehouse_code", "warehouse_name", "region"),
    )


def check_order_lines(invdash: pd.DataFrame, floor: list[Any]) -> None:
    busy = invdash[invdash["order_lines"] > 0]
    found = pd.DataFrame(
        {
            "order_lines": [r.order_lines for r in floor],
            "units": [r.units for r in floor],
            "orders": [r.orders for r in floor],
        }
    )
    minutes = [str(pd.Timestamp(r.minute))[:16] for r in floor]
    expected_minutes = [str(t.tz_convert(None))[:16] for t in busy["timestamp"]]
    if minutes != expected_minutes:
        raise FloorMismatch(
            f"order_lines_per_minute: minutes differ: {expected_minutes[:3]} vs {minutes[:3]}"
        )
    _compare("order_lines_per_minute", busy[["order_lines", "units", "orders"]], found, ())


def check_daily(invdash: pd.DataFrame, floor: FloorDaily) -> None:
    found = pd.DataFrame(floor.rows())
    expected = invdash.assign(day=(invdash["day"] - pd.Timestamp(EPOCH)).dt.days.astype("float64"))
    _compare("daily_series", expected[list(found.columns)], found, ())


# --- Timing ---------------------------------------------------------------------------------


def _best_pair(
    invdash: Callable[[], object], floor: Callable[[], object], repeat: int
) -> tuple[float, float]:
    """The fastest of ``repeat`` runs of each, run alternately so that both see the same
    machine: on a shared machine the other workers only ever add time, so the fastest run is
    the closest to each query's own cost."""
    mine: list[float] = []
    theirs: list[float] = []
    for _ in range(repeat):
        for action, samples in ((invdash, mine), (floor, theirs)):
            started = time.perf_counter()
            action()
            samples.append(time.perf_counter() - started)
    return min(mine), min(theirs)


def measure_floors(
    engine: sa.Engine,
    policy: InventoryPolicy,
    holding_cost_rate: float,
    as_of: dt.datetime,
    layout: str,
    repeat: int,
    period: Period = "week",
    timeout_seconds: float | None = None,
) -> list[FloorFigure]:
    """invdash's cold panel queries and their floors on ``engine``, each checked to agree first
    (raises FloorMismatch). ``as_of`` is naive UTC. With ``timeout_seconds`` (the engine's
    statement timeout) a query cancelled by it is a figure of its own, "timed out"."""
    sql = FloorSql(layout, engine.dialect.name)
    source = InventorySource(engine, policy)
    kpis = ExecutiveKpiSource(engine, holding_cost_rate)
    hour_end = as_of.replace(second=0, microsecond=0)
    hour_start = hour_end - dt.timedelta(hours=1)
    days = 2 * PERIOD_DAYS[period]

    def with_connection(action: Callable[[sa.Connection], object]) -> Callable[[], object]:
        def run() -> object:
            with engine.connect() as conn:
                return action(conn)

        return run

    cases: list[tuple[str, Callable[[], Any], Callable[[], Any], Callable[[Any, Any], int]]] = [
        (
            "positions",
            lambda: source.stock_positions(as_of),
            with_connection(lambda conn: floor_positions(sql, conn, as_of, policy)),
            lambda mine, theirs: _checked(check_positions, mine, theirs, policy),
        ),
        (
            "lots",
            lambda: source.expiring_lots(as_of),
            with_connection(lambda conn: floor_expiring_lots(sql, conn, as_of)),
            lambda mine, theirs: _checked(check_lots, mine, theirs),
        ),
        (
            "warehouses",
            source.warehouses,
            with_connection(lambda conn: floor_warehouses(sql, conn)),
            lambda mine, theirs: _checked(check_warehouses, mine, theirs),
        ),
        (
            "order_lines_per_minute, last hour",
            lambda: source.order_lines_per_minute(hour_start, hour_end),
            with_connection(
                lambda conn: floor_order_lines_per_minute(sql, conn, hour_start, hour_end)
            ),
            lambda mine, theirs: _checked(check_order_lines, mine, theirs),
        ),
        (
            f"period_review ({period})",
            lambda: kpis.period_review(as_of, period),
            with_connection(lambda conn: floor_daily_series(sql, conn, as_of, days)),
            lambda mine, theirs: _checked(check_daily, kpis.daily_series(as_of, days), theirs),
        ),
    ]
    figures = []
    for name, invdash, floor, check in cases:
        try:
            # The first run of each checks the numbers and warms the database's pages for both.
            rows = check(invdash(), floor())
            mine, theirs = _best_pair(invdash, floor, repeat)
        except sa.exc.OperationalError as error:
            if not statement_timed_out(error) or timeout_seconds is None:
                raise
            # Measured: longer than the timeout. No repeat would fare better.
            figures.append(
                FloorFigure(name, math.nan, math.nan, 0, repeat, timed_out_after=timeout_seconds)
            )
            continue
        figures.append(FloorFigure(name, mine, theirs, rows, repeat))
    return figures


def _checked(check: Callable[..., None], mine: Any, theirs: Any, *extra: Any) -> int:
    check(mine, theirs, *extra)
    return len(mine)
