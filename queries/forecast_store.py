"""The demand forecasts in the roll-up store: made once a day by ``invdash rollup`` from the
daily demand the store holds, never per refresh, and read by the SKU detail and /exec.

A run forecasts every SKU from the day after the store's last whole day (``queries.forecast``)
and replaces the stored forecasts; its backtest is kept per run (ACCURACY_RUNS_KEPT of them), so
that the accuracy can be read over time. A run for a day already forecast does nothing.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from queries.database import among, rows_of
from queries.days import midnight, naive_utc
from queries.forecast import (
    ACCURACY_COLUMNS,
    FORECAST_COLUMNS,
    HISTORY_DAYS,
    HORIZON_DAYS,
    MODEL,
    PLAN_COLUMNS,
    TRACKING_LIMIT,
    Forecasts,
    forecast_all,
    overall_accuracy,
)
from queries.rollup_store import (
    DAILY,
    FORECAST,
    RollupStore,
    coverage,
    daily_demand,
    demand_plan,
    forecast_accuracy,
    forecasts,
    insert_rows,
    set_coverage,
    store_records,
)

ACCURACY_RUNS_KEPT = 90


@dataclass(frozen=True)
class ForecastRun:
    as_of_day: int
    skus: int
    model_skus: int
    seconds: float

    def __str__(self) -> str:
        return (
            f"forecasts as of {midnight(self.as_of_day):%Y-%m-%d}: "
            f"{self.skus} SKUs, the model's for {self.model_skus} ({self.seconds:.1f} s)"
        )


def _coverage_day(conn: Connection, name: str) -> tuple[int | None, int | None]:
    row = conn.execute(
        sa.select(coverage.c.first_day, coverage.c.end_day).where(coverage.c.name == name)
    ).first()
    return (None, None) if row is None else (row.first_day, row.end_day)


def stored_daily_demand(conn: Connection, last_day: int) -> pd.DataFrame:
    """Units ordered per SKU and day (summed over warehouses) over the HISTORY_DAYS up to
    ``last_day``: columns sku_id, day, units."""
    units = sa.func.sum(daily_demand.c.units_ordered).label("units")
    query = (
        sa.select(daily_demand.c.sku_id, daily_demand.c.day, units)
        .where(daily_demand.c.day.between(last_day - HISTORY_DAYS + 1, last_day))
        .group_by(daily_demand.c.sku_id, daily_demand.c.day)
    )
    return rows_of(conn, query)


def refresh_forecasts(store: RollupStore, now: dt.datetime) -> ForecastRun | None:
    """Forecast every SKU from the store's daily demand, once for each last whole day the
    store holds; None when that day is forecast already or the store holds no days yet."""
    with store.engine.connect() as conn:
        if not sa.inspect(conn).has_table(coverage.name):
            return None
        first_day, end_day = _coverage_day(conn, DAILY)
        if end_day is None:
            return None
        last_day = end_day - 1
        if _coverage_day(conn, FORECAST)[0] == last_day:
            return None
        daily = stored_daily_demand(conn, last_day)
    started = dt.datetime.now(dt.UTC)
    result = forecast_all(daily, last_day, first_day)
    seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
    _write(store, result, naive_utc(now))
    summary = overall_accuracy(result.accuracy)
    return ForecastRun(last_day, summary.skus, summary.model_skus, seconds)


def _write(store: RollupStore, result: Forecasts, computed_at: dt.datetime) -> None:
    day = result.as_of_day
    with store.engine.begin() as conn:
        conn.execute(sa.delete(forecasts))
        insert_rows(conn, forecasts, store_records(result.forecasts))
        conn.execute(
            sa.delete(forecast_accuracy).where(
                (forecast_accuracy.c.as_of_day == day)
                | (forecast_accuracy.c.as_of_day <= day - ACCURACY_RUNS_KEPT)
            )
        )
        accuracy = result.accuracy.assign(as_of_day=day)
        insert_rows(conn, forecast_accuracy, store_records(accuracy))
        conn.execute(sa.delete(demand_plan))
        insert_rows(conn, demand_plan, store_records(result.plan.assign(as_of_day=day)))
        set_coverage(conn, FORECAST, computed_at, first_day=day, end_day=day + 1)


def stored_plan(conn: Connection, today: int, sku_ids: list[int] | None = None) -> pd.DataFrame:
    """The stock plan (PLAN_COLUMNS) of ``sku_ids`` (None: all) from the newest forecasts, if
    they still cover ``today`` (a day of their horizon); empty otherwise, or before the first
    run: the stock maths then keep the demand window's figures."""
    if not sa.inspect(conn).has_table(demand_plan.name):
        return pd.DataFrame(columns=PLAN_COLUMNS)
    query = sa.select(*(demand_plan.c[name] for name in PLAN_COLUMNS)).where(
        demand_plan.c.as_of_day < today,
        demand_plan.c.as_of_day + HORIZON_DAYS >= today,
        among(demand_plan.c.sku_id, sku_ids),
    )
    frame = rows_of(conn, query.order_by(demand_plan.c.sku_id))
    for name in ("daily_demand", "sd_daily_demand"):
        frame[name] = frame[name].astype("float64")
    return frame


def stored_forecast(conn: Connection, sku_id: int) -> pd.DataFrame:
    """One SKU's stored forecast (FORECAST_COLUMNS, by day); empty before the first run."""
    if not sa.inspect(conn).has_table(forecasts.name):
        return pd.DataFrame(columns=FORECAST_COLUMNS)
    query = sa.select(*(forecasts.c[name] for name in FORECAST_COLUMNS)).where(
        forecasts.c.sku_id == sku_id
    )
    return rows_of(conn, query.order_by(forecasts.c.day))


def stored_accuracy(conn: Connection, sku_ids: list[int] | None = None) -> pd.DataFrame:
    """The newest run's backtest (ACCURACY_COLUMNS and as_of_day), of ``sku_ids`` or all."""
    columns = ["as_of_day", *ACCURACY_COLUMNS]
    if not sa.inspect(conn).has_table(forecast_accuracy.name):
        return pd.DataFrame(columns=columns)
    newest = sa.select(sa.func.max(forecast_accuracy.c.as_of_day)).scalar_subquery()
    query = sa.select(*(forecast_accuracy.c[name] for name in columns)).where(
        forecast_accuracy.c.as_of_day == newest
    )
    if sku_ids is not None:
        query = query.where(forecast_accuracy.c.sku_id.in_(sku_ids))
    frame = rows_of(conn, query.order_by(forecast_accuracy.c.sku_id))
    for name in ("wape", "bias", "tracking_signal", "model_wape", "baseline_wape"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    frame["reason"] = frame["reason"].fillna("").astype(str)
    return frame


# accuracy_over_time's columns: per run, the demand-weighted WAPE of the forecasts used and of
# the baseline on the same SKUs, the share of SKUs on the model, and the stale ones.
HISTORY_COLUMNS = ["as_of_day", "wape", "baseline_wape", "model_share", "stale_skus", "skus"]


def accuracy_over_time(conn: Connection) -> pd.DataFrame:
    """Each kept run's overall accuracy (HISTORY_COLUMNS), oldest first."""
    if not sa.inspect(conn).has_table(forecast_accuracy.name):
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    a = forecast_accuracy.c
    weight = a.actual_units
    known = sa.and_(a.wape.is_not(None), a.baseline_wape.is_not(None), weight > 0)

    def weighted(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return sa.func.sum(sa.case((known, column * weight))) / sa.func.nullif(
            sa.func.sum(sa.case((known, weight))), 0
        )

    query = (
        sa.select(
            a.as_of_day,
            weighted(a.wape).label("wape"),
            weighted(a.baseline_wape).label("baseline_wape"),
            (sa.func.sum(sa.case((a.method == MODEL, 1), else_=0)) * 1.0
             / sa.func.count()).label("model_share"),
            sa.func.sum(
                sa.case((sa.func.abs(a.tracking_signal) > TRACKING_LIMIT, 1), else_=0)
            ).label("stale_skus"),
            sa.func.count().label("skus"),
        )
        .group_by(a.as_of_day)
        .order_by(a.as_of_day)
    )  # fmt: skip
    frame = rows_of(conn, query)
    for name in ("wape", "baseline_wape", "model_share"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64").fillna(math.nan)
    return frame


@dataclass(frozen=True)
class StoredForecast:
    """One SKU's forecast as the SKU detail shows it: the days ahead (columns day as naive UTC
    midnights, forecast, lower, upper) and which method made it, why, and how well it did."""

    days: pd.DataFrame
    method: str
    reason: str
    wape: float
    baseline_wape: float
    tracking_signal: float


def sku_forecast(conn: Connection, sku_id: int) -> StoredForecast | None:
    """The stored forecast of ``sku_id``; None before the first run, or for a SKU it lacks."""
    rows = stored_forecast(conn, sku_id)
    accuracy = stored_accuracy(conn, [sku_id])
    if rows.empty or accuracy.empty:
        return None
    days = pd.DataFrame(
        {
            "day": pd.to_datetime([midnight(int(d)) for d in rows["day"]]).astype("datetime64[ns]"),
            **{name: rows[name].astype("float64") for name in ("forecast", "lower", "upper")},
        }
    )
    scores = accuracy.iloc[0]
    return StoredForecast(
        days,
        str(scores["method"]),
        str(scores["reason"]),
        float(scores["wape"]),
        float(scores["baseline_wape"]),
        float(scores["tracking_signal"]),
    )


# stale_skus' columns: the newest run's SKUs whose tracking signal is outside the limit.
STALE_COLUMNS = [
    "sku_id", "method", "tracking_signal", "bias", "wape", "baseline_wape", "actual_units",
]  # fmt: skip


def stale_skus(accuracy: pd.DataFrame) -> pd.DataFrame:
    """``stored_accuracy`` rows whose |tracking signal| exceeds TRACKING_LIMIT, the farthest
    out first (STALE_COLUMNS)."""
    out = accuracy[accuracy["tracking_signal"].abs() > TRACKING_LIMIT]
    order = out["tracking_signal"].abs().sort_values(ascending=False, kind="stable").index
    return out.loc[order, STALE_COLUMNS].reset_index(drop=True)
