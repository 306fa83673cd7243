"""Wall-screen pieces: a short risk list and an orders-per-minute chart, readable at 5 m."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go
from dash import html
from dash.development.base_component import Component

from components import theme
from components.charts import dark_layout, empty_figure
from components.downsample import aggregate_per_bucket, min_max_per_bucket, width_text
from components.formatting import count, percent


def risk_list(risks: pd.DataFrame, limit: int = 8) -> Component:
    """The SKUs most likely to run out, as a plain large table (no controls on a wall)."""
    if risks.empty:
        return html.Div("✓ No SKU with demand is at risk", className="empty-note")
    header = html.Tr([html.Th(t) for t in ("SKU", "Name", "Warehouse", "Risk", "Cover")])
    rows = []
    for record in risks.head(limit).to_dict("records"):
        cover = record["days_of_cover"]
        rows.append(
            html.Tr(
                [
                    html.Td(str(record["sku_code"])),
                    html.Td(str(record["sku_name"]), className="ops-name"),
                    html.Td(str(record["warehouse_code"])),
                    html.Td(
                        ("⚠ " if record["at_risk"] else "")
                        + percent(float(record["stockout_probability"]), 0),
                        className="risk-high" if record["at_risk"] else "",
                    ),
                    html.Td("out" if cover <= 0 else f"{cover:.1f} d"),
                ]
            )
        )
    return html.Table([html.Thead(header), html.Tbody(rows)], className="ops-table")


def orders_per_minute_figure(orders: pd.DataFrame, rolling_minutes: int = 15) -> go.Figure:
    """Order lines per minute (bars) and their rolling mean (line); orders_lines_per_minute rows.

    Past MAX_POINTS_PER_TRACE minutes a bar is a bucket of minutes standing as high as its
    busiest minute (the unit stays per minute, beside the mean, and a burst keeps its height);
    the hover and the bars' name say so. The mean, taken over every minute, keeps each bucket's
    extremes (``components.downsample``)."""
    if orders.empty:
        return empty_figure("No orders in this window")
    rolling = orders.assign(
        rolling=orders["order_lines"].rolling(rolling_minutes, min_periods=1).mean()
    )
    mean = min_max_per_bucket(rolling, ["rolling"])
    buckets = aggregate_per_bucket(orders, ["order_lines"], "max", step=dt.timedelta(minutes=1))
    if buckets.width is None:
        bars = go.Bar(
            x=orders["timestamp"],
            y=orders["order_lines"],
            name="order lines / min",
            marker_color=theme.ORDER_BARS,
        )
    else:
        width = width_text(buckets.width)
        bars = go.Bar(
            x=buckets.frame["timestamp"],
            y=buckets.frame["order_lines"],
            # Each bar spans its bucket, from the bucket's start.
            offset=0,
            width=buckets.width / dt.timedelta(milliseconds=1),
            name=f"order lines / min, busiest of {width}",
            marker_color=theme.ORDER_BARS,
            # The dark template outlines each bar in the background colour: on a bar about a pixel
            # wide that outline is all that would show.
            marker_line_width=0,
            hovertemplate=(
                f"busiest minute of the {width} from %{{x|%H:%M}}: %{{y:,.0f}} order lines"
                "<extra></extra>"
            ),
        )
    figure = go.Figure(
        [
            bars,
            go.Scatter(
                x=mean["timestamp"],
                y=mean["rolling"],
                name=f"{rolling_minutes}-min mean",
                line={"color": theme.ACCENT, "width": 4},
            ),
        ]
    )
    figure.update_layout(bargap=0, hovermode="x unified")
    return dark_layout(figure, height=240)


def change_text(current: float, previous: float) -> str:
    """'▲ 12% vs 25 a week ago' (the same hour last week), short enough for a wall tile, with
    words for the cases a percentage cannot say."""
    if previous == 0:
        return "none this hour a week ago" if current else "none now or a week ago"
    change = (current - previous) / previous
    symbol = "▲" if change > 0 else "▼" if change < 0 else "="
    return f"{symbol} {abs(change):.0%} vs {count(previous)} a week ago"
