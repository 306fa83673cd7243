"""KPI review cards: this period against the previous one, with a sparkline of the daily values."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from dash import dcc, html
from dash.development.base_component import Component

from components import theme
from components.charts import dark_layout
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


def forecast_accuracy_figure(history: pd.DataFrame) -> go.Figure:
    """Each forecast run's backtest WAPE (``accuracy_over_time`` rows): the forecasts used
    against the seasonal naive baseline on the same SKUs; lower is better."""
    days = pd.to_datetime(history["as_of_day"].astype("int64"), unit="D")
    figure = go.Figure(
        [
            go.Scatter(
                x=days,
                y=history["wape"],
                mode="lines+markers",
                line={"color": theme.FORECAST, "width": 3},
                name="forecasts used",
            ),
            go.Scatter(
                x=days,
                y=history["baseline_wape"],
                mode="lines+markers",
                line={"color": theme.MUTED, "width": 2, "dash": "dot"},
                name="seasonal naive baseline",
            ),
        ]
    )
    figure.update_yaxes(tickformat=".0%", title_text="WAPE", rangemode="tozero")
    return dark_layout(figure, height=300)


def forecast_summary(history: pd.DataFrame) -> str:
    """The newest run in words: its WAPE against the baseline's, and the share on the model."""
    if history.empty:
        return "No forecast yet: invdash rollup makes them once a day from the rolled-up demand."
    newest = history.iloc[-1]
    return (
        f"Last run: WAPE {percent(float(newest['wape']), 0)} against the baseline's "
        f"{percent(float(newest['baseline_wape']), 0)}; the model beats the baseline for "
        f"{percent(float(newest['model_share']), 0)} of {int(newest['skus'])} SKUs; "
        f"{int(newest['stale_skus'])} with a tracking signal outside ±4"
    )


def _stale_row(r: dict[Any, Any]) -> Component:
    rising = r["tracking_signal"] > 0
    data: dict[str, Any] = {"data-sku": str(r["sku_code"])}
    return html.Tr(
        [
            html.Td(f"{r['sku_code']} · {r['sku_name']}"),
            html.Td(str(r["category"])),
            html.Td(f"{'▲' if rising else '▼'} {r['tracking_signal']:+.1f}"),
            html.Td("demand above the forecast" if rising else "demand below the forecast"),
            html.Td(percent(float(r["wape"]), 0)),
        ],
        **data,
    )


def stale_rows(stale: pd.DataFrame, limit: int = 12) -> Component:
    """The SKUs whose forecast is going stale (``forecast_accuracy``'s second frame), the
    farthest out first: which way it errs and by how much."""
    if stale.empty:
        return html.Div("No SKU's tracking signal is outside ±4", className="empty-note")
    rows = [_stale_row(r) for r in stale.head(limit).to_dict("records")]
    header = ["SKU", "Category", "Tracking signal", "", "WAPE"]
    more = len(stale) - limit
    return html.Div(
        [
            html.Table(
                [html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(rows)],
                className="ops-table stale-skus",
            ),
            html.Div(f"+ {more} more", className="kpi-hint") if more > 0 else None,
        ]
    )
