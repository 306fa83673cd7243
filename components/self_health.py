"""invdash's own health: pure functions of the frames in ``queries.own_telemetry``."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from dash.development.base_component import Component

from components import theme
from components.charts import dark_layout, empty_figure, flagged_bars
from components.formatting import count, percent, plotly_text
from components.tables import DECIMAL, column, data_grid, json_records, number_column
from queries.own_telemetry import SOURCE_STATS_COLUMNS

MILLISECONDS = {"function": "params.value == null ? '' : d3.format(',.0f')(params.value * 1000)"}
# A refresh that takes longer than this shows red: a screen cannot keep a 10 s refresh with it.
SLOW_CALLBACK_SECONDS = 2.0


def source_queries_grid(grid_id: str) -> Component:
    """Per source and query: calls and errors per minute, mean and p95 latency."""
    failing = "params.data && params.data.errors > 0"
    return data_grid(
        grid_id,
        [
            column("source", "Source", minWidth=160),
            column("query", "Query", minWidth=180),
            number_column("queries_per_minute", "Queries / min", DECIMAL),
            number_column(
                "errors_per_minute",
                "Errors / min",
                {"function": f"({failing} ? '⚠ ' : '') + d3.format(',.2f')(params.value)"},
                cellClassRules={"risk-high": failing},
                sort="desc",
            ),
            number_column("mean_seconds", "Mean ms", MILLISECONDS),
            number_column("p95_seconds", "p95 ms", MILLISECONDS),
        ],
        height="560px",
        row_id="params.data.source + '/' + params.data.query",
    )


def source_query_rows(stats: pd.DataFrame) -> list[dict[str, Any]]:
    """Grid rows of a ``source_query_stats`` frame."""
    return json_records(stats, SOURCE_STATS_COLUMNS)


def callback_latency_figure(callbacks: pd.DataFrame) -> go.Figure:
    """p95 answer time per callback (``callback_latency`` rows), slowest on top; red and marked
    past SLOW_CALLBACK_SECONDS, so the state also reads without colour."""
    if callbacks.empty:
        return empty_figure("No panel refreshed in this window yet")
    ordered = callbacks.sort_values("p95_seconds", kind="stable")
    slow = ordered["p95_seconds"] >= SLOW_CALLBACK_SECONDS
    figure = go.Figure(
        flagged_bars(
            [plotly_text(str(output)) for output in ordered["output"]],
            ordered["p95_seconds"] * 1000,
            slow,
            [f"{p95 * 1000:,.0f} ms" for p95 in ordered["p95_seconds"]],
            theme.ACCENT,
            customdata=ordered[["calls", "mean_seconds"]].to_numpy(),
            hovertemplate=(
                "%{y}<br>p95 %{x:,.0f} ms, mean %{customdata[1]:.3f} s"
                "<br>%{customdata[0]:,.0f} calls<extra></extra>"
            ),
        )
    )
    figure.update_xaxes(title_text="p95 ms", rangemode="tozero")
    return dark_layout(figure, height=max(260, 44 * len(ordered) + 90))


def hit_ratio_text(cache: pd.DataFrame) -> tuple[str, float | None]:
    """The overall hit ratio of a ``cache_hit_ratio`` frame, as text and number (None: no
    lookups in the window)."""
    overall = cache.loc[cache["key"] == "all", "hit_ratio"]
    ratio = float(overall.iloc[0]) if not overall.empty else math.nan
    return (percent(ratio), ratio) if math.isfinite(ratio) else ("n/a", None)


def hit_ratio_hint(cache: pd.DataFrame) -> str:
    """'12 hits, 3 loads' over the window of a ``cache_hit_ratio`` frame."""
    overall = cache[cache["key"] == "all"]
    if overall.empty:
        return "no lookups yet"
    hits, misses = float(overall["hits"].iloc[0]), float(overall["misses"].iloc[0])
    return f"{count(hits)} hits, {count(misses)} loads"


def screens_text(screens: float) -> tuple[str, float | None]:
    return (count(screens), screens) if math.isfinite(screens) else ("n/a", None)
