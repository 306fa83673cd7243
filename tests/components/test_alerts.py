"""The alert rules' panels as pure functions of their frames: firing alerts, the SLO, the HPAs."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd
import pytest
from component_text import texts

from components.alerts import age_text, alert_items, hpa_rows, latest_replicas, slo_figures
from queries.slo import SloStatus, error_ratio
from queries.telemetry import HPA_COLUMNS, RequestCounts, alert_frame, contract_frame

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (59, "59 s"), (60, "1 min"), (3599, "59 min"), (3600, "1 h"),
     (3900, "1 h 5 min"), (86_400 * 2 + 5, "2 d"), (-5, "0 s")],
)  # fmt: skip
def test_an_age_reads_in_its_largest_whole_unit(seconds: int, text: str) -> None:
    assert age_text(NOW - dt.timedelta(seconds=seconds), NOW) == text


def test_firing_alerts_are_most_severe_first_then_longest_active() -> None:
    frame = alert_frame(
        [
            ("Info", "info", "", pd.Timestamp(NOW - dt.timedelta(hours=5)), ""),
            ("Newer", "critical", "b", pd.Timestamp(NOW - dt.timedelta(minutes=3)), ""),
            ("Older", "critical", "a", pd.Timestamp(NOW - dt.timedelta(minutes=30)), "x=1"),
            ("Odd", "page", "", pd.Timestamp(NOW - dt.timedelta(hours=9)), ""),
            ("Warn", "warning", "w", pd.Timestamp(NOW - dt.timedelta(hours=1)), ""),
        ]
    )
    assert list(frame["alertname"]) == ["Older", "Newer", "Warn", "Info", "Odd"]
    items = alert_items(frame, NOW)
    assert [item.className for item in items][:3] == [
        "alert-item alert-critical", "alert-item alert-critical", "alert-item alert-warning",
    ]  # fmt: skip
    assert texts(items[0]) == ["⚠ CRITICAL", "Older", "a", "for 30 min", "x=1"]
    assert texts(items[2])[0] == "▲ WARNING"


def test_no_alert_is_no_line_at_all() -> None:
    assert alert_items(alert_frame([]), NOW) == []


def status(period: tuple[float, float], hour: tuple[float, float]) -> SloStatus:
    return SloStatus(
        "order-service", 0.995, dt.timedelta(days=30), RequestCounts(*period), RequestCounts(*hour)
    )


def test_the_error_budget_left_and_the_burn_rate() -> None:
    half_spent = status((1_000_000, 2_500), (10_000, 720))
    assert half_spent.availability == pytest.approx(0.9975)
    assert half_spent.budget_left == pytest.approx(0.5)
    assert half_spent.burn_rate == pytest.approx(14.4)
    assert half_spent.burn_state == "fast"
    assert status((1_000, 0), (1_000, 30)).burn_state == "slow"  # 3% is 6x 0.5%
    assert status((1_000, 0), (1_000, 1)).burn_state == "within"
    overspent = status((1_000, 10), (0, 0))
    assert overspent.budget_left == pytest.approx(-1.0)
    assert math.isnan(overspent.burn_rate)
    assert overspent.burn_state == "unknown"
    assert math.isnan(error_ratio(RequestCounts(0, 0)))


def test_the_slo_figures_say_what_they_are_with_a_symbol_beside_the_colour() -> None:
    budget, burn = slo_figures(status((1_000_000, 2_500), (10_000, 720)))[1:]
    assert texts(budget) == [
        "Error budget left",
        "50%",
        "of 0.50% of requests allowed to fail in 30 d",
    ]
    assert texts(burn)[1] == "⚠ 14.4x"
    assert "fast burn" in texts(burn)[2]
    spent = slo_figures(status((1_000, 10), (1_000, 0)))[1]
    assert texts(spent)[1] == "⚠ spent (-100%)"
    unknown = slo_figures(status((0, 0), (0, 0)))
    assert [texts(figure)[1] for figure in unknown] == ["n/a", "n/a", "n/a"]


def hpas(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    return contract_frame(rows, HPA_COLUMNS)


def test_each_hpa_against_its_bounds_marks_the_ceiling() -> None:
    earlier, now = pd.Timestamp(NOW - dt.timedelta(minutes=1)), pd.Timestamp(NOW)
    frame = hpas(
        [
            (earlier, "shop", "order-service", 5, 8, 3, 8),
            (now, "shop", "order-service", 8, 8, 3, 8),
            (now, "shop", "payments", 2, 2, 2, 6),
            (earlier, "batch", "worker", 4, 4, 1, 10),
        ]
    )
    newest = latest_replicas(frame)
    assert list(zip(newest["hpa"], newest["current_replicas"], strict=True)) == [
        ("worker", 4), ("order-service", 8), ("payments", 2),
    ]  # fmt: skip
    rows = {row.__getattribute__("data-hpa"): row for row in hpa_rows(frame)}
    assert texts(rows["shop/order-service"]) == [
        "shop/order-service",
        "8",
        "replicas (3 to 8)",
        "⚠ AT CEILING",
    ]
    assert "hpa-at-ceiling" in rows["shop/order-service"].className
    assert texts(rows["shop/payments"]) == ["shop/payments", "2", "replicas (2 to 6)", ""]
    assert texts(hpa_rows(hpas([]))[0]) == ["No HorizontalPodAutoscalers"]
