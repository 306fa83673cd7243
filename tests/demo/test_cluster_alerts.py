"""The demo cluster's checkout outages, alerts and request counts: what the SLO and the alert
strip read on the demo, checked against the traffic the SRE page plots and the rules' own
conditions.

The order volume here books what the demo's orders loop books: one order line a minute, of
which only every tenth gets through while the checkout is broken (demo.visitors).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from demo import visitors
from demo.cluster import MAX_REPLICAS, MIN_REPLICAS, DemoCluster
from queries import telemetry
from queries.slo import slo_status

# Friday 2026-11-27: a checkout outage from 12:40 to 13:55 UTC (demo.visitors).
OUTAGE_START = dt.datetime(2026, 11, 27, 12, 40, tzinfo=dt.UTC)
OUTAGE_END = OUTAGE_START + dt.timedelta(minutes=visitors.OUTAGE_LENGTH)


def booked_lines(start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
    minutes = pd.date_range(pd.Timestamp(start).ceil("min"), end, freq="min", inclusive="left")
    outage = visitors.outage_minutes([visitors.minute_of(m.to_pydatetime()) for m in minutes])
    counts = [
        int(not down or minute.minute % 10 == 0) * (3 if 10 <= minute.minute < 20 else 1)
        for minute, down in zip(minutes, outage, strict=True)
    ]
    return pd.DataFrame(
        {"timestamp": minutes, "order_lines": pd.Series(counts, dtype="int64"),
         "units": pd.Series(counts, dtype="float64")}
    )  # fmt: skip


def demo_at(moment: dt.datetime) -> DemoCluster:
    return DemoCluster(booked_lines, clock=lambda: moment)


def test_the_outage_schedule_alternates_so_a_week_earlier_is_never_down() -> None:
    start, end = visitors.next_outage(OUTAGE_START - dt.timedelta(hours=1))
    assert (start, end) == (OUTAGE_START, OUTAGE_END)
    assert visitors.in_outage(OUTAGE_START)
    assert not visitors.in_outage(OUTAGE_END)
    minutes = range(visitors.minute_of(OUTAGE_START) - 3 * 10_080, visitors.minute_of(OUTAGE_START))
    down = visitors.outage_minutes(list(minutes))
    week_earlier = visitors.outage_minutes([m - 10_080 for m in minutes])
    assert down.any()
    assert not (down & week_earlier).any()
    assert down.mean() == pytest.approx(
        visitors.OUTAGE_LENGTH / (2 * visitors.BLOCK_MINUTES), abs=0.01
    )


def test_requests_hold_through_the_outage_while_orders_drop() -> None:
    before = demo_at(OUTAGE_START).service_request_counts(
        "order-service", dt.timedelta(minutes=30), OUTAGE_START
    )
    inside = OUTAGE_START + dt.timedelta(minutes=45)
    during = demo_at(inside).service_request_counts(
        "order-service", dt.timedelta(minutes=30), inside
    )
    # The visitors keep coming (the hourly spike falls in both windows: 12:10-12:20, 13:10-13:20).
    assert during.requests == pytest.approx(before.requests, rel=0.15)
    assert during.errors > before.errors  # the failed checkouts answer 5xx


def test_the_broken_checkout_alert_fires_in_the_outage_and_not_outside_it() -> None:
    for calm in (OUTAGE_START - dt.timedelta(minutes=5), OUTAGE_END + dt.timedelta(hours=2)):
        assert "InvdashBrokenCheckout" not in set(demo_at(calm).firing_alerts()["alertname"])

    moment = OUTAGE_START + dt.timedelta(minutes=60)
    alerts = demo_at(moment).firing_alerts()
    assert list(alerts.columns) == telemetry.ALERT_COLUMNS
    broken = alerts[alerts["alertname"] == "InvdashBrokenCheckout"].iloc[0]
    assert broken["severity"] == "critical"
    assert broken["summary"] == "Orders fell by more than half while traffic holds"
    # Active from when the hour's ratio first fell under half, at least the rule's 15 minutes ago.
    since = broken["active_since"]
    assert pd.Timestamp(OUTAGE_START) < since <= pd.Timestamp(moment) - dt.timedelta(minutes=15)
    # The same start whenever it is asked about.
    later = demo_at(moment + dt.timedelta(minutes=5)).firing_alerts()
    assert later.loc[later["alertname"] == "InvdashBrokenCheckout", "active_since"].iloc[0] == since


def test_request_counts_are_the_plotted_traffic_summed_over_the_window() -> None:
    moment = dt.datetime(2026, 11, 27, 16, 0, tzinfo=dt.UTC)
    demo = demo_at(moment)
    counts = demo.service_request_counts("order-service", dt.timedelta(hours=1), moment)
    traffic = demo.service_traffic(moment - dt.timedelta(hours=1), moment)
    # Sampled each whole minute after the start (a 1-hour window: a step of 1 minute).
    order = traffic[traffic["service"] == "order-service"]
    order = order[
        (order["timestamp"].dt.second == 0) & (order["timestamp"] > order["timestamp"].min())
    ]
    assert len(order) == 60
    assert counts.requests == pytest.approx((order["request_rate"] * 60).sum())
    assert counts.errors == pytest.approx((order["error_rate"] * 60).sum())


def test_a_long_window_samples_every_minute_of_the_hour_alike() -> None:
    moment = dt.datetime(2026, 11, 27, 16, 0, tzinfo=dt.UTC)
    demo = demo_at(moment)
    # 30 days at 44 minutes (43.2 rounded up, then the next prime to 60 is 47): every minute of
    # the hour sampled, so the bursts count as they should: about the 1-hour rate's 30-day sum.
    day = demo.service_request_counts("order-service", dt.timedelta(days=1), moment)
    hour = demo.service_request_counts("order-service", dt.timedelta(hours=1), moment)
    assert day.requests == pytest.approx(24 * hour.requests, rel=0.35)
    assert day.errors > 0
    assert demo.service_request_counts("search", dt.timedelta(hours=1), moment) == (0.0, 0.0)
    with pytest.raises(ValueError, match="window must be positive"):
        demo.service_request_counts("order-service", dt.timedelta(0), moment)


def test_the_slo_of_the_demo_reads_its_30_days_and_its_last_hour() -> None:
    moment = dt.datetime(2026, 11, 27, 16, 0, tzinfo=dt.UTC)
    status = slo_status(demo_at(moment), "order-service", 0.995, moment)
    assert status.period == dt.timedelta(days=30)
    # An incident every hour and a checkout outage every 8 hours: the demo shop spends its
    # 0.5% budget (docs/alerts.md).
    assert 0.98 < status.availability < 0.995
    assert status.budget_left < 0
    ratio = status.period_counts.errors / status.period_counts.requests
    assert status.budget_left == pytest.approx(1 - ratio / 0.005)
    hour = status.burn_counts.errors / status.burn_counts.requests
    assert status.burn_rate == pytest.approx(hour / 0.005)


def test_the_hpa_reports_its_bounds() -> None:
    moment = dt.datetime(2026, 11, 27, 16, 0, tzinfo=dt.UTC)
    hpas = demo_at(moment).hpa_replicas(None, moment - dt.timedelta(minutes=5), moment)
    assert set(hpas["min_replicas"]) == {MIN_REPLICAS}
    assert set(hpas["max_replicas"]) == {MAX_REPLICAS}
