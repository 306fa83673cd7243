"""Fewer points for drawing: at most MAX_POINTS_PER_TRACE per trace, peaks kept.

This lives in ``components`` because it is a drawing concern only: a screen is some 1,500 pixels
wide, so a trace of 10,080 minutes carries five points per pixel that nobody can see and every
browser must parse. Computations (correlations, orders at risk, KPIs) keep reading the full
frames from ``queries``; only what goes into a figure is thinned, and only here.

Buckets are whole multiples of a width taken from BUCKET_WIDTHS_NS, counted from the Unix epoch
(naive timestamps count as UTC), not from a frame's first row: a refresh that adds a minute at
the end changes only the last bucket (and one that drops a minute at the start, the first), so
a redrawn figure does not shimmer. The width is the narrowest of BUCKET_WIDTHS_NS whose buckets
keep within the budget, so it changes only when a range crosses a threshold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

# The one budget of every time-series trace invdash draws.
MAX_POINTS_PER_TRACE = 2_000
# And of a figure with many traces: a point costs some 40 bytes of JSON (its time as text), so
# 4,000 keep a panel update within 200 kB however many workloads share the figure.
MAX_POINTS_PER_FIGURE = 4_000
# The finest a trace gets however many share a figure: six points per column per bucket at
# least (min_max_per_bucket), a screen's worth of shape.
MIN_POINTS_PER_TRACE = 120


def points_per_trace(traces: int, figure_points: int = MAX_POINTS_PER_FIGURE) -> int:
    """Each trace's share of ``figure_points``, within [MIN_POINTS_PER_TRACE,
    MAX_POINTS_PER_TRACE]."""
    share = figure_points // max(1, traces)
    return max(MIN_POINTS_PER_TRACE, min(MAX_POINTS_PER_TRACE, share))


_SECOND = 1_000_000_000
_MINUTE = 60 * _SECOND
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
# Bucket widths in nanoseconds, narrowest first: divisors of a minute, an hour and a day, so
# buckets also line up with the clock; past four weeks the width doubles.
BUCKET_WIDTHS_NS = (
    *(s * _SECOND for s in (1, 2, 5, 10, 15, 20, 30)),
    *(m * _MINUTE for m in (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30)),
    *(h * _HOUR for h in (1, 2, 3, 4, 6, 8, 12)),
    *(d * _DAY for d in (1, 2, 4, 7, 14, 28)),
)

Aggregate = Literal["sum", "max"]


@dataclass(frozen=True)
class Buckets:
    """Bars per bucket: ``frame`` holds the time column (each bucket's start, same timezone as
    the input) and the aggregated columns; ``width`` is the bucket's width, or None when the
    input was within the budget and ``frame`` is that input, unchanged."""

    frame: pd.DataFrame
    width: dt.timedelta | None


def min_max_per_bucket(
    frame: pd.DataFrame,
    columns: Sequence[str],
    *,
    time_column: str = "timestamp",
    by: Sequence[str] | None = None,
    max_points: int = MAX_POINTS_PER_TRACE,
) -> pd.DataFrame:
    """The rows of ``frame`` that keep each bucket's minimum and maximum of every column in
    ``columns``, in time order, at most ``max_points`` rows (per group of ``by``: each group is
    one trace, thinned on its own, and the groups come back in sorted order). Whole rows are
    kept, so every drawn point is a real sample and the other columns (labels, hover data) stay
    with it.

    ``time_column``: datetime64 (naive means UTC). A frame whose every group has at most
    ``max_points`` rows comes back unchanged (the same object). Within a bucket, ties keep the
    earliest minimum and the latest maximum, so a flat bucket is drawn from its first to its
    last sample. A NaN is a gap: each bucket with a NaN in a column also keeps that column's
    first NaN row, so a line through the points breaks there instead of joining the two sides.
    Rows without a time cannot be drawn and are dropped when the frame is thinned.
    ``max_points`` must be at least 6 per column: however wide the buckets, the rows can touch
    two of them, each with a minimum, a maximum and a gap.
    """
    if max_points < 6 * len(columns):
        raise ValueError(
            f"max_points must be at least 6 per column, not {max_points} for {len(columns)}"
        )
    if by:
        groups = frame.groupby(list(by), sort=True)
        if frame.empty or int(groups.size().max()) <= max_points:
            return frame
        return pd.concat(
            [
                min_max_per_bucket(rows, columns, time_column=time_column, max_points=max_points)
                for _, rows in groups
            ]
        )
    if len(frame) <= max_points:
        return frame
    times, order = _sorted_times(frame[time_column])
    values = [frame[column].to_numpy(np.float64, na_value=np.nan)[order] for column in columns]
    kept = np.arange(0)
    for width in _widths(times, max_points):
        buckets = times // width
        kept = np.unique(np.concatenate([_extremes(buckets, value) for value in values]))
        if len(kept) <= max_points:
            break
    return frame.iloc[order[kept]]


def aggregate_per_bucket(
    frame: pd.DataFrame,
    columns: Sequence[str],
    how: Aggregate,
    *,
    time_column: str = "timestamp",
    step: dt.timedelta | None = None,
    max_points: int = MAX_POINTS_PER_TRACE,
) -> Buckets:
    """For bars, where a bar per kept sample would stand at irregular times over its
    neighbours: one row per bucket with samples, the ``how`` (sum or max) of each column over
    the bucket, at most ``max_points`` rows. A frame of at most ``max_points`` rows comes back
    unchanged (width None). A bucket whose samples of a column are all NaN has NaN there (no
    bar), not 0. ``time_column``: datetime64, naive means UTC, each row's start when it covers
    a step; rows without a time are dropped when the frame is bucketed. ``step``: the rows'
    spacing, when a row stands for a step: only whole multiples of it are bucket widths, so a
    bucket sums whole steps and every bucket as many of them (a 20-min bucket of 15-min steps
    would hold one or two)."""
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2, not {max_points}")
    if len(frame) <= max_points:
        return Buckets(frame, None)
    times, order = _sorted_times(frame[time_column])
    widths = _widths(times, max_points, step)
    # The widest candidate leaves at most two buckets, so the loop always finds one.
    width = next(w for w in widths if len(np.unique(times // w)) <= max_points)
    grouped = frame.iloc[order][list(columns)].groupby(times // width, sort=True)
    totals = grouped.sum(min_count=1) if how == "sum" else grouped.max()
    starts = pd.DatetimeIndex(
        pd.to_datetime(totals.index.to_numpy(np.int64) * width, unit="ns", utc=True)
    ).as_unit("ns")
    zone = pd.DatetimeIndex(frame[time_column]).tz
    result = totals.reset_index(drop=True)
    result.insert(
        0, time_column, starts.tz_localize(None) if zone is None else starts.tz_convert(zone)
    )
    return Buckets(result, dt.timedelta(microseconds=width // 1000))


def width_text(width: dt.timedelta) -> str:
    """A bucket width as an axis or hover reads it: '30 s', '1 min', '12 min', '3 h', '2 days'."""
    seconds = int(width.total_seconds())
    for unit, name in ((86_400, "day"), (3_600, "h"), (60, "min")):
        if seconds >= unit and seconds % unit == 0:
            amount = seconds // unit
            return f"{amount} {name}{'s' if name == 'day' and amount != 1 else ''}"
    return f"{seconds} s"


def _sorted_times(times: pd.Series) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp]]:
    """Nanoseconds since the epoch of the rows with a time, in time order, and those rows'
    positions in the frame (stable: rows at the same time keep their order)."""
    index = pd.DatetimeIndex(times).as_unit("ns")
    present = np.flatnonzero(np.logical_not(index.isna()))
    nanoseconds = index.asi8[present]
    by_time = np.argsort(nanoseconds, kind="stable")
    return nanoseconds[by_time], present[by_time]


def _widths(
    times: npt.NDArray[np.int64], max_points: int, step: dt.timedelta | None = None
) -> list[int]:
    """The candidate widths in nanoseconds, narrowest first: from the first that leaves at most
    ``max_points`` buckets (each drawn bucket has a point at least), doubling past the ladder
    until a width is longer than the whole span (at most two buckets); only multiples of
    ``step`` when one is given."""
    first, last = (int(times[0]), int(times[-1])) if len(times) else (0, 0)
    ladder = list(BUCKET_WIDTHS_NS)
    if step is not None:
        step_ns = step // dt.timedelta(microseconds=1) * 1000
        if step_ns <= 0:
            raise ValueError(f"step must be positive, not {step}")
        ladder = [width for width in ladder if width % step_ns == 0] or [step_ns]
    while ladder[-1] <= last - first:
        ladder.append(ladder[-1] * 2)
    return [width for width in ladder if last // width - first // width + 1 <= max_points]


def _extremes(
    buckets: npt.NDArray[np.int64], values: npt.NDArray[np.float64]
) -> npt.NDArray[np.intp]:
    """Positions (into time-ordered ``values``) of each bucket's minimum (earliest of equals),
    maximum (latest of equals) and first NaN."""
    missing = np.isnan(values)
    gaps = np.flatnonzero(missing)
    _, first_gap = np.unique(buckets[gaps], return_index=True)
    present = np.flatnonzero(~missing)
    if not len(present):
        return gaps[first_gap]
    # lexsort's last key sorts first: by bucket, then value, then time.
    by_value = present[np.lexsort((present, values[present], buckets[present]))]
    ordered = buckets[by_value]
    firsts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    lasts = np.r_[firsts[1:] - 1, len(by_value) - 1]
    return np.concatenate([by_value[firsts], by_value[lasts], gaps[first_gap]])
