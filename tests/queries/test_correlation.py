"""Specification of queries.correlation: orders and traffic on one axis, and what follows from it.

Every expected number is worked out by hand in the test's comment. Frames for the functions that
read an ``orders_and_traffic`` frame are written out directly, one row per step, so the input
stays visible.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from queries.correlation import (
    ORDERS_AND_TRAFFIC_COLUMNS,
    ORDERS_AT_RISK_COLUMNS,
    LagCorrelation,
    lagged_correlation,
    orders_and_traffic,
    orders_at_risk,
    orders_per_thousand_requests,
    total_orders_at_risk,
)
from queries.telemetry import SERVICE_TRAFFIC_COLUMNS, contract_frame, empty_frame

NAN = math.nan
T0 = pd.Timestamp("2025-03-03 10:00", tz="UTC")
MINUTE = dt.timedelta(minutes=1)
FIVE_MINUTES = dt.timedelta(minutes=5)
# Made-up, irregular: no lag but the true one correlates perfectly.
PATTERN = [5.0, 9, 2, 14, 7, 3, 11, 6, 13, 1, 8, 12, 4, 10, 15, 0, 9, 3, 12, 6]


def at(minutes: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(minutes=minutes)


def order_minutes(order_lines: list[int], first_minute: float = 0) -> pd.DataFrame:
    """As InventorySource.order_lines_per_minute: one row per minute from T0 + first_minute."""
    return pd.DataFrame(
        {
            "timestamp": [at(first_minute + i) for i in range(len(order_lines))],
            "order_lines": pd.Series(order_lines, dtype="int64"),
            "units": [2.0 * lines for lines in order_lines],
        }
    )


def traffic_rows(
    *rows: tuple[float, str, float, float, float],
) -> pd.DataFrame:
    """(minutes after T0, service, request_rate, error_rate, p95) as service_traffic rows."""
    return contract_frame(
        [
            (at(minutes), service, requests, errors, errors / requests, p95)
            for minutes, service, requests, errors, p95 in rows
        ],
        SERVICE_TRAFFIC_COLUMNS,
    )


def steps(
    request_rate: list[float],
    order_lines_per_minute: list[float],
    error_share: list[float] | None = None,
    step: dt.timedelta = MINUTE,
) -> pd.DataFrame:
    """An orders_and_traffic frame, one row per step; row i is timestamped T0 + (i + 1) steps."""
    count = len(request_rate)
    shares = error_share if error_share is not None else [0.0] * count
    return pd.DataFrame(
        {
            "timestamp": [T0 + (i + 1) * pd.Timedelta(step) for i in range(count)],
            "order_lines_per_minute": order_lines_per_minute,
            "request_rate": request_rate,
            "error_rate": [rate * share for rate, share in zip(request_rate, shares, strict=True)],
            "error_share": shares,
            "p95_latency_seconds": 0.25,
        }
    )


# orders_and_traffic


def test_orders_and_traffic_has_the_documented_columns_and_dtypes() -> None:
    frame = orders_and_traffic(
        order_minutes([1, 2]), traffic_rows((1, "order-service", 10.0, 1.0, 0.2))
    )
    assert list(frame.columns) == ORDERS_AND_TRAFFIC_COLUMNS
    assert str(frame["timestamp"].dtype) == "datetime64[ns, UTC]"
    for column in ORDERS_AND_TRAFFIC_COLUMNS[1:]:
        assert frame[column].dtype == "float64", column


def test_minute_orders_on_a_five_minute_traffic_step_are_averaged_per_minute_of_the_step() -> None:
    # Lines 1..10 in the minutes 10:00..10:09. The sample at 10:05 describes (10:00, 10:05]:
    # minutes 10:00-10:04 hold 1+2+3+4+5 = 15 lines -> 3/min; 10:05-10:09 hold 40 -> 8/min.
    frame = orders_and_traffic(
        order_minutes(list(range(1, 11))),
        traffic_rows(
            (5, "order-service", 10.0, 1.0, 0.2),
            (10, "order-service", 40.0, 2.0, 0.3),
        ),
    )
    assert list(frame["timestamp"]) == [at(5), at(10)]
    assert list(frame["order_lines_per_minute"]) == [3.0, 8.0]
    assert list(frame["request_rate"]) == [10.0, 40.0]
    assert list(frame["error_rate"]) == [1.0, 2.0]
    assert list(frame["error_share"]) == [0.1, 0.05]
    assert frame.attrs["step"] == FIVE_MINUTES


def test_a_traffic_sample_at_t_pairs_with_the_orders_of_the_minute_before_t() -> None:
    # A rate evaluated at 10:01 measures (10:00, 10:01]: the orders placed in minute 10:00.
    frame = orders_and_traffic(
        order_minutes([7, 4]),
        traffic_rows((1, "order-service", 10.0, 0.0, 0.2), (2, "order-service", 20.0, 0.0, 0.2)),
    )
    assert list(frame["timestamp"]) == [at(1), at(2)]
    assert list(frame["order_lines_per_minute"]) == [7.0, 4.0]
    assert list(frame["request_rate"]) == [10.0, 20.0]


def test_steps_without_traffic_are_nan_and_steps_without_orders_are_zero() -> None:
    # Orders in minutes 10:00-10:01 (rows 10:01, 10:02); traffic at 10:02 and 10:04.
    frame = orders_and_traffic(
        order_minutes([3, 6]),
        traffic_rows((2, "order-service", 10.0, 1.0, 0.2), (4, "order-service", 30.0, 3.0, 0.4)),
        step=MINUTE,
    )
    assert list(frame["timestamp"]) == [at(1), at(2), at(3), at(4)]
    assert list(frame["order_lines_per_minute"]) == [3.0, 6.0, 0.0, 0.0]
    assert frame["request_rate"].isna().tolist() == [True, False, True, False]
    assert frame["request_rate"].dropna().tolist() == [10.0, 30.0]
    assert frame["error_share"].isna().tolist() == [True, False, True, False]
    assert frame["p95_latency_seconds"].isna().tolist() == [True, False, True, False]


def test_without_two_traffic_samples_the_step_is_one_minute() -> None:
    frame = orders_and_traffic(order_minutes([1, 2, 3]), empty_frame(SERVICE_TRAFFIC_COLUMNS))
    assert list(frame["timestamp"]) == [at(1), at(2), at(3)]
    assert list(frame["order_lines_per_minute"]) == [1.0, 2.0, 3.0]
    assert frame["request_rate"].isna().all()
    assert frame.attrs["step"] == MINUTE


def test_no_orders_and_no_traffic_give_an_empty_frame_with_the_columns() -> None:
    frame = orders_and_traffic(order_minutes([]), empty_frame(SERVICE_TRAFFIC_COLUMNS))
    assert frame.empty
    assert list(frame.columns) == ORDERS_AND_TRAFFIC_COLUMNS
    assert str(frame["timestamp"].dtype) == "datetime64[ns, UTC]"


@pytest.mark.parametrize(
    ("services", "request_rate", "error_rate", "error_share", "p95"),
    [
        # 10 + 30 req/s, 1 + 0 errors/s -> share 1/40; p95 max(0.2, 0.5); search left out.
        pytest.param(["order-service", "payments"], 40.0, 1.0, 0.025, 0.5, id="chosen-services"),
        # None chosen: every service counts. 140 req/s, 21 errors/s -> share 0.15; p95 2.0.
        pytest.param(None, 140.0, 21.0, 0.15, 2.0, id="every-service"),
    ],
)
def test_the_services_rates_are_summed_and_their_largest_p95_kept(
    services: list[str] | None,
    request_rate: float,
    error_rate: float,
    error_share: float,
    p95: float,
) -> None:
    traffic = traffic_rows(
        (1, "order-service", 10.0, 1.0, 0.20),
        (1, "payments", 30.0, 0.0, 0.50),
        (1, "search", 100.0, 20.0, 2.00),
    )
    row = orders_and_traffic(order_minutes([4]), traffic, services=services).iloc[0]
    assert row["request_rate"] == request_rate
    assert row["error_rate"] == error_rate
    assert row["error_share"] == pytest.approx(error_share)
    assert row["p95_latency_seconds"] == p95


def test_services_without_traffic_leave_the_traffic_columns_nan() -> None:
    frame = orders_and_traffic(
        order_minutes([4]), traffic_rows((1, "search", 100.0, 20.0, 2.0)), services=["payments"]
    )
    assert list(frame["order_lines_per_minute"]) == [4.0]
    assert frame[["request_rate", "error_rate", "error_share"]].isna().all().all()


def test_minute_traffic_on_a_five_minute_step_averages_rates_and_keeps_the_worst_p95() -> None:
    # Samples at 10:01..10:05 fall in the step ending 10:05. Requests 10, 20, 30, 40, 50 -> mean
    # 30/s; errors 0, 0, 3, 0, 0 -> mean 0.6/s; share 0.6 / 30 = 0.02; p95 max 0.9.
    traffic = traffic_rows(
        (1, "order-service", 10.0, 0.0, 0.1),
        (2, "order-service", 20.0, 0.0, 0.2),
        (3, "order-service", 30.0, 3.0, 0.9),
        (4, "order-service", 40.0, 0.0, 0.3),
        (5, "order-service", 50.0, 0.0, 0.2),
    )
    frame = orders_and_traffic(order_minutes([2, 2, 2, 2, 2]), traffic, step=FIVE_MINUTES)
    assert list(frame["timestamp"]) == [at(5)]
    row = frame.iloc[0]
    assert row["order_lines_per_minute"] == 2.0
    assert row["request_rate"] == pytest.approx(30.0)
    assert row["error_rate"] == pytest.approx(0.6)
    assert row["error_share"] == pytest.approx(0.02)
    assert row["p95_latency_seconds"] == 0.9


def test_a_step_shorter_than_a_minute_spreads_each_minutes_orders_evenly() -> None:
    # 8 lines in minute 10:00 over four 15 s steps: 2 lines each, i.e. 8 lines/min in every one.
    traffic = traffic_rows(
        *[(quarter / 4, "order-service", 1.0, 0.0, 0.1) for quarter in range(1, 5)]
    )
    frame = orders_and_traffic(order_minutes([8]), traffic)
    assert list(frame["timestamp"]) == [at(0.25), at(0.5), at(0.75), at(1)]
    assert list(frame["order_lines_per_minute"]) == [8.0, 8.0, 8.0, 8.0]


def test_a_step_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^step must be positive"):
        orders_and_traffic(
            order_minutes([1]), empty_frame(SERVICE_TRAFFIC_COLUMNS), step=dt.timedelta(0)
        )


# orders_per_thousand_requests


def test_orders_per_thousand_requests_divides_total_lines_by_total_requests() -> None:
    # Requests 2, 3, 5 /s over 60 s steps: 120 + 180 + 300 = 600. Lines 1 + 2 + 3 = 6.
    # 6 / 600 * 1000 = 10.
    frame = steps(request_rate=[2.0, 3.0, 5.0], order_lines_per_minute=[1.0, 2.0, 3.0])
    assert orders_per_thousand_requests(frame) == pytest.approx(10.0)


def test_orders_per_thousand_requests_on_a_five_minute_step_counts_whole_steps() -> None:
    # Rows 3 and 8 lines/min (15 + 40 = 55 lines) against 10 and 40 req/s over 300 s steps
    # (3000 + 12000 = 15000 requests): 55 / 15000 * 1000 = 11/3.
    frame = orders_and_traffic(
        order_minutes(list(range(1, 11))),
        traffic_rows((5, "order-service", 10.0, 1.0, 0.2), (10, "order-service", 40.0, 2.0, 0.3)),
    )
    assert orders_per_thousand_requests(frame) == pytest.approx(11 / 3)


def test_orders_in_steps_without_traffic_are_not_set_against_requests() -> None:
    # The middle step has no traffic, so its 2 lines are left out: the known steps hold
    # 1 + 3 = 4 lines against 120 + 300 = 420 requests -> 4 / 420 * 1000 = 9.52...
    frame = steps(request_rate=[2.0, NAN, 5.0], order_lines_per_minute=[1.0, 2.0, 3.0])
    assert orders_per_thousand_requests(frame) == pytest.approx(4 / 420 * 1000)


@pytest.mark.parametrize("request_rate", [[0.0, 0.0], [NAN, NAN], []])
def test_orders_per_thousand_requests_is_nan_without_requests(request_rate: list[float]) -> None:
    frame = steps(request_rate=request_rate, order_lines_per_minute=[5.0] * len(request_rate))
    assert math.isnan(orders_per_thousand_requests(frame))


# lagged_correlation


def test_orders_following_requests_by_three_steps_give_lag_plus_three_and_correlation_one() -> None:
    # orders[t + 3] = 2 x requests[t]: orders follow requests by exactly 3 steps.
    frame = steps(request_rate=PATTERN[3:], order_lines_per_minute=[2 * v for v in PATTERN[:-3]])
    result = lagged_correlation(frame)
    assert result.best_lag_steps == 3
    assert result.best_lag == 3 * MINUTE
    assert result.best_correlation == pytest.approx(1.0)
    assert result.correlation_at_zero < 0.5
    assert result.samples == len(PATTERN) - 3


def test_orders_leading_requests_by_three_steps_give_lag_minus_three() -> None:
    # requests[t + 3] = orders[t]: orders lead.
    frame = steps(request_rate=PATTERN[:-3], order_lines_per_minute=PATTERN[3:])
    result = lagged_correlation(frame)
    assert result.best_lag_steps == -3
    assert result.best_lag == -3 * MINUTE
    assert result.best_correlation == pytest.approx(1.0)


def test_the_best_lag_is_in_time_units_of_the_frames_step() -> None:
    frame = steps(request_rate=PATTERN[3:], order_lines_per_minute=PATTERN[:-3], step=FIVE_MINUTES)
    assert lagged_correlation(frame).best_lag == dt.timedelta(minutes=15)


def test_identical_series_correlate_fully_at_lag_zero() -> None:
    frame = steps(request_rate=PATTERN, order_lines_per_minute=[60 * v for v in PATTERN])
    result = lagged_correlation(frame)
    assert result.correlation_at_zero == pytest.approx(1.0)
    assert result.best_lag_steps == 0
    assert result.best_correlation == pytest.approx(1.0)


def test_lags_beyond_max_lag_steps_are_not_tried() -> None:
    frame = steps(request_rate=PATTERN[3:], order_lines_per_minute=PATTERN[:-3])
    result = lagged_correlation(frame, max_lag_steps=2)
    assert -2 <= result.best_lag_steps <= 2
    assert result.best_correlation < 0.5


def test_a_missing_step_does_not_shift_the_pairing() -> None:
    # Dropping a row leaves a gap in time, not a shift of the later rows by one step.
    frame = steps(request_rate=PATTERN[3:], order_lines_per_minute=PATTERN[:-3]).drop(index=8)
    result = lagged_correlation(frame)
    assert result.best_lag_steps == 3
    assert result.best_correlation == pytest.approx(1.0)
    assert result.samples == len(PATTERN) - 4


@pytest.mark.parametrize(
    ("request_rate", "order_lines_per_minute"),
    [
        pytest.param([4.0] * 12, PATTERN[:12], id="constant requests"),
        pytest.param(PATTERN[:12], [0.0] * 12, id="no orders"),
        pytest.param([0.1] * 12, [0.3] * 12, id="both constant"),
    ],
)
def test_a_constant_series_has_no_correlation(
    request_rate: list[float], order_lines_per_minute: list[float]
) -> None:
    result = lagged_correlation(
        steps(request_rate=request_rate, order_lines_per_minute=order_lines_per_minute)
    )
    assert math.isnan(result.correlation_at_zero)
    assert math.isnan(result.best_correlation)
    assert (result.best_lag_steps, result.best_lag) == (0, dt.timedelta(0))
    assert result.samples == 12


def test_fewer_than_three_overlapping_steps_have_no_correlation() -> None:
    # Four rows but only two with a request rate.
    frame = steps(request_rate=[1.0, NAN, 3.0, NAN], order_lines_per_minute=[2.0, 5.0, 1.0, 4.0])
    result = lagged_correlation(frame)
    assert isinstance(result, LagCorrelation)
    assert (result.best_lag_steps, result.best_lag, result.samples) == (0, dt.timedelta(0), 2)
    assert math.isnan(result.correlation_at_zero)
    assert math.isnan(result.best_correlation)


def test_an_empty_frame_has_no_correlation() -> None:
    result = lagged_correlation(steps(request_rate=[], order_lines_per_minute=[]))
    assert math.isnan(result.best_correlation)
    assert result.samples == 0


def test_a_negative_max_lag_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^max_lag_steps must not be negative"):
        lagged_correlation(steps(request_rate=[1.0], order_lines_per_minute=[1.0]), -1)


# orders_at_risk and total_orders_at_risk

# Two bursts above 2%: steps 2-3 (ending 10:02, 10:03) and 5-6 (ending 10:05, 10:06).
BURSTS = steps(
    request_rate=[10.0] * 7,
    order_lines_per_minute=[10.0, 20.0, 10.0, 30.0, 40.0, 50.0, 60.0],
    error_share=[0.0, 0.05, 0.10, 0.01, 0.03, 0.04, 0.0],
)


def test_two_error_bursts_put_error_share_times_their_orders_at_risk() -> None:
    # Burst 1: 0.05 x 20 + 0.10 x 10 = 2.0 lines, 10:01-10:03, peak 0.10.
    # Burst 2: 0.03 x 40 + 0.04 x 50 = 3.2 lines, 10:04-10:06, peak 0.04.
    bursts = orders_at_risk(BURSTS)
    assert list(bursts.columns) == ORDERS_AT_RISK_COLUMNS
    assert list(bursts["start"]) == [at(1), at(4)]
    assert list(bursts["end"]) == [at(3), at(6)]
    assert list(bursts["minutes"]) == [2.0, 2.0]
    assert list(bursts["peak_error_share"]) == [0.10, 0.04]
    assert bursts["orders_at_risk"].tolist() == pytest.approx([2.0, 3.2])
    assert total_orders_at_risk(BURSTS) == pytest.approx(5.2)


def test_orders_at_risk_has_the_documented_dtypes() -> None:
    bursts = orders_at_risk(BURSTS)
    assert str(bursts["start"].dtype) == "datetime64[ns, UTC]"
    assert str(bursts["end"].dtype) == "datetime64[ns, UTC]"
    for column in ("minutes", "peak_error_share", "orders_at_risk"):
        assert bursts[column].dtype == "float64", column


def test_a_higher_threshold_keeps_only_the_bursts_above_it() -> None:
    # Above 4%: steps 2-3 only (0.05, 0.10); 0.04 is not above 0.04.
    bursts = orders_at_risk(BURSTS, error_share_threshold=0.04)
    assert list(bursts["start"]) == [at(1)]
    assert total_orders_at_risk(BURSTS, 0.04) == pytest.approx(2.0)


def test_an_error_share_at_the_threshold_or_unknown_ends_a_burst() -> None:
    # 0.02 is not above 0.02, and NaN is not known to be: three one-step bursts.
    frame = steps(
        request_rate=[10.0] * 5,
        order_lines_per_minute=[10.0] * 5,
        error_share=[0.05, 0.02, 0.05, NAN, 0.05],
    )
    bursts = orders_at_risk(frame)
    assert list(bursts["start"]) == [at(0), at(2), at(4)]
    assert bursts["orders_at_risk"].tolist() == pytest.approx([0.5, 0.5, 0.5])


def test_a_missing_step_ends_a_burst() -> None:
    frame = steps(
        request_rate=[10.0] * 3, order_lines_per_minute=[10.0] * 3, error_share=[0.05] * 3
    ).drop(index=1)
    assert list(orders_at_risk(frame)["end"]) == [at(1), at(3)]


def test_on_a_five_minute_step_orders_at_risk_count_the_steps_lines() -> None:
    # 4 lines/min x 5 min = 20 lines per step; 0.1 x 20 + 0.05 x 20 = 3.0; 10 minutes.
    frame = steps(
        request_rate=[10.0, 10.0],
        order_lines_per_minute=[4.0, 4.0],
        error_share=[0.1, 0.05],
        step=FIVE_MINUTES,
    )
    bursts = orders_at_risk(frame)
    assert list(bursts["start"]) == [at(0)]
    assert list(bursts["end"]) == [at(10)]
    assert list(bursts["minutes"]) == [10.0]
    assert total_orders_at_risk(frame) == pytest.approx(3.0)


def test_a_single_step_frame_keeps_the_step_orders_and_traffic_gave_it() -> None:
    # 15 lines in 10:00-10:04 and 10% errors at 10:05: 1.5 lines at risk over 5 minutes.
    frame = orders_and_traffic(
        order_minutes([1, 2, 3, 4, 5]),
        traffic_rows((5, "order-service", 10.0, 1.0, 0.2)),
        step=FIVE_MINUTES,
    )
    bursts = orders_at_risk(frame)
    assert list(bursts["minutes"]) == [5.0]
    assert bursts["orders_at_risk"].tolist() == pytest.approx([1.5])


def test_without_bursts_there_are_no_rows_and_nothing_at_risk() -> None:
    frame = steps(request_rate=[10.0] * 3, order_lines_per_minute=[5.0] * 3)
    bursts = orders_at_risk(frame)
    assert bursts.empty
    assert list(bursts.columns) == ORDERS_AT_RISK_COLUMNS
    assert total_orders_at_risk(frame) == 0.0
