"""KPI review cards: this period against the previous one, with a sparkline of the daily values."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from dash import dcc, html
from dash.development.base_component import Component

from components import theme
from components.downsample import min_max_per_bucket
from components.formatting import money, percent

LABELS = {
    "inventory_value": "Inventory value",
    "carrying_cost": "Carrying cost",
    "turnover": "Turnover (a year)",
    "days_of_inventory": "Days of inventory",
    "gmroi": "GMROI (a year)",
    "fill_rate": "Fill rate",
    "stockout_count": "Stockouts (SKU x warehouse, a day)",
    "orders_per_day": "Orders a day",
    "availability": "Order service availability",
}
# Whether a rise is good news: decides the word and colour next to the delta.
RISE_IS_GOOD = {
    "inventory_value": None, "carrying_cost": False, "turnover": True, "days_of_inventory": False,
    "gmroi": True, "fill_rate": True, "stockout_count": False, "orders_per_day": True,
    "availability": True,
}  # fmt: skip


def kpi_text(value: float, unit: str) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    if unit == "money":
        return money(value)
    if unit == "share":
        return percent(value)
    if unit == "days":
        return f"{value:,.0f} d"
    if unit == "ratio":
        return f"{value:,.2f}"
    return f"{value:,.1f}"


def sparkline(values: list[float]) -> go.Figure:
    """A line of daily values, oldest first, of at most MAX_POINTS_PER_TRACE points that keep
    each bucket's extremes (``components.downsample``)."""
    # The card is not told the dates: day n counts from the epoch, which only the hidden axis sees.
    days = pd.DataFrame(
        {"day": pd.to_datetime(range(len(values)), unit="D", utc=True), "value": values}
    )
    points = min_max_per_bucket(days, ["value"], time_column="day")
    figure = go.Figure(
        go.Scatter(
            x=points["day"],
            y=points["value"],
            mode="lines",
            line={"color": theme.ACCENT, "width": 3},
            hoverinfo="skip",
        )
    )
    figure.update_layout(
        height=60, margin={"l": 0, "r": 0, "t": 0, "b": 0}, paper_bgcolor=theme.PANEL, plot_bgcolor=theme.PANEL,
        xaxis={"visible": False}, yaxis={"visible": False}, showlegend=False,
    )  # fmt: skip
    return figure


def kpi_card(row: dict[str, Any]) -> Component:
    """One KPI: current value, change against the previous period in words and symbol, sparkline."""
    kpi, unit = str(row["kpi"]), str(row["unit"])
    current, previous, delta = float(row["current"]), float(row["previous"]), float(row["delta"])
    share = row.get("delta_share")
    good = RISE_IS_GOOD.get(kpi)
    if not math.isfinite(previous):
        change, tone = "no previous period in the data to compare with", "neutral"
    elif not math.isfinite(delta) or delta == 0:
        change, tone = "= same as previous period", "neutral"
    else:
        symbol = "▲" if delta > 0 else "▼"
        amount = (
            percent(abs(float(share)))
            if share is not None and math.isfinite(float(share))
            else kpi_text(abs(delta), unit)
        )
        change = f"{symbol} {amount} vs previous ({kpi_text(previous, unit)})"
        tone = "neutral" if good is None else ("better" if (delta > 0) == good else "worse")
    value_data: dict[str, Any] = {"data-value": repr(current)}
    children: list[Component] = [
        html.Div(LABELS.get(kpi, kpi), className="kpi-label"),
        html.Div(
            kpi_text(current, unit),
            className="kpi-value exec-value",
            **value_data,
        ),
        html.Div(change, className=f"exec-change exec-{tone}"),
    ]
    spark = row.get("sparkline")
    if isinstance(spark, list) and spark:
        children.append(
            dcc.Graph(
                figure=sparkline([float(v) for v in spark]),
                config={"displayModeBar": False, "staticPlot": True},
                className="exec-spark",
            )
        )
    return html.Div(children, className="kpi-tile exec-card", id=f"exec-{kpi}")
