"""The demand forecast: Holt-Winters against the seasonal naive baseline, scored by a
rolling-origin backtest, with the reasons a series keeps the baseline."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from queries.forecast import (
    BACKTEST_HORIZON,
    BACKTEST_ORIGINS,
    BASELINE,
    HORIZON_DAYS,
    MODEL,
    TRACKING_LIMIT,
    Backtest,
    backtest,
    daily_series,
    forecast_all,
    forecast_series,
    overall_accuracy,
    seasonal_naive,
)

WEEK = np.array([10.0, 12.0, 11.0, 13.0, 16.0, 6.0, 4.0])


def weekly(weeks: int, noise: float = 1.5, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(np.tile(WEEK, weeks) + rng.normal(0, noise, 7 * weeks), 0, None)


def test_the_backtest_scores_by_hand() -> None:
    test = Backtest(
        actual=np.array([[10.0, 10.0], [10.0, 10.0]]), errors=np.array([[2.0, -1.0], [3.0, 0.0]])
    )
    assert test.wape == pytest.approx(6 / 40)
    assert test.bias == pytest.approx(-4 / 40)  # forecast - actual: it forecast too little
    # Weekly errors 1 and 3: their sum over their mean absolute value.
    assert test.tracking_signal == pytest.approx(4 / 2)
    assert math.isnan(Backtest(np.zeros((1, 2)), np.zeros((1, 2))).wape)


def test_seasonal_naive_repeats_the_last_week_and_is_exact_on_a_pure_season() -> None:
    history = np.tile(WEEK, 8)
    assert list(seasonal_naive(history, 9)) == [*WEEK, *WEEK[:2]]
    test = backtest(history, seasonal_naive)
    assert test.actual.shape == (BACKTEST_ORIGINS, BACKTEST_HORIZON)
    assert test.wape == 0.0


def test_a_seasonal_series_takes_the_model_and_its_band_holds_the_season() -> None:
    result = forecast_series(weekly(16))
    assert result.method == MODEL
    assert result.reason == ""
    assert result.model is not None
    assert result.baseline is not None
    assert result.model.wape < result.baseline.wape
    assert len(result.forecast) == HORIZON_DAYS
    # The history ends on the week's last day: the forecast starts the week again.
    assert np.abs(result.forecast[:7] - WEEK).max() < 2.0
    assert (result.lower <= result.forecast).all()
    assert (result.forecast <= result.upper).all()
    assert (result.lower >= 0).all()
    # The band is the backtest errors' 10th to 90th percentile around the forecast.
    low, high = np.quantile(result.model.errors, [0.1, 0.9])
    assert result.upper[0] - result.forecast[0] == pytest.approx(high)
    assert result.lower[0] == pytest.approx(max(result.forecast[0] + low, 0.0))
    assert abs(result.model.tracking_signal) <= BACKTEST_ORIGINS


def test_a_series_whose_demand_climbs_has_a_tracking_signal_outside_the_limit() -> None:
    history = weekly(16, noise=0.5) * np.linspace(1.0, 3.0, 7 * 16)
    result = forecast_series(history)
    assert result.used is not None
    assert result.used.tracking_signal > TRACKING_LIMIT  # every week above its forecast
    assert result.used.bias < 0


@pytest.mark.parametrize(
    ("history", "reason"),
    [
        (np.ones(30), "too little history: 30 days, the model needs 58"),
        (np.zeros(112), "no demand in the last 58 days"),
        (
            np.where(np.arange(112) % 7 == 0, 3.0, 0.0),
            "intermittent demand: 8 of the last 58 days had orders, the model needs 14",
        ),
    ],
)
def test_a_series_the_model_cannot_fit_keeps_the_baseline_with_the_reason(
    history: np.ndarray, reason: str
) -> None:
    result = forecast_series(history)
    assert result.method == BASELINE
    assert result.reason == reason
    assert result.model is None
    assert list(result.forecast) == list(seasonal_naive(history, HORIZON_DAYS))


def test_a_pure_season_keeps_the_baseline_that_cannot_be_beaten() -> None:
    result = forecast_series(np.tile(WEEK, 16))
    assert result.method == BASELINE
    assert result.reason.startswith("the baseline did as well or better (WAPE 0%")


def test_every_sku_gets_a_forecast_and_its_accuracy() -> None:
    rows = []
    for sku, history in ((1, weekly(16)), (2, np.zeros(0)), (3, weekly(16, seed=2)[:40])):
        rows += [(sku, 20_000 + day, float(units)) for day, units in enumerate(history) if units]
    rows.append((2, 20_111, 5.0))  # one order on the last day
    daily = pd.DataFrame(rows, columns=["sku_id", "day", "units"])
    series = daily_series(daily, 20_111)
    assert len(series[1]) == 112
    assert len(series[3]) == 112  # zeros after its last order
    assert list(series[2]) == [5.0]

    result = forecast_all(daily, 20_111)
    assert result.as_of_day == 20_111
    assert len(result.forecasts) == 3 * HORIZON_DAYS
    assert result.forecasts["day"].min() == 20_112
    methods = dict(zip(result.accuracy["sku_id"], result.accuracy["method"], strict=True))
    assert methods == {1: MODEL, 2: BASELINE, 3: BASELINE}
    summary = overall_accuracy(result.accuracy)
    assert summary.skus == 3
    assert summary.model_skus == 1
    assert summary.model_share == pytest.approx(1 / 3)
    scored = result.accuracy.set_index("sku_id")
    assert math.isnan(scored.loc[2, "wape"])  # one day: no backtest
    weights = scored["actual_units"][scored["actual_units"] > 0]
    expected = (scored.loc[weights.index, "wape"] * weights).sum() / weights.sum()
    assert summary.wape == pytest.approx(expected)
    # Only the SKU on the model plans its stock: the forecast's mean a day over the week ahead,
    # and the root mean square of the model's backtest errors a day.
    assert list(result.plan["sku_id"]) == [1]
    on_model = forecast_series(series[1])
    assert on_model.used is not None
    assert result.plan["daily_demand"].iloc[0] == pytest.approx(on_model.forecast.mean())
    errors = on_model.used.errors
    assert result.plan["sd_daily_demand"].iloc[0] == pytest.approx(
        math.sqrt((errors**2).sum() / errors.size)
    )
