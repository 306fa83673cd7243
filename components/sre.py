"""The SRE view: orders and traffic on one shared time axis, cluster events drawn on every row."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go
from dash import html
from dash.development.base_component import Component
from plotly.subplots import make_subplots

from components import theme
from components.charts import workload_colour
from components.downsample import (
    MAX_POINTS_PER_FIGURE,
    aggregate_per_bucket,
    min_max_per_bucket,
    points_per_trace,
    width_text,
)
from components.formatting import plotly_text

ORDER_BARS_AT_LEAST = 1_500
ROWS = (
    "Order lines / min",
    "Requests / s",
    "5xx errors / s",
    "p95 latency (s)",
    "CPU cores",
    "Memory",
    "HPA replicas",
)
EVENT_COLOURS = {"Warning": theme.ALERT, "Normal": theme.NORMAL_EVENT}


def shared_axis_figure(
    combined: pd.DataFrame,
    usage: pd.DataFrame,
    hpa: pd.DataFrame,
    events: pd.DataFrame,
    window: tuple[dt.datetime, dt.datetime] | None = None,
) -> go.Figure:
    """One figure, one time axis. ``combined`` is queries.correlation.orders_and_traffic rows,
    ``usage`` workload_usage_series rows, ``hpa`` hpa_replicas rows, ``events`` notable events
    (drawn as vertical lines on every row, labelled with their reason). ``window`` (UTC): the
    axis spans the chosen range exactly, whatever part of it has data.

    Every trace keeps at most its share of MAX_POINTS_PER_FIGURE (``points_per_trace``, never
    above MAX_POINTS_PER_TRACE) points, each bucket's extremes (``components.downsample``);
    past that many steps the order bars become order lines per bucket, and the first row's
    title and the bars' hover name the bucket's width."""
    lines = (3 if not combined.empty else 0) + 2 * usage.groupby(["namespace", "workload"]).ngroups
    lines += 2 * hpa.groupby(["namespace", "hpa"]).ngroups
    # The order bars are what the page is about: a bar a step up to 1,500 steps (a day of
    # minutes), whatever the lines need; the lines share the rest of the figure's points.
    bar_points = min(len(combined), max(points_per_trace(lines + 1), ORDER_BARS_AT_LEAST))
    bars, title = _order_bars(combined, bar_points)
    budget = points_per_trace(lines, MAX_POINTS_PER_FIGURE - bar_points)
    figure = make_subplots(
        rows=len(ROWS),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.018,
        subplot_titles=(title, *ROWS[1:]),
    )
    top = 1.0
    if not combined.empty:
        figure.add_trace(bars, row=1, col=1)
        top = float(pd.Series(bars.y, dtype="float64").max())
        for row, (column, trace_name, colour) in enumerate(
            (
                ("request_rate", "requests / s", theme.ACCENT),
                ("error_rate", "5xx / s", theme.ALERT),
                ("p95_latency_seconds", "p95 s", theme.COST),
            ),
            start=2,
        ):
            points = min_max_per_bucket(combined, [column], max_points=budget)
            figure.add_trace(
                go.Scatter(
                    x=points["timestamp"], y=points[column], name=trace_name, line={"color": colour}
                ),
                row=row,
                col=1,
            )
    for (namespace, workload), rows in usage.groupby(["namespace", "workload"], sort=True):
        label = plotly_text(f"{namespace}/{workload}")
        line = {"color": workload_colour(str(namespace), str(workload))}
        for row, column in ((5, "cpu_cores"), (6, "memory_bytes")):
            points = min_max_per_bucket(rows, [column], max_points=budget)
            figure.add_trace(
                go.Scatter(
                    x=points["timestamp"],
                    y=points[column],
                    name=label,
                    legendgroup=label,
                    mode="lines",
                    line=line,
                    showlegend=row == 5,
                ),
                row=row,
                col=1,
            )
    for (namespace, name), rows in hpa.groupby(["namespace", "hpa"], sort=True):
        label = plotly_text(f"{namespace}/{name}")
        for column, suffix, dash in (
            ("current_replicas", "current", None),
            ("desired_replicas", "desired", "dot"),
        ):
            points = min_max_per_bucket(rows, [column], max_points=budget)
            figure.add_trace(
                go.Scatter(
                    x=points["timestamp"],
                    y=points[column],
                    name=f"{label} {suffix}",
                    line={"dash": dash} if dash else None,
                    line_shape="hv",
                ),
                row=7,
                col=1,
            )
    # One line per event across every row: the rows share the x axis, so one paper-high shape
    # each (plotly's add_vline per row is quadratic in the number of shapes).
    figure.update_layout(
        shapes=[
            {
                "type": "line", "xref": "x", "yref": "paper", "x0": ts, "x1": ts, "y0": 0, "y1": 1,
                "line": {"color": EVENT_COLOURS.get(str(kind), theme.NORMAL_EVENT), "dash": "dot", "width": 1},
                "opacity": 0.7,
            }
            for ts, kind in zip(events["timestamp"], events["type"], strict=True)
        ]
    )  # fmt: skip
    if not events.empty:
        figure.add_trace(
            go.Scatter(
                x=events["timestamp"],
                y=[top * 1.05] * len(events),
                mode="markers+text",
                marker={
                    "symbol": "triangle-down",
                    "size": 12,
                    "color": [EVENT_COLOURS.get(t, theme.NORMAL_EVENT) for t in events["type"]],
                },
                text=_spaced_labels(events, window),
                textposition="middle left",
                # Not hoverable: in "x unified" hovering a marker would pull the hover and the
                # click to the event's time, minutes from the cursor. The clicked-moment panel
                # lists the events near a click with their messages.
                hoverinfo="skip",
                name="cluster events",
            ),
            row=1,
            col=1,
        )
    figure.update_layout(
        template=theme.FIGURE_TEMPLATE,
        font={"size": 15},
        height=1250,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        hovermode="x unified",
        legend={"orientation": "h", "y": -0.03},
        uirevision="keep",
        clickmode="event",
    )
    figure.update_yaxes(automargin=True)
    figure.update_xaxes(showspikes=True, spikemode="across", spikesnap="cursor")
    figure.update_yaxes(tickformat=".3s", row=6, col=1)
    if window is not None:
        # Plotly draws datetimes as wall-clock time: UTC, written without its zone.
        figure.update_xaxes(range=[f"{moment:%Y-%m-%d %H:%M:%S}" for moment in window])
    return figure


def _order_bars(combined: pd.DataFrame, budget: int) -> tuple[go.Bar, str]:
    """The first row's bars and its title. While the steps fit ``budget``, one bar per
    step of order lines per minute; past that, the order lines placed in each bucket (a sum: a
    dip in orders costs its bucket as much as a spike adds, where the busiest step would hide
    the dip), each step counted in the bucket of its start (a row's timestamp is its end)."""
    if len(combined) <= budget:
        bar = go.Bar(
            x=combined["timestamp"],
            y=combined["order_lines_per_minute"],
            name="order lines / min",
            marker_color=theme.ORDER_BARS,
        )
        return bar, ROWS[0]
    step = _step(combined)
    lines = pd.DataFrame(
        {
            "timestamp": combined["timestamp"] - step,
            "order_lines": combined["order_lines_per_minute"] * (step / dt.timedelta(minutes=1)),
        }
    )
    buckets = aggregate_per_bucket(lines, ["order_lines"], "sum", step=step, max_points=budget)
    width = width_text(buckets.width or step)
    bar = go.Bar(
        x=buckets.frame["timestamp"],
        y=buckets.frame["order_lines"],
        # Each bar spans its bucket, from the bucket's start.
        offset=0,
        width=(buckets.width or step) / dt.timedelta(milliseconds=1),
        name=f"order lines / {width}",
        marker_color=theme.ORDER_BARS,
        # The dark template outlines each bar in the background colour: on a bar about a pixel
        # wide that outline is all that would show.
        marker_line_width=0,
        hovertemplate=f"%{{y:,.0f}} order lines in the {width} from %{{x|%H:%M}}<extra></extra>",
    )
    return bar, f"Order lines / {width}"


def _step(combined: pd.DataFrame) -> dt.timedelta:
    """The rows' spacing: ``attrs["step"]`` as ``orders_and_traffic`` sets it, else the smallest
    spacing of the timestamps (every step is present), else 1 minute."""
    step = combined.attrs.get("step")
    if isinstance(step, dt.timedelta) and step > dt.timedelta(0):
        return step
    spacings = pd.Series(pd.DatetimeIndex(combined["timestamp"]).sort_values()).diff().dropna()
    smallest = spacings[spacings > pd.Timedelta(0)].min() if len(spacings) else pd.NaT
    return dt.timedelta(minutes=1) if pd.isna(smallest) else pd.Timedelta(smallest).to_pytimedelta()


def _spaced_labels(
    events: pd.DataFrame, window: tuple[dt.datetime, dt.datetime] | None
) -> list[str]:
    """Each event's reason as its marker's label, except where a labelled event is closer than
    a tenth of the axis: there the labels would print over each other (hover still has all)."""
    times = pd.to_datetime(events["timestamp"], utc=True)
    if window is not None:
        span = pd.Timestamp(window[1]) - pd.Timestamp(window[0])
    else:
        span = times.max() - times.min()
    gap = span / 10
    labels = [""] * len(events)
    last: pd.Timestamp | None = None
    for position in times.argsort():
        moment = times.iloc[position]
        if last is None or moment - last >= gap:
            labels[position] = plotly_text(str(events["reason"].iloc[position]))
            last = moment
    return labels


def moment_details(
    heading: str,
    unhealthy: pd.DataFrame | None,
    warnings: pd.DataFrame,
    problem: str | None = None,
) -> Component:
    """What was wrong at a clicked moment: the pods unhealthy then (``UNHEALTHY_POD_COLUMNS``;
    None when no source keeps pod-health history, ``problem`` says why) and the Warning events
    near it (``EVENT_COLUMNS``). Text only, never HTML from the data."""
    parts: list[Component] = [html.Strong(heading)]
    if unhealthy is None:
        parts.append(html.Div(f"Pod health then is unknown: {problem}", className="empty-note"))
    elif unhealthy.empty:
        parts.append(html.Div("✓ Every pod was healthy then", className="empty-note"))
    else:
        items = []
        for row in unhealthy.to_dict("records"):
            facts = [f"⚠ {row['namespace']}/{row['pod']}: {row['status']}"]
            if row["restarts"]:
                facts.append(f"↻ {row['restarts']} in the 5 min before")
            if row["last_terminated_reason"]:
                facts.append(f"last terminated: {row['last_terminated_reason']}")
            items.append(html.Li(", ".join(facts)))
        parts.append(html.Ul(items, className="clicked-list unhealthy-pods"))
    if not warnings.empty:
        parts.append(html.Div("Warning events within 5 minutes", className="clicked-subtitle"))
        parts.append(
            html.Ul(
                [
                    html.Li(
                        f"{row['namespace']}/{row['name']} ({row['kind']}): {row['reason']} "
                        f"at {row['timestamp']:%H:%M:%S}, {row['message']}"
                    )
                    for row in warnings.sort_values("timestamp").to_dict("records")
                ],
                className="clicked-list warning-events",
            )
        )
    return html.Div(parts)
