"""Figures: pure functions of the roll-up DataFrames of ``queries.rollups``."""

from __future__ import annotations

import zlib
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from components import theme
from components.formatting import plotly_text


def workload_colour(namespace: str, workload: str) -> str:
    """The same colour for a workload on every chart, whatever else a filter leaves beside it."""
    digest = zlib.crc32(f"{namespace}/{workload}".encode())
    return theme.WORKLOAD_PALETTE[digest % len(theme.WORKLOAD_PALETTE)]


def dark_layout(figure: go.Figure, *, height: int = 380) -> go.Figure:
    figure.update_layout(
        template=theme.FIGURE_TEMPLATE,
        font={"size": 17},
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        height=height,
        legend={"orientation": "h", "y": -0.15, "font": {"size": 16}},
        uirevision="keep",
    )
    figure.update_xaxes(automargin=True)
    figure.update_yaxes(automargin=True)
    return figure


def empty_figure(message: str) -> go.Figure:
    figure = go.Figure()
    figure.add_annotation(text=plotly_text(message), showarrow=False, font={"size": 20})
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return dark_layout(figure)


def value_and_carrying_cost(summary: pd.DataFrame) -> go.Figure:
    """Horizontal bars of stock value and annual carrying cost per group (summary_by rows)."""
    if summary.empty:
        return empty_figure("No stock for this filter")
    ordered = summary.sort_values("inventory_value")
    labels = [plotly_text(str(label)) for label in ordered["label"]]
    # (column, name, colour, pattern: the second series also reads without colour, hover)
    series = [
        ("inventory_value", "Stock value", theme.ACCENT, "", "stock value %{x:,.0f}"),
        (
            "annual_carrying_cost",
            "Carrying cost / year",
            theme.COST,
            "/",
            "carrying cost %{x:,.0f} a year",
        ),
    ]
    figure = go.Figure(
        [
            go.Bar(
                y=labels,
                x=ordered[column],
                name=name,
                orientation="h",
                marker_color=colour,
                marker_pattern_shape=pattern,
                hovertemplate=f"%{{y}}<br>{hover}<extra></extra>",
            )
            for column, name, colour, pattern, hover in series
        ]
    )
    figure.update_layout(barmode="group", xaxis_tickformat="~s")
    return dark_layout(figure, height=max(300, 70 * len(ordered) + 80))


def flagged_bars(
    labels: list[str],
    values: pd.Series,
    flagged: pd.Series,
    texts: list[str],
    colour: str,
    **bar: Any,
) -> go.Bar:
    """Horizontal bars labelled by their ``texts``: the ``flagged`` ones red with a warning
    sign before their text (so the state also reads without colour), the others ``colour``;
    ``bar``: more go.Bar properties (hovertemplate, customdata)."""
    return go.Bar(
        y=labels,
        x=values,
        orientation="h",
        marker_color=[theme.ALERT if f else colour for f in flagged],
        text=[("⚠ " if f else "") + text for text, f in zip(texts, flagged, strict=True)],
        textposition="outside",
        **bar,
    )


def warehouse_utilisation(summary: pd.DataFrame, alert_share: float = 0.9) -> go.Figure:
    """Utilisation bars per warehouse (summary_by warehouse rows with ``utilisation``).

    Bars above ``alert_share`` are red and labelled with a warning sign, so the state also reads
    without colour.
    """
    rows = summary.dropna(subset=["utilisation"]) if "utilisation" in summary else summary.iloc[0:0]
    if rows.empty:
        return empty_figure("No warehouse capacity recorded")
    rows = rows.sort_values("key", ascending=False)
    full = rows["utilisation"] >= alert_share
    figure = go.Figure(
        flagged_bars(
            [
                plotly_text(f"{key} · {label}")
                for key, label in zip(rows["key"], rows["label"], strict=True)
            ],
            rows["utilisation"],
            full,
            [f"{u:.0%}" for u in rows["utilisation"]],
            theme.OK,
            hovertemplate="%{y}<br>%{x:.1%} of capacity<extra></extra>",
        )
    )
    figure.add_vline(x=alert_share, line_dash="dash", line_color=theme.ALERT)
    figure.update_xaxes(
        range=[0, max(1.1, float(rows["utilisation"].max()) * 1.15)], tickformat=".0%"
    )
    return dark_layout(figure, height=max(260, 60 * len(rows) + 80))
