"""The SRE page's figure and its clicked-moment panel, as pure functions of frames."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from component_text import texts
from dash import html

from components.sre import moment_details, shared_axis_figure
from queries.correlation import orders_and_traffic
from queries.telemetry import (
    EVENT_COLUMNS,
    HPA_COLUMNS,
    SERVICE_TRAFFIC_COLUMNS,
    UNHEALTHY_POD_COLUMNS,
    contract_frame,
    empty_frame,
)

START = dt.datetime(2026, 11, 27, 6, tzinfo=dt.UTC)
END = START + dt.timedelta(hours=6)
MINUTE = dt.timedelta(minutes=1)


def combined() -> pd.DataFrame:
    minutes = pd.date_range(START, END, freq="min", inclusive="left")
    orders = pd.DataFrame({"timestamp": minutes, "order_lines": 2, "units": 2.0})
    traffic = contract_frame(
        [(t, "order-service", 10.0, 0.1, 0.01, 0.2) for t in minutes], SERVICE_TRAFFIC_COLUMNS
    )
    return orders_and_traffic(orders, traffic)


def events(*rows: tuple[dt.timedelta, str, str]) -> pd.DataFrame:
    return contract_frame(
        [(START + at, "shop", "Pod", "api-0", kind, reason, "msg", 1) for at, kind, reason in rows],
        EVENT_COLUMNS,
    )


def usage() -> pd.DataFrame:
    return pd.DataFrame(columns=["timestamp", "namespace", "workload", "cpu_cores", "memory_bytes"])


def test_the_axis_spans_the_chosen_window_exactly() -> None:
    window = (START - dt.timedelta(hours=1), END)  # an hour without data still shows
    figure = shared_axis_figure(combined(), usage(), empty_frame(HPA_COLUMNS), events(), window)
    assert list(figure.layout.xaxis.range) == ["2026-11-27 05:00:00", "2026-11-27 12:00:00"]


def test_close_events_keep_their_markers_but_share_one_label() -> None:
    close = events(
        (60 * MINUTE, "Warning", "BackOff"),
        (61 * MINUTE, "Warning", "OOMKilling"),  # 1 min later: 6 h / 10 = 36 min is the gap
        (100 * MINUTE, "Normal", "ScalingReplicaSet"),
    )
    figure = shared_axis_figure(combined(), usage(), empty_frame(HPA_COLUMNS), close, (START, END))
    markers = next(trace for trace in figure.data if trace.name == "cluster events")
    assert list(markers.text) == ["BackOff", "", "ScalingReplicaSet"]
    assert markers.hoverinfo == "skip"  # a click means the time under the cursor, not an event
    assert len(figure.layout.shapes) == 3  # a line on every row for each event


def test_moment_details_lists_unhealthy_pods_with_restarts_and_reasons_as_text() -> None:
    unhealthy = contract_frame(
        [
            ("shop", "api-0", "CrashLoopBackOff", 2, "OOMKilled"),
            ("shop", "<b>web</b>-1", "Pending", 0, ""),
        ],
        UNHEALTHY_POD_COLUMNS,
    )
    shown = moment_details("2026-11-27 07:00:00 UTC", unhealthy, events())
    assert texts(shown) == [
        "2026-11-27 07:00:00 UTC",
        "⚠ shop/api-0: CrashLoopBackOff, ↻ 2 in the 5 min before, last terminated: OOMKilled",
        "⚠ shop/<b>web</b>-1: Pending",  # a string child: Dash renders it as text, not HTML
    ]


def test_moment_details_say_when_all_was_well_or_history_is_unknown() -> None:
    warning = events((0 * MINUTE, "Warning", "BackOff"))
    healthy = moment_details("then", empty_frame(UNHEALTHY_POD_COLUMNS), warning)
    assert "✓ Every pod was healthy then" in texts(healthy)
    assert any("BackOff" in text for text in texts(healthy))
    unknown = moment_details("then", None, events(), "no Prometheus is configured")
    assert texts(unknown) == ["then", "Pod health then is unknown: no Prometheus is configured"]
    assert isinstance(unknown, html.Div)


def test_a_workload_keeps_its_colour_on_both_usage_rows_and_across_filters() -> None:
    rows = pd.DataFrame(
        {
            "timestamp": [pd.Timestamp(START)] * 2,
            "namespace": ["shop", "shop"],
            "workload": ["checkout", "search"],
            "cpu_cores": [0.5, 0.2],
            "memory_bytes": [1e8, 2e8],
        }
    )
    both = shared_axis_figure(combined(), rows, empty_frame(HPA_COLUMNS), events(), (START, END))
    alone = shared_axis_figure(
        combined(), rows.iloc[1:], empty_frame(HPA_COLUMNS), events(), (START, END)
    )

    def colours(figure: object, name: str) -> set[str]:
        return {t.line.color for t in figure.data if t.name == name}

    assert len(colours(both, "shop/search")) == 1  # CPU and memory lines alike
    assert colours(both, "shop/search") == colours(alone, "shop/search")
    assert colours(both, "shop/search") != colours(both, "shop/checkout")
