"""Thinning a time series for drawing: at most N points, each bucket's extremes, epoch-aligned."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from components.downsample import (
    MAX_POINTS_PER_TRACE,
    aggregate_per_bucket,
    min_max_per_bucket,
    width_text,
)

# A Friday's midnight, UTC: a whole number of every bucket width up to a day since the epoch.
MIDNIGHT = pd.Timestamp("2026-11-20 00:00", tz="UTC")
MINUTE = pd.Timedelta(minutes=1)
WEEK_OF_MINUTES = 7 * 24 * 60


def series(values: list[float] | np.ndarray, start: pd.Timestamp = MIDNIGHT) -> pd.DataFrame:
    """One sample a minute from ``start``."""
    times = pd.date_range(start, periods=len(values), freq="min").as_unit("ns")
    return pd.DataFrame({"timestamp": times, "value": np.asarray(values, dtype=np.float64)})


def minutes_and_values(frame: pd.DataFrame, start: pd.Timestamp = MIDNIGHT) -> list[tuple]:
    """(minute since ``start``, value) of each row: the points as a test states them."""
    offsets = (frame["timestamp"] - start) // MINUTE
    return [
        (int(m), None if np.isnan(v) else float(v))
        for m, v in zip(offsets, frame["value"], strict=True)
    ]


def test_a_two_minute_burst_in_a_week_of_minutes_keeps_its_500_at_its_time() -> None:
    values = np.full(WEEK_OF_MINUTES, 10.0)
    values[5000:5002] = 500.0  # minutes 5000 and 5001
    thinned = min_max_per_bucket(series(values), ["value"])
    # 10-min buckets would need 2 x 1008 points: the next width, 12 min, gives 840 buckets.
    # A flat bucket keeps its first and last minute (earliest minimum, latest maximum); the
    # burst's bucket (minutes 4992-5003) its first minute and the burst's latest 500.
    expected = [
        point
        for bucket in range(840)
        for point in (
            [(4992, 10.0), (5001, 500.0)]
            if bucket == 416
            else [(12 * bucket, 10.0), (12 * bucket + 11, 10.0)]
        )
    ]
    assert minutes_and_values(thinned) == expected
    assert len(thinned) == 1680 <= MAX_POINTS_PER_TRACE


def test_each_bucket_keeps_its_minimum_and_maximum_in_time_order() -> None:
    digits = [
        3,
        1,
        4,
        1,
        5,
        9,
        2,
        6,
        5,
        3,
        5,
        8,
        9,
        7,
        9,
        3,
        2,
        3,
        8,
        4,
        6,
        2,
        6,
        4,
        3,
        3,
        8,
        3,
        2,
        7,
    ]
    thinned = min_max_per_bucket(series(digits), ["value"], max_points=12)
    # 3-min buckets keep 20 rows and 4-min ones 16, over 12: 5-min buckets keep 12.
    # minutes 0-4: 3 1 4 1 5 -> the first 1 and the 5; 5-9: 9 2 6 5 3 -> 9 then 2;
    # 10-14: 5 8 9 7 9 -> the 5 and the later 9; and so on.
    assert minutes_and_values(thinned) == [
        (1, 1.0), (4, 5.0), (5, 9.0), (6, 2.0), (10, 5.0), (14, 9.0),
        (16, 2.0), (18, 8.0), (21, 2.0), (22, 6.0), (26, 8.0), (28, 2.0),
    ]  # fmt: skip


def test_a_series_within_the_budget_comes_back_unchanged() -> None:
    frame = series(np.arange(1999.0))
    assert min_max_per_bucket(frame, ["value"]) is frame
    bars = aggregate_per_bucket(frame, ["value"], "sum")
    assert bars.frame is frame
    assert bars.width is None


def test_an_empty_frame_comes_back_unchanged() -> None:
    empty = series([])
    assert min_max_per_bucket(empty, ["value"]) is empty
    assert min_max_per_bucket(empty, ["value"], by=["timestamp"]) is empty
    assert aggregate_per_bucket(empty, ["value"], "max").frame is empty


def test_a_gap_stays_a_gap() -> None:
    values = np.arange(30.0)
    values[7:13] = np.nan
    thinned = min_max_per_bucket(series(values), ["value"], max_points=12)
    # 6-min buckets: 0-5 keeps 0 and 5; 6-11 its one value and its first NaN; 12-17 its first
    # NaN, then 13 and 17: the line breaks between 6 and 13, as it did between 6 and 13 before.
    assert minutes_and_values(thinned) == [
        (0, 0.0), (5, 5.0), (6, 6.0), (7, None), (12, None), (13, 13.0), (17, 17.0),
        (18, 18.0), (23, 23.0), (24, 24.0), (29, 29.0),
    ]  # fmt: skip


def test_a_gap_of_whole_buckets_in_a_week_keeps_a_nan_in_each() -> None:
    values = np.full(WEEK_OF_MINUTES, 10.0)
    values[100:141] = np.nan  # minutes 100-140: buckets 96-107 .. 132-143 of 12 min
    thinned = minutes_and_values(min_max_per_bucket(series(values), ["value"]))
    around = [point for point in thinned if 84 <= point[0] < 156]
    assert around == [
        (84, 10.0), (95, 10.0), (96, 10.0), (99, 10.0), (100, None), (108, None), (120, None),
        (132, None), (141, 10.0), (143, 10.0), (144, 10.0), (155, 10.0),
    ]  # fmt: skip


def test_appending_a_minute_changes_only_the_last_bucket() -> None:
    start = MIDNIGHT + 5 * MINUTE  # the last bucket is part-filled, so the new minute joins it
    wave = 50 + 40 * np.sin(np.arange(WEEK_OF_MINUTES + 1) / 97.0)
    before = min_max_per_bucket(series(wave[:-1], start), ["value"])
    after = min_max_per_bucket(series(wave, start), ["value"])
    last_bucket = (start + WEEK_OF_MINUTES * MINUTE).floor("12min")
    assert last_bucket > start + (WEEK_OF_MINUTES - 12) * MINUTE
    kept = before[before["timestamp"] < last_bucket].reset_index(drop=True)
    assert kept.equals(after[after["timestamp"] < last_bucket].reset_index(drop=True))
    assert len(kept) > 1600
    # A window sliding by a minute changes its first bucket too, and nothing between.
    slid = min_max_per_bucket(series(wave[1:], start + MINUTE), ["value"])
    first_bucket_end = (start + MINUTE).floor("12min") + pd.Timedelta(minutes=12)
    middle = after[(after["timestamp"] >= first_bucket_end) & (after["timestamp"] < last_bucket)]
    assert middle.reset_index(drop=True).equals(
        slid[
            (slid["timestamp"] >= first_bucket_end) & (slid["timestamp"] < last_bucket)
        ].reset_index(drop=True)
    )


def test_each_workload_is_thinned_on_its_own() -> None:
    busy = series(np.arange(5000.0)).assign(workload="busy")
    quiet = series(np.arange(100.0)).assign(workload="quiet")
    both = pd.concat([quiet, busy])
    thinned = min_max_per_bucket(both, ["value"], by=["workload"])
    assert list(thinned["workload"].unique()) == ["busy", "quiet"]
    alone = min_max_per_bucket(busy, ["value"])
    assert len(alone) == 2000  # 5-min buckets: 1000 of them
    assert thinned[thinned["workload"] == "busy"].equals(alone)
    assert thinned[thinned["workload"] == "quiet"].equals(quiet)
    small = pd.concat([quiet, quiet.assign(workload="other")], ignore_index=True)
    assert min_max_per_bucket(small, ["value"], by=["workload"]) is small


def test_several_columns_keep_the_extremes_of_each_in_whole_rows() -> None:
    other = np.arange(30.0)[::-1] % 7  # 1 0 6 5 4 3 2 1 0 6 ...
    frame = series(np.arange(30.0)).assign(other=other, label="x")
    thinned = min_max_per_bucket(frame, ["value", "other"], max_points=24)
    # 2-min buckets keep 30 rows; 3-min ones keep 23: minutes 0-2 keep 0 (value's minimum),
    # 1 (other's minimum) and 2 (both maxima); 3-5 keep 3 and 5 (each column's extremes).
    assert minutes_and_values(thinned) == [
        (m, float(m))
        for m in (
            0,
            1,
            2,
            3,
            5,
            6,
            8,
            9,
            11,
            12,
            14,
            15,
            16,
            17,
            18,
            20,
            21,
            22,
            23,
            24,
            26,
            27,
            29,
        )
    ]
    assert thinned["other"].tolist() == other[thinned.index].tolist()
    assert thinned["label"].eq("x").all()
    for column in ("value", "other"):
        buckets = thinned["timestamp"].dt.floor("3min")
        for how in ("min", "max"):
            assert (
                thinned.groupby(buckets)[column]
                .agg(how)
                .equals(frame.groupby(frame["timestamp"].dt.floor("3min"))[column].agg(how))
            )


def test_rows_out_of_order_come_back_in_time_order() -> None:
    frame = series(np.arange(3000.0)).iloc[::-1]
    thinned = min_max_per_bucket(frame, ["value"])
    assert thinned["timestamp"].is_monotonic_increasing
    assert thinned["value"].iloc[0] == 0.0
    assert thinned["value"].iloc[-1] == 2999.0


def test_bars_sum_or_take_the_busiest_minute_of_each_bucket_from_the_epoch() -> None:
    values = np.full(WEEK_OF_MINUTES, 10.0)
    values[5000:5002] = 500.0
    totals = aggregate_per_bucket(series(values), ["value"], "sum")
    # 5-min buckets would be 2016 bars: 6 min is the first width within 2000.
    assert totals.width == dt.timedelta(minutes=6)
    assert len(totals.frame) == 1680
    assert (totals.frame["timestamp"] - MIDNIGHT).iloc[:2].tolist() == [
        pd.Timedelta(0),
        pd.Timedelta(minutes=6),
    ]
    burst = totals.frame.set_index("timestamp")["value"]
    assert burst[MIDNIGHT + 4998 * MINUTE] == 4 * 10.0 + 2 * 500.0  # minutes 4998-5003
    assert burst.drop(MIDNIGHT + 4998 * MINUTE).eq(60.0).all()
    busiest = aggregate_per_bucket(series(values), ["value"], "max").frame
    assert busiest["value"].max() == 500.0
    assert busiest.loc[busiest["value"] == 500.0, "timestamp"].tolist() == [
        MIDNIGHT + 4998 * MINUTE
    ]


def test_a_bucket_of_nan_samples_has_no_bar_rather_than_zero() -> None:
    values = np.full(3000, 1.0)
    values[12:24] = np.nan  # minutes 12-23: six whole 2-min buckets
    totals = aggregate_per_bucket(series(values), ["value"], "sum")
    assert totals.width == dt.timedelta(minutes=2)
    bars = totals.frame.set_index("timestamp")["value"]
    assert bars.iloc[5:13].isna().tolist() == [False] + [True] * 6 + [False]
    assert aggregate_per_bucket(series(values), ["value"], "max").frame["value"].isna().sum() == 6


def test_buckets_of_steps_sum_whole_steps() -> None:
    steps = pd.date_range(MIDNIGHT, periods=2400, freq="15min").as_unit("ns")  # 25 days
    frame = pd.DataFrame({"timestamp": steps, "value": 3.0})
    # Without the step, 20-min buckets (1800) would hold one 15-min step or two.
    assert aggregate_per_bucket(frame, ["value"], "sum").frame["value"].unique().tolist() == [
        6.0,
        3.0,
    ]
    by_step = aggregate_per_bucket(frame, ["value"], "sum", step=dt.timedelta(minutes=15))
    assert by_step.width == dt.timedelta(minutes=30)
    assert by_step.frame["value"].eq(6.0).all()


def test_naive_times_count_as_utc_and_stay_naive() -> None:
    aware = series(np.arange(3000.0))
    naive = aware.assign(timestamp=aware["timestamp"].dt.tz_localize(None))
    thinned = min_max_per_bucket(naive, ["value"])
    assert thinned["value"].tolist() == min_max_per_bucket(aware, ["value"])["value"].tolist()
    bars = aggregate_per_bucket(naive, ["value"], "sum").frame
    assert bars["timestamp"].dt.tz is None
    assert bars["timestamp"].iloc[0] == pd.Timestamp("2026-11-20 00:00")


def test_a_budget_too_small_for_the_columns_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 6 per column"):
        min_max_per_bucket(series([1.0]), ["value"], max_points=5)


@pytest.mark.parametrize(
    ("width", "text"),
    [
        (dt.timedelta(seconds=30), "30 s"),
        (dt.timedelta(minutes=1), "1 min"),
        (dt.timedelta(minutes=12), "12 min"),
        (dt.timedelta(hours=3), "3 h"),
        (dt.timedelta(days=1), "1 day"),
        (dt.timedelta(days=2), "2 days"),
    ],
)
def test_bucket_widths_read_in_the_largest_whole_unit(width: dt.timedelta, text: str) -> None:
    assert width_text(width) == text
