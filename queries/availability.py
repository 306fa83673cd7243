"""The order services' availability from their traffic (``MetricsSource.service_traffic``
rows): the share of requests answered without a 5xx, weighted by requests, for a period, the
period before it and each day, as a row of the executive review (``queries.kpis``)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Availability:
    """Shares of requests answered without a 5xx (NaN for a period without requests)."""

    current: float  # the ``days`` before ``end`` (every row from end - days on)
    previous: float  # the rows before that
    # One per UTC day of the rows, oldest first; a day without requests counts as 1.0 (nothing
    # failed), so that a sparkline has no gap.
    daily: list[float]

    def kpi_row(self) -> dict[str, Any]:
        """The ``availability`` row of a review, in ``period_kpis``' columns (a change in
        shares is read as points, so no relative change)."""
        return {
            "kpi": "availability",
            "unit": "share",
            "current": self.current,
            "previous": self.previous,
            "delta": self.current - self.previous,
            "delta_share": math.nan,
            "sparkline": self.daily,
        }


NO_TRAFFIC = Availability(math.nan, math.nan, [])


def request_availability(
    traffic: pd.DataFrame, services: list[str], end: dt.datetime, days: int
) -> Availability:
    """The availability of ``services`` (every service in ``traffic`` when empty) over the
    ``days`` before ``end`` against the rows before those. ``traffic`` holds timestamp (aware
    UTC), service, request_rate and error_rate (per second, at a fixed step, so that sums
    weigh alike)."""
    if traffic.empty:
        return NO_TRAFFIC
    rows = traffic[traffic["service"].isin(services)] if services else traffic
    split = pd.Timestamp(end) - pd.Timedelta(days=days)
    daily = rows.set_index("timestamp")[["request_rate", "error_rate"]].resample("1D").sum()
    daily_share = (1 - daily["error_rate"] / daily["request_rate"]).replace(
        [np.inf, -np.inf], np.nan
    )
    return Availability(
        _share(rows[rows["timestamp"] >= split]),
        _share(rows[rows["timestamp"] < split]),
        [float(value) for value in daily_share.fillna(1.0)],
    )


def _share(rows: pd.DataFrame) -> float:
    requests = float(rows["request_rate"].sum())
    return 1 - float(rows["error_rate"].sum()) / requests if requests > 0 else math.nan
