"""Every time-series figure over weeks of minutes: at most 2,000 points a trace, bursts kept."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go
import pytest
import synthetic_telemetry as synthetic

from components.cluster import usage_figure
from components.downsample import MAX_POINTS_PER_FIGURE, MAX_POINTS_PER_TRACE
from components.executive import sparkline
from components.ops import orders_per_minute_figure
from components.sre import shared_axis_figure
from queries.workloads import workload_usage_series

RANGES_DAYS = [7, 30]
BURST_MINUTES = [synthetic.BURST_AT, synthetic.BURST_AT + synthetic.MINUTE]


def assert_every_trace_within_budget(figure: go.Figure) -> None:
    assert figure.data
    for trace in figure.data:
        assert len(trace.x) <= MAX_POINTS_PER_TRACE, trace.name
        assert len(trace.y) == len(trace.x), trace.name


def trace(figure: go.Figure, name: str) -> go.Scatter | go.Bar:
    (found,) = [t for t in figure.data if t.name == name]
    return found


def points(found: go.Scatter | go.Bar) -> pd.Series:
    """The trace's y by its x, as UTC timestamps."""
    return pd.Series(list(found.y), index=pd.to_datetime(list(found.x), utc=True), dtype="float64")


def usage(days: int) -> pd.DataFrame:
    return workload_usage_series(synthetic.pod_health(), synthetic.pod_usage(days))


@pytest.mark.parametrize("days", RANGES_DAYS)
def test_the_sre_figure_keeps_the_error_burst_within_2000_points_a_trace(days: int) -> None:
    combined = synthetic.orders_and_traffic(days)
    figure = shared_axis_figure(
        combined,
        usage(days),
        synthetic.hpa_replicas(days),
        synthetic.events(),
        synthetic.window(days),
    )
    assert_every_trace_within_budget(figure)
    assert len(figure.data) == 1 + 3 + 2 * 3 + 2 + 1  # orders, traffic, usage, HPA, events
    # The 5xx burst of two minutes is still there, at its minutes (a row is its step's end).
    errors = points(trace(figure, "5xx / s"))
    assert errors.max() == synthetic.BURST
    burst_ends = [moment + synthetic.MINUTE for moment in BURST_MINUTES]
    assert set(errors[errors == synthetic.BURST].index) <= set(burst_ends)
    cpu = [t for t in figure.data if t.name == "shop/checkout" and t.yaxis == "y5"]
    assert max(cpu[0].y) == synthetic.BURST
    desired = points(trace(figure, "shop/checkout desired"))
    assert desired.max() == synthetic.BURST_DESIRED_REPLICAS
    # The figure as a whole fits a panel update: its traces share MAX_POINTS_PER_FIGURE.
    assert sum(len(t.x) for t in figure.data) <= MAX_POINTS_PER_FIGURE + len(synthetic.events())
    assert len(figure.to_json().encode()) <= 200_000
    memory = [t for t in figure.data if t.name == "shop/search" and t.yaxis == "y6"]
    assert max(memory[0].y) == synthetic.BURST_MEMORY_BYTES


# Bars and three lines share the figure: the bars keep 1,500 points, the lines 833 each.
@pytest.mark.parametrize(("days", "width"), [(7, "10 min"), (30, "30 min")])
def test_the_sre_order_bars_count_the_lines_of_each_bucket(days: int, width: str) -> None:
    figure = shared_axis_figure(
        synthetic.orders_and_traffic(days),
        usage(days).iloc[0:0],
        synthetic.hpa_replicas(days).iloc[0:0],
        synthetic.events().iloc[0:0],
        synthetic.window(days),
    )
    bars = trace(figure, f"order lines / {width}")
    assert figure.layout.annotations[0].text == f"Order lines / {width}"
    assert f"order lines in the {width} from" in bars.hovertemplate
    assert bars.offset == 0  # a bar spans its bucket from its start
    drawn = points(bars)
    # Against the order volume itself: every bucket holds the lines of its minutes.
    orders = synthetic.order_volume(days)
    bucket = pd.Timedelta(width.replace(" min", "min"))
    expected = orders.groupby(orders["timestamp"].dt.floor(bucket))["order_lines"].sum()
    assert drawn.index.equals(pd.DatetimeIndex(expected.index))
    assert drawn.to_numpy().tolist() == expected.astype("float64").to_numpy().tolist()
    assert bars.width == bucket / dt.timedelta(milliseconds=1)
    assert drawn[pd.Timestamp(synthetic.BURST_AT).floor(bucket)] >= 2 * synthetic.BURST


@pytest.mark.parametrize("days", RANGES_DAYS)
@pytest.mark.parametrize(
    ("column", "burst_workload", "burst"),
    [
        ("cpu_cores", "shop/checkout", synthetic.BURST),
        ("memory_bytes", "shop/search", synthetic.BURST_MEMORY_BYTES),
    ],
)
def test_the_cluster_usage_charts_keep_the_burst_within_2000_points_a_line(
    days: int, column: str, burst_workload: str, burst: float
) -> None:
    figure = usage_figure(usage(days), column, column, ".2f")
    assert_every_trace_within_budget(figure)
    assert [t.name for t in figure.data] == ["jobs/worker", "shop/checkout", "shop/search"]
    line = points(trace(figure, burst_workload))
    assert line.max() == burst
    assert set(line[line == burst].index) <= set(BURST_MINUTES)


@pytest.mark.parametrize(("days", "width"), [(7, "6 min"), (30, "30 min")])
def test_the_orders_chart_keeps_the_busiest_minute_of_each_bucket(days: int, width: str) -> None:
    figure = orders_per_minute_figure(synthetic.order_volume(days))
    assert_every_trace_within_budget(figure)
    bars, mean = figure.data
    assert bars.name == f"order lines / min, busiest of {width}"
    assert f"busiest minute of the {width}" in bars.hovertemplate
    drawn = points(bars)
    assert drawn.max() == synthetic.BURST
    (burst_bucket,) = drawn[drawn == synthetic.BURST].index
    assert burst_bucket <= synthetic.BURST_AT < burst_bucket + pd.Timedelta(width.replace(" ", ""))
    assert mean.name == "15-min mean"
    # The mean is taken over every minute: 2 x 500 and 13 quieter minutes, 15 minutes on.
    assert max(mean.y) > 2 * synthetic.BURST / 15


def test_an_hour_of_orders_is_drawn_minute_by_minute_as_before() -> None:
    orders = synthetic.order_volume(1).iloc[-60:]
    bars, mean = orders_per_minute_figure(orders).data
    assert bars.name == "order lines / min"
    assert list(bars.y) == orders["order_lines"].tolist()
    assert len(mean.x) == 60


def test_a_sparkline_of_thousands_of_days_keeps_its_peak() -> None:
    values = [1.0 + (day % 10) for day in range(5000)]
    values[3210] = 250.0
    (line,) = sparkline(values).data
    assert len(line.y) <= MAX_POINTS_PER_TRACE
    assert max(line.y) == 250.0
    assert min(line.y) == 1.0
    assert list(sparkline(values[:182]).data[0].y) == values[:182]  # a quarter's two periods
