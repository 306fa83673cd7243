"""The order service's availability SLO: the error budget left this period, and how fast it burns.

An availability SLO of 99.5% over 30 days allows 0.5% of the period's requests to fail (a 5xx
answer): that share is the error budget. The budget left is the part of it the period's
failures have not spent (it goes below 0 when they spent more); the burn rate is the error
ratio of the last hour against the budget, so 1 spends exactly the budget over the period and
14.4 spends 2% of it in an hour (the fast-burn alert's rate, deploy/prometheus/invdash-rules.yml).
The period is a rolling one, as the alert rules read it.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from queries.telemetry import MetricsSource, RequestCounts

SLO_PERIOD = dt.timedelta(days=30)
BURN_WINDOW = dt.timedelta(hours=1)
# The burn rates of the multiwindow alerts (the rules file's), for the words beside a rate.
FAST_BURN_RATE = 14.4
SLOW_BURN_RATE = 6.0


def error_ratio(counts: RequestCounts) -> float:
    """The share of the requests that failed; NaN without requests."""
    return counts.errors / counts.requests if counts.requests > 0 else math.nan


@dataclass(frozen=True)
class SloStatus:
    service: str
    objective: float  # e.g. 0.995
    period: dt.timedelta
    period_counts: RequestCounts
    burn_counts: RequestCounts  # over BURN_WINDOW

    @property
    def error_budget(self) -> float:
        """The share of requests the objective lets fail."""
        return 1.0 - self.objective

    @property
    def availability(self) -> float:
        """The share of the period's requests answered without a 5xx; NaN without requests."""
        return 1.0 - error_ratio(self.period_counts)

    @property
    def budget_left(self) -> float:
        """The share of the error budget not yet spent this period (below 0: overspent)."""
        return 1.0 - error_ratio(self.period_counts) / self.error_budget

    @property
    def burn_rate(self) -> float:
        """The last hour's error ratio against the budget (1: the budget lasts the period)."""
        return error_ratio(self.burn_counts) / self.error_budget

    @property
    def burn_state(self) -> str:
        """ "fast" at or above the fast-burn rate, "slow" at or above the slow one, "within"
        below it, "unknown" without requests in the last hour."""
        rate = self.burn_rate
        if math.isnan(rate):
            return "unknown"
        # A rate computed to exactly the threshold (0.072 / 0.005) may fall a rounding short.
        if rate >= FAST_BURN_RATE - 1e-9:
            return "fast"
        return "slow" if rate >= SLOW_BURN_RATE - 1e-9 else "within"


def slo_status(
    source: MetricsSource,
    service: str,
    objective: float,
    now: dt.datetime,
    period: dt.timedelta = SLO_PERIOD,
) -> SloStatus:
    """``service``'s SLO as of ``now``: the requests and failures of the period before it and
    of the last hour, from the metrics source."""
    if not 0 < objective < 1:
        raise ValueError(f"objective must lie strictly between 0 and 1, not {objective}")
    return SloStatus(
        service,
        objective,
        period,
        source.service_request_counts(service, period, now),
        source.service_request_counts(service, BURN_WINDOW, now),
    )
