"""Order volume against the order services' traffic: one time axis, conversion, lag, orders at risk.

Pure functions of ``InventorySource.order_lines_per_minute`` (columns timestamp, order_lines) and
``MetricsSource.service_traffic`` (columns ``SERVICE_TRAFFIC_COLUMNS``). ``orders_and_traffic``
puts both on one step; the other functions read the frame it returns.

Times are timezone-aware UTC; rates of requests and errors per second, order rates in order lines
per minute, shares as fractions (0.02 = 2%).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]

# orders_and_traffic(): one row per step, oldest first.
ORDERS_AND_TRAFFIC_COLUMNS = [
    "timestamp", "order_lines_per_minute", "request_rate", "error_rate", "error_share",
    "p95_latency_seconds",
]  # fmt: skip
# orders_at_risk(): one row per error burst, oldest first.
ORDERS_AT_RISK_COLUMNS = ["start", "end", "minutes", "peak_error_share", "orders_at_risk"]

DEFAULT_STEP = dt.timedelta(minutes=1)
DEFAULT_ERROR_SHARE_THRESHOLD = 0.02
MIN_CORRELATION_SAMPLES = 3

_EPOCH = pd.Timestamp(0, tz="UTC")
_ONE_SECOND = pd.Timedelta(seconds=1)
_MINUTE_SECONDS = 60.0


@dataclass(frozen=True)
class LagCorrelation:
    """How order rate follows request rate (Pearson correlation over a window's steps).

    A lag of k steps pairs the request rate at step t with the order rate at step t + k: a
    positive lag means orders FOLLOW requests by k steps, a negative one that orders lead.
    correlation_at_zero: at lag 0. best_lag_steps, best_lag (= best_lag_steps x step),
    best_correlation: the lag with the highest correlation (ties: the lag nearest zero, a
    positive one before a negative one). samples: steps where both rates are known (at lag 0).
    Correlations are NaN, and the best lag 0, when no lag has at least 3 paired steps with
    neither series constant.
    """

    correlation_at_zero: float
    best_lag_steps: int
    best_lag: dt.timedelta
    best_correlation: float
    samples: int


def orders_and_traffic(
    orders: pd.DataFrame,
    traffic: pd.DataFrame,
    services: list[str] | None = None,
    step: dt.timedelta | None = None,
) -> pd.DataFrame:
    """Order volume and the order services' traffic, one row per step.

    orders: as ``InventorySource.order_lines_per_minute`` returns it: timestamp (a minute's start,
    UTC; naive means UTC), order_lines (lines placed in that minute). traffic: as
    ``MetricsSource.service_traffic`` returns it (``SERVICE_TRAFFIC_COLUMNS``). services: the
    services whose traffic counts (None: every service in ``traffic``). step: the rows' spacing;
    None: the traffic's (its smallest spacing of timestamps), or 1 minute without two samples.

    A row's timestamp T is the end of the step it describes, as a metrics source labels a rate
    with the instant it was evaluated at: the row holds the orders placed in [T - step, T) and
    the traffic samples at instants in (T - step, T]. Timestamps are whole multiples of the step
    since the Unix epoch, every step present from the first to the last one either input touches.
    A minute's order lines count as placed evenly over the minute, so a step shorter than a
    minute gets its share of the minute's lines.

    Columns:
      timestamp (datetime64[ns, UTC]); order_lines_per_minute (order lines placed in the step /
      the step's minutes; 0 where ``orders`` has none); request_rate, error_rate (requests/s and
      5xx/s, summed over the services, averaged over the samples in the step); error_share
      (error_rate / request_rate; NaN without requests); p95_latency_seconds (the largest p95 of
      any service and sample in the step: a p95 of the sum is not derivable from the parts).
      Traffic columns are NaN in steps without a sample of the services.
    """
    step_seconds = (step if step is not None else _traffic_step(traffic)).total_seconds()
    if step_seconds <= 0:
        raise ValueError(f"step must be positive, not {step}")
    if services is not None:
        traffic = traffic.loc[traffic["service"].isin(services)]

    order_seconds = _epoch_seconds(orders["timestamp"])
    minute_starts = np.floor(order_seconds / _MINUTE_SECONDS) * _MINUTE_SECONDS
    traffic_seconds = _epoch_seconds(traffic["timestamp"])
    traffic_steps = np.ceil(traffic_seconds / step_seconds)
    first_steps = [traffic_steps, np.floor(minute_starts / step_seconds) + 1]
    last_steps = [traffic_steps, np.ceil((minute_starts + _MINUTE_SECONDS) / step_seconds)]
    if not len(order_seconds) and not len(traffic_seconds):
        return _empty(ORDERS_AND_TRAFFIC_COLUMNS)
    steps = np.arange(
        min(array.min() for array in first_steps if len(array)),
        max(array.max() for array in last_steps if len(array)) + 1,
    )
    ends = steps * step_seconds

    lines_before = _order_lines_before(
        minute_starts, np.asarray(orders["order_lines"].fillna(0), dtype=np.float64)
    )
    lines = np.interp(ends, *lines_before) - np.interp(ends - step_seconds, *lines_before)

    frame = pd.DataFrame(
        {
            "timestamp": _timestamps(ends),
            "order_lines_per_minute": lines / (step_seconds / _MINUTE_SECONDS),
        }
    )
    per_step = _traffic_per_step(traffic, traffic_steps).reindex(steps)
    for column in ("request_rate", "error_rate", "p95_latency_seconds"):
        frame[column] = per_step[column].to_numpy(np.float64)
    requests = frame["request_rate"]
    frame["error_share"] = (frame["error_rate"] / requests).where(requests > 0)
    frame.attrs["step"] = dt.timedelta(seconds=step_seconds)
    return frame[ORDERS_AND_TRAFFIC_COLUMNS]


def orders_per_thousand_requests(frame: pd.DataFrame) -> float:
    """Order lines placed per 1000 requests over the window of an ``orders_and_traffic`` frame.

    Total order lines (order_lines_per_minute x step minutes, summed) / total requests
    (request_rate x step seconds, summed) x 1000, over the steps whose request rate is known:
    orders in a telemetry gap have no requests to be set against. NaN without requests.
    """
    known = frame.loc[frame["request_rate"].notna()]
    # Every step lasts the same, so the step cancels: lines/min over requests/s is per 60 requests.
    requests_per_second = float(known["request_rate"].sum())
    if requests_per_second <= 0:
        return math.nan
    lines_per_minute = float(known["order_lines_per_minute"].sum())
    return lines_per_minute / (requests_per_second * _MINUTE_SECONDS) * 1000.0


def lagged_correlation(frame: pd.DataFrame, max_lag_steps: int = 30) -> LagCorrelation:
    """How order_lines_per_minute follows request_rate in an ``orders_and_traffic`` frame.

    Tries every lag from -max_lag_steps to +max_lag_steps steps; see ``LagCorrelation`` for the
    sign convention and the results. Steps missing from the frame, or with either rate NaN, are
    left out of the pairs; the step is the frame's (see ``orders_at_risk``).
    """
    if max_lag_steps < 0:
        raise ValueError(f"max_lag_steps must not be negative, not {max_lag_steps}")
    step = _frame_step(frame)
    requests = _on_full_grid(frame, "request_rate", step)
    orders = _on_full_grid(frame, "order_lines_per_minute", step)
    at_zero = _pearson(requests, orders)
    best_lag, best = 0, at_zero
    for lag in _lags_nearest_zero_first(max_lag_steps):
        correlation = _pearson(*_paired(requests, orders, lag))
        if not math.isnan(correlation) and (math.isnan(best) or correlation > best):
            best_lag, best = lag, correlation
    return LagCorrelation(
        correlation_at_zero=at_zero,
        best_lag_steps=best_lag,
        best_lag=best_lag * step,
        best_correlation=best,
        samples=int(np.count_nonzero(np.isfinite(requests) & np.isfinite(orders))),
    )


def orders_at_risk(
    frame: pd.DataFrame, error_share_threshold: float = DEFAULT_ERROR_SHARE_THRESHOLD
) -> pd.DataFrame:
    """The error bursts of an ``orders_and_traffic`` frame and the orders each put at risk.

    A burst is a run of consecutive steps with error_share above the threshold (a step at or
    below it, with error_share NaN, or missing from the frame ends the run). Orders at risk in a
    step = error_share x order lines placed in the step (order_lines_per_minute x step minutes):
    the orders whose requests failed, if failures hit orders as often as any request.

    The frame's step is ``frame.attrs["step"]`` when set (``orders_and_traffic`` sets it), else
    the smallest spacing of its timestamps, else 1 minute.

    Columns: start, end (datetime64[ns, UTC]: the start of the burst's first step, i.e. its
    timestamp - step, and the end of its last step); minutes (float, end - start);
    peak_error_share (the largest error_share in the burst); orders_at_risk (order lines,
    float). One row per burst, oldest first.
    """
    step = _frame_step(frame)
    step_minutes = step.total_seconds() / _MINUTE_SECONDS
    ordered = frame.sort_values("timestamp")
    bursting = ordered.loc[(ordered["error_share"] > error_share_threshold).to_numpy()]
    if bursting.empty:
        return _empty(ORDERS_AT_RISK_COLUMNS)
    seconds = _epoch_seconds(bursting["timestamp"])
    positions = np.round(seconds / step.total_seconds())
    burst = np.cumsum(np.r_[True, np.diff(positions) != 1])
    rows = pd.DataFrame(
        {
            "burst": burst,
            "end": seconds,
            "error_share": bursting["error_share"].to_numpy(np.float64),
            "at_risk": (
                bursting["error_share"] * bursting["order_lines_per_minute"] * step_minutes
            ).to_numpy(np.float64),
        }
    )
    bursts = rows.groupby("burst").agg(
        first_end=("end", "min"),
        end=("end", "max"),
        steps=("end", "size"),
        peak_error_share=("error_share", "max"),
        orders_at_risk=("at_risk", "sum"),
    )
    starts = bursts["first_end"].to_numpy(np.float64) - step.total_seconds()
    return pd.DataFrame(
        {
            "start": _timestamps(starts),
            "end": _timestamps(bursts["end"].to_numpy(np.float64)),
            "minutes": bursts["steps"].to_numpy(np.float64) * step_minutes,
            "peak_error_share": bursts["peak_error_share"].to_numpy(np.float64),
            "orders_at_risk": bursts["orders_at_risk"].to_numpy(np.float64),
        }
    )


def total_orders_at_risk(
    frame: pd.DataFrame, error_share_threshold: float = DEFAULT_ERROR_SHARE_THRESHOLD
) -> float:
    """Order lines at risk summed over every burst of ``orders_at_risk``; 0 without bursts."""
    return float(orders_at_risk(frame, error_share_threshold)["orders_at_risk"].sum())


def _epoch_seconds(timestamps: pd.Series) -> FloatArray:
    stamps = pd.to_datetime(timestamps, utc=True)
    return np.asarray((stamps - _EPOCH) / _ONE_SECOND, dtype=np.float64)


def _timestamps(epoch_seconds: FloatArray) -> pd.Series:
    moments = _EPOCH + pd.to_timedelta(epoch_seconds, unit="s")
    return pd.Series(moments).astype("datetime64[ns, UTC]")


def _empty(columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame({column: pd.Series(dtype="float64") for column in columns})
    for column in ("timestamp", "start", "end"):
        if column in frame:
            frame[column] = frame[column].astype("datetime64[ns, UTC]")
    return frame


def _smallest_spacing(timestamps: pd.Series) -> dt.timedelta | None:
    seconds = np.unique(_epoch_seconds(timestamps))
    spacings = np.diff(seconds)
    return dt.timedelta(seconds=float(spacings.min())) if len(spacings) else None


def _traffic_step(traffic: pd.DataFrame) -> dt.timedelta:
    return _smallest_spacing(traffic["timestamp"]) or DEFAULT_STEP


def _frame_step(frame: pd.DataFrame) -> dt.timedelta:
    step = frame.attrs.get("step")
    if isinstance(step, dt.timedelta) and step > dt.timedelta(0):
        return step
    return _smallest_spacing(frame["timestamp"]) or DEFAULT_STEP


def _order_lines_before(
    minute_starts: FloatArray, order_lines: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Knots (epoch seconds, lines placed before then) of the piecewise-linear cumulative order
    count, for ``np.interp``: each minute's lines spread evenly over the minute."""
    if not len(minute_starts):
        return np.array([0.0]), np.array([0.0])
    per_minute = pd.Series(order_lines).groupby(minute_starts).sum().sort_index()
    starts = per_minute.index.to_numpy(np.float64)
    through = np.cumsum(per_minute.to_numpy(np.float64))
    before = np.r_[0.0, through[:-1]]
    knots = np.column_stack([starts, starts + _MINUTE_SECONDS]).ravel()
    counts = np.column_stack([before, through]).ravel()
    # Back-to-back minutes share a knot (one minute's end is the next one's start).
    distinct = np.r_[True, np.diff(knots) > 0]
    return knots[distinct], counts[distinct]


def _traffic_per_step(traffic: pd.DataFrame, steps: FloatArray) -> pd.DataFrame:
    """Per step number: request and error rates summed over services and averaged over the
    samples, p95 the largest of any service and sample."""
    samples = pd.DataFrame(
        {
            "step": steps,
            "timestamp": _epoch_seconds(traffic["timestamp"]),
            "request_rate": traffic["request_rate"].to_numpy(np.float64),
            "error_rate": traffic["error_rate"].to_numpy(np.float64),
            "p95_latency_seconds": traffic["p95_latency_seconds"].to_numpy(np.float64),
        }
    )
    by_sample = samples.groupby(["step", "timestamp"])
    # A sample where no service reported a rate stays unknown (NaN), not a rate of 0.
    per_sample = by_sample[["request_rate", "error_rate"]].sum(min_count=1)
    per_sample["p95_latency_seconds"] = by_sample["p95_latency_seconds"].max()
    return per_sample.groupby(level="step").agg(
        request_rate=("request_rate", "mean"),
        error_rate=("error_rate", "mean"),
        p95_latency_seconds=("p95_latency_seconds", "max"),
    )


def _on_full_grid(frame: pd.DataFrame, column: str, step: dt.timedelta) -> FloatArray:
    """The column at every step from the frame's first timestamp to its last, NaN where absent."""
    if frame.empty:
        return np.array([], dtype=np.float64)
    seconds = _epoch_seconds(frame["timestamp"])
    positions = np.round((seconds - seconds.min()) / step.total_seconds()).astype(np.int64)
    values = np.full(int(positions.max()) + 1, np.nan)
    values[positions] = frame[column].to_numpy(np.float64)
    return values


def _lags_nearest_zero_first(max_lag_steps: int) -> list[int]:
    return [lag for distance in range(1, max_lag_steps + 1) for lag in (distance, -distance)]


def _paired(requests: FloatArray, orders: FloatArray, lag: int) -> tuple[FloatArray, FloatArray]:
    """(requests at t, orders at t + lag) for every t where both exist."""
    count = len(requests)
    if abs(lag) >= count:
        return requests[:0], orders[:0]
    if lag >= 0:
        return requests[: count - lag], orders[lag:]
    return requests[-lag:], orders[: count + lag]


def _pearson(x: FloatArray, y: FloatArray) -> float:
    known = np.isfinite(x) & np.isfinite(y)
    x, y = x[known], y[known]
    # np.ptp is exact, so a constant series is caught before its rounding noise correlates.
    if len(x) < MIN_CORRELATION_SAMPLES or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(np.clip(np.corrcoef(x, y)[0, 1], -1.0, 1.0))
