"""Daily demand forecasts per SKU that say how good they are.

Each SKU's daily units ordered (summed over its warehouses) are forecast HORIZON_DAYS ahead by
additive Holt-Winters exponential smoothing with weekly seasonality (statsmodels'
``ExponentialSmoothing``, its parameters fitted by maximum likelihood), and by the seasonal
naive baseline (each day as the same weekday a week before). A rolling-origin backtest scores
both: from each of the last BACKTEST_ORIGINS weekly origins, fitted on the days before it and
forecasting the BACKTEST_HORIZON days after it. On those errors (actual - forecast):

- WAPE = sum |error| / sum actual (the share of demand the forecast misses);
- bias = sum (forecast - actual) / sum actual (positive: it forecasts too much);
- tracking signal = the sum of the weekly errors / their mean absolute value (Brown's, one
  period a backtest week, so it lies within +-BACKTEST_ORIGINS): outside +-TRACKING_LIMIT the
  errors ran the same way in nearly every week, and the model is going stale.

A SKU's forecast is the model's where its backtest WAPE beats the baseline's, else the
baseline's, with the reason; a series that cannot be fitted (too little history, too few days
with demand, all zeros, a failed fit) takes the baseline with the reason, never an exception.
The 80% band is the forecast plus the 10th and 90th percentiles of the chosen method's backtest
errors (empirical intervals: no assumption that the errors are normal), never below 0.

Where the model's forecast is used, it also plans the stock (``PLAN_COLUMNS``): its mean over
the horizon (a whole season, so the weekday pattern averages out; without a trend the model
forecasts the same mean for any longer lead time) as the daily demand, and the root mean square
of its backtest's daily errors as the deviation the safety stock covers (the forecast's own
uncertainty, not the spread of past demand around a flat mean). ``queries.inventory`` shares
both among the SKU's warehouses. Where the baseline stands, the stock maths keep the demand
window's mean and deviation.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]

SEASON_DAYS = 7
BACKTEST_ORIGINS = 6
BACKTEST_HORIZON = 7
# A week ahead: as far as the backtest scores (and the band is drawn from its errors).
HORIZON_DAYS = BACKTEST_HORIZON
# The days a fit reads, at most: recent enough to follow the demand, long enough for the season.
HISTORY_DAYS = 16 * 7
# Below these the model is not fitted: the baseline stands, with the reason.
# statsmodels' heuristic initial state needs 10 + 2 x (7 // 2) days: the earliest backtest
# origin must have them.
MIN_FIT_DAYS = 16
MIN_HISTORY_DAYS = MIN_FIT_DAYS + BACKTEST_ORIGINS * BACKTEST_HORIZON
MIN_DEMAND_DAYS = 14  # of the last MIN_HISTORY_DAYS
TRACKING_LIMIT = 4.0
BAND = (0.1, 0.9)  # the 80% band's quantiles of the backtest errors

MODEL = "holt-winters"
BASELINE = "seasonal naive"

# Forecast rows: one per SKU and forecast day (whole UTC days numbered from 1970-01-01).
FORECAST_COLUMNS = ["sku_id", "day", "forecast", "lower", "upper", "method"]
# Accuracy rows: one per SKU, from the backtest. wape, bias and tracking_signal are the used
# method's; model_wape and baseline_wape both (NaN where the model was not fitted).
ACCURACY_COLUMNS = [
    "sku_id", "method", "reason", "wape", "bias", "tracking_signal", "model_wape",
    "baseline_wape", "actual_units",
]  # fmt: skip
# The stock plan of the SKUs on the model: units a day (summed over warehouses) and the daily
# deviation of the forecast's errors.
PLAN_COLUMNS = ["sku_id", "daily_demand", "sd_daily_demand"]


def seasonal_naive(history: FloatArray, horizon: int) -> FloatArray:
    """Each day ahead as the same weekday in the last week of ``history``."""
    last_week = history[-SEASON_DAYS:]
    forecast: FloatArray = np.resize(last_week, horizon).astype(np.float64)
    return forecast


def holt_winters(history: FloatArray, horizon: int) -> FloatArray:
    """Additive Holt-Winters with a weekly season, fitted to ``history``; never below 0."""
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    with warnings.catch_warnings():
        # A fit that stops short of the optimum still forecasts; the backtest judges it.
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        fitted = ExponentialSmoothing(
            history,
            trend=None,
            seasonal="add",
            seasonal_periods=SEASON_DAYS,
            # The initial level and season from the first weeks (statsmodels' heuristic), the
            # smoothing weights fitted from there: five times faster than estimating all of
            # them, for a batch of every SKU every day.
            initialization_method="heuristic",
        ).fit(use_brute=False)
    forecast = np.asarray(fitted.forecast(horizon), dtype=np.float64)
    if not np.isfinite(forecast).all():
        raise ValueError("the fit forecast a non-finite value")
    clipped: FloatArray = np.clip(forecast, 0.0, None)
    return clipped


Method = Callable[[FloatArray, int], FloatArray]


@dataclass(frozen=True)
class Backtest:
    """Rolling-origin errors (actual - forecast), one row per origin, oldest first."""

    actual: FloatArray  # (origins, horizon)
    errors: FloatArray  # (origins, horizon)

    @property
    def wape(self) -> float:
        total = float(self.actual.sum())
        return float(np.abs(self.errors).sum()) / total if total > 0 else math.nan

    @property
    def bias(self) -> float:
        total = float(self.actual.sum())
        return float(-self.errors.sum()) / total if total > 0 else math.nan

    @property
    def rmse(self) -> float:
        """The root mean square of the daily errors (the forecast's deviation a day)."""
        return float(np.sqrt(np.mean(self.errors**2))) if self.errors.size else math.nan

    @property
    def tracking_signal(self) -> float:
        weekly = self.errors.sum(axis=1)
        mad = float(np.abs(weekly).mean())
        return float(weekly.sum()) / mad if mad > 0 else 0.0


def backtest(history: FloatArray, method: Method) -> Backtest:
    """``method`` from each of the last BACKTEST_ORIGINS weekly origins of ``history``."""
    actual, errors = [], []
    for k in range(BACKTEST_ORIGINS, 0, -1):
        origin = len(history) - k * BACKTEST_HORIZON
        truth = history[origin : origin + BACKTEST_HORIZON]
        forecast = method(history[:origin], BACKTEST_HORIZON)
        actual.append(truth)
        errors.append(truth - forecast)
    return Backtest(np.asarray(actual, dtype=np.float64), np.asarray(errors, dtype=np.float64))


@dataclass(frozen=True)
class SkuForecast:
    method: str
    reason: str  # why the baseline, "" when the model's forecast is used
    forecast: FloatArray  # HORIZON_DAYS values from the day after the history
    lower: FloatArray
    upper: FloatArray
    used: Backtest | None  # the used method's backtest (None: history too short for one)
    model: Backtest | None
    baseline: Backtest | None


def _why_not_fitted(history: FloatArray) -> str:
    if len(history) < MIN_HISTORY_DAYS:
        return f"too little history: {len(history)} days, the model needs {MIN_HISTORY_DAYS}"
    recent = history[-MIN_HISTORY_DAYS:]
    if not recent.any():
        return f"no demand in the last {MIN_HISTORY_DAYS} days"
    days = int((recent > 0).sum())
    if days < MIN_DEMAND_DAYS:
        return (
            f"intermittent demand: {days} of the last {MIN_HISTORY_DAYS} days had orders, "
            f"the model needs {MIN_DEMAND_DAYS}"
        )
    return ""


def _band(forecast: FloatArray, test: Backtest | None) -> tuple[FloatArray, FloatArray]:
    if test is None:
        return forecast.copy(), forecast.copy()
    low, high = np.quantile(test.errors.ravel(), BAND)
    lower: FloatArray = np.clip(forecast + low, 0.0, None)
    upper: FloatArray = np.clip(forecast + high, 0.0, None)
    return lower, upper


def forecast_series(history: FloatArray) -> SkuForecast:
    """The forecast of one daily series (oldest day first, the last whole day last)."""
    history = np.asarray(history, dtype=np.float64)[-HISTORY_DAYS:]
    baseline_test = (
        backtest(history, seasonal_naive)
        if len(history) >= (BACKTEST_ORIGINS + 1) * BACKTEST_HORIZON
        else None
    )
    baseline = seasonal_naive(history, HORIZON_DAYS) if len(history) else np.zeros(HORIZON_DAYS)
    reason = _why_not_fitted(history)
    model_test: Backtest | None = None
    if not reason:
        try:
            model_test = backtest(history, holt_winters)
            model = holt_winters(history, HORIZON_DAYS)
        except Exception as error:  # any failure of one SKU's fit keeps its baseline
            reason, model_test = f"the model could not be fitted: {error}", None
    if (
        not reason
        and model_test is not None
        and baseline_test is not None
        and not model_test.wape < baseline_test.wape
    ):
        reason = (
            f"the baseline did as well or better (WAPE {baseline_test.wape:.0%} against "
            f"the model's {model_test.wape:.0%})"
        )
    if reason:
        lower, upper = _band(baseline, baseline_test)
        return SkuForecast(
            BASELINE, reason, baseline, lower, upper, baseline_test, model_test, baseline_test
        )
    lower, upper = _band(model, model_test)
    return SkuForecast(MODEL, "", model, lower, upper, model_test, model_test, baseline_test)


def daily_series(
    daily: pd.DataFrame, last_day: int, first_day: int | None = None
) -> dict[int, FloatArray]:
    """Each SKU's units per day from ``first_day`` (the first day the data holds; None: each
    SKU's first day with demand) to ``last_day`` (inclusive), at most HISTORY_DAYS, zeros on
    days without: ``daily`` has columns sku_id, day (int), units."""
    series: dict[int, FloatArray] = {}
    earliest = last_day - HISTORY_DAYS + 1
    for sku_id, rows in daily[daily["day"] <= last_day].groupby("sku_id", sort=True):
        first = max(earliest, int(rows["day"].min()) if first_day is None else first_day)
        rows = rows[rows["day"] >= first]
        values = np.zeros(last_day - first + 1)
        np.add.at(values, rows["day"].to_numpy(np.int64) - first, rows["units"].to_numpy(float))
        series[int(str(sku_id))] = values
    return series


@dataclass(frozen=True)
class Forecasts:
    as_of_day: int  # the last whole day the forecasts read
    forecasts: pd.DataFrame  # FORECAST_COLUMNS
    accuracy: pd.DataFrame  # ACCURACY_COLUMNS
    plan: pd.DataFrame  # PLAN_COLUMNS, the SKUs on the model


def forecast_all(daily: pd.DataFrame, last_day: int, first_day: int | None = None) -> Forecasts:
    """Every SKU's forecast from the day after ``last_day`` and its backtest's accuracy
    (``first_day``: as ``daily_series``)."""
    forecast_rows, accuracy_rows, plan_rows = [], [], []
    days = np.arange(last_day + 1, last_day + 1 + HORIZON_DAYS, dtype=np.int64)
    for sku_id, history in daily_series(daily, last_day, first_day).items():
        result = forecast_series(history)
        for day, value, low, high in zip(
            days, result.forecast, result.lower, result.upper, strict=True
        ):
            forecast_rows.append(
                (sku_id, int(day), float(value), float(low), float(high), result.method)
            )
        used = result.used
        if result.method == MODEL and used is not None:
            plan_rows.append((sku_id, float(result.forecast.mean()), used.rmse))
        accuracy_rows.append(
            (
                sku_id, result.method, result.reason,
                math.nan if used is None else used.wape,
                math.nan if used is None else used.bias,
                math.nan if used is None else used.tracking_signal,
                math.nan if result.model is None else result.model.wape,
                math.nan if result.baseline is None else result.baseline.wape,
                0.0 if used is None else float(used.actual.sum()),
            )
        )  # fmt: skip
    forecasts = pd.DataFrame(forecast_rows, columns=FORECAST_COLUMNS)
    accuracy = pd.DataFrame(accuracy_rows, columns=ACCURACY_COLUMNS)
    plan = pd.DataFrame(plan_rows, columns=PLAN_COLUMNS)
    return Forecasts(last_day, forecasts, accuracy, plan)


@dataclass(frozen=True)
class OverallAccuracy:
    skus: int
    model_skus: int  # SKUs whose forecast is the model's
    wape: float  # of the used forecasts, weighted by demand
    baseline_wape: float  # of the baseline, on the same SKUs
    bias: float
    stale_skus: int  # |tracking signal| > TRACKING_LIMIT

    @property
    def model_share(self) -> float:
        return self.model_skus / self.skus if self.skus else math.nan


def overall_accuracy(accuracy: pd.DataFrame) -> OverallAccuracy:
    """The backtest over every SKU: WAPEs and bias weighted by each SKU's backtest demand."""
    scored = accuracy[accuracy["actual_units"] > 0]
    weights = scored["actual_units"]
    total = float(weights.sum())

    def weighted(column: str) -> float:
        values = scored[column]
        known = values.notna()
        return (
            float((values[known] * weights[known]).sum() / weights[known].sum())
            if total and known.any()
            else math.nan
        )

    return OverallAccuracy(
        skus=len(accuracy),
        model_skus=int((accuracy["method"] == MODEL).sum()),
        wape=weighted("wape"),
        baseline_wape=weighted("baseline_wape"),
        bias=weighted("bias"),
        stale_skus=int((accuracy["tracking_signal"].abs() > TRACKING_LIMIT).sum()),
    )
