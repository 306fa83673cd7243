"""The order services' availability from their traffic, worked by hand."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from queries.availability import NO_TRAFFIC, request_availability

END = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)


def traffic(rows: list[tuple[str, str, float, float]]) -> pd.DataFrame:
    """(moment, service, requests/s, 5xx/s) rows as service_traffic gives them."""
    return pd.DataFrame(
        {
            "timestamp": pd.to_datetime([moment for moment, *_ in rows], utc=True),
            "service": [service for _, service, *_ in rows],
            "request_rate": [requests for *_, requests, _ in rows],
            "error_rate": [errors for *_, errors in rows],
        }
    )


# Two days of one-day periods. The day before (25 Nov): orders 10 + 30 requests/s, 2 of them
# errors: 1 - 2/40 = 0.95. The period (26 Nov): orders 50 + 50, 10 errors: 1 - 10/100 = 0.9.
# search fails everything and is not an order service.
TWO_DAYS = traffic(
    [
        ("2026-11-25 06:00", "orders", 10.0, 2.0),
        ("2026-11-25 18:00", "orders", 30.0, 0.0),
        ("2026-11-26 06:00", "orders", 50.0, 10.0),
        ("2026-11-26 18:00", "orders", 50.0, 0.0),
        ("2026-11-26 12:00", "search", 5.0, 5.0),
    ]
)


def test_shares_are_weighted_by_requests_per_period_and_per_day() -> None:
    found = request_availability(TWO_DAYS, ["orders"], END, days=1)
    assert math.isclose(found.current, 0.9, rel_tol=1e-12)
    # By requests: 1 - 2/40 = 0.95; the mean of the samples' shares would be (0.8 + 1) / 2.
    assert math.isclose(found.previous, 0.95, rel_tol=1e-12)
    assert found.daily == [0.95, 0.9]


def test_without_named_services_every_service_counts() -> None:
    found = request_availability(TWO_DAYS, [], END, days=1)
    # 26 Nov with search: 1 - 15/105.
    assert math.isclose(found.current, 1 - 15 / 105, rel_tol=1e-12)
    assert found.daily[1] == 1 - 15 / 105


def test_a_day_without_requests_is_whole_in_the_sparkline_and_a_period_without_them_is_nan() -> (
    None
):
    rows = traffic(
        [
            ("2026-11-23 12:00", "orders", 10.0, 1.0),
            # 24 Nov: no samples; 25 Nov: errors counted on no requests (a scrape gap).
            ("2026-11-25 12:00", "orders", 0.0, 1.0),
        ]
    )
    found = request_availability(rows, ["orders"], END, days=2)
    assert math.isnan(found.current)  # 25 and 26 Nov: no requests at all
    assert math.isclose(found.previous, 0.9, rel_tol=1e-12)
    assert found.daily == [0.9, 1.0, 1.0]


def test_no_traffic_gives_no_figures_and_the_review_row_says_so() -> None:
    assert request_availability(TWO_DAYS.iloc[:0], ["orders"], END, days=7) is NO_TRAFFIC
    row = NO_TRAFFIC.kpi_row()
    assert (row["kpi"], row["unit"], row["sparkline"]) == ("availability", "share", [])
    assert math.isnan(row["current"])
    assert math.isnan(row["delta"])


def test_the_review_row_changes_in_points_not_in_relative_terms() -> None:
    row = request_availability(TWO_DAYS, ["orders"], END, days=1).kpi_row()
    assert math.isclose(row["delta"], 0.9 - 0.95, rel_tol=1e-12)
    assert math.isnan(row["delta_share"])
    assert row["sparkline"] == [0.95, 0.9]
