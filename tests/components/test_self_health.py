"""invdash's own health panel: the grid rows, the callback latency bars and the headline texts."""

from __future__ import annotations

import math

import pandas as pd

from components import theme
from components.self_health import (
    callback_latency_figure,
    hit_ratio_hint,
    hit_ratio_text,
    screens_text,
    source_query_rows,
)
from queries.own_telemetry import CACHE_COLUMNS, CALLBACK_COLUMNS, SOURCE_STATS_COLUMNS


def test_source_rows_are_json_safe_with_missing_latency_as_null() -> None:
    stats = pd.DataFrame(
        [["inventory database", "snapshot", 4.0, 1.0, 2.0, 0.5, math.nan, math.nan]],
        columns=SOURCE_STATS_COLUMNS,
    )
    assert source_query_rows(stats) == [
        {
            "source": "inventory database",
            "query": "snapshot",
            "queries": 4.0,
            "errors": 1.0,
            "queries_per_minute": 2.0,
            "errors_per_minute": 0.5,
            "mean_seconds": None,
            "p95_seconds": None,
        }
    ]


def test_callback_bars_show_milliseconds_slowest_on_top_and_mark_slow_ones() -> None:
    callbacks = pd.DataFrame(
        [["sre-figure.figure +10", 3.0, 1.2, 2.5], ["source-status.children", 9.0, 0.01, 0.02]],
        columns=CALLBACK_COLUMNS,
    )
    bar = callback_latency_figure(callbacks).data[0]
    # Plotly draws the first category at the bottom: the slowest comes last.
    assert list(bar.y) == ["source-status.children", "sre-figure.figure +10"]
    assert list(bar.x) == [20.0, 2500.0]
    assert list(bar.text) == ["20 ms", "⚠ 2,500 ms"]
    assert list(bar.marker.color) == [theme.ACCENT, theme.ALERT]


def test_callback_figure_without_calls_says_so() -> None:
    figure = callback_latency_figure(pd.DataFrame(columns=CALLBACK_COLUMNS))
    assert figure.layout.annotations[0].text == "No panel refreshed in this window yet"


def test_callback_labels_are_shown_as_typed() -> None:
    callbacks = pd.DataFrame([["<b>x</b>.children", 1.0, 0.1, 0.1]], columns=CALLBACK_COLUMNS)
    assert list(callback_latency_figure(callbacks).data[0].y) == ["&lt;b&gt;x&lt;/b&gt;.children"]


def test_hit_ratio_reads_as_a_percentage_with_hits_and_loads() -> None:
    cache = pd.DataFrame(
        [["orders", 9.0, 1.0, 0.9], ["all", 9.0, 3.0, 0.75]], columns=CACHE_COLUMNS
    )
    assert hit_ratio_text(cache) == ("75.0%", 0.75)
    assert hit_ratio_hint(cache) == "9 hits, 3 loads"


def test_no_lookups_read_as_not_available() -> None:
    cache = pd.DataFrame([["all", 0.0, 0.0, math.nan]], columns=CACHE_COLUMNS)
    assert hit_ratio_text(cache) == ("n/a", None)
    assert hit_ratio_hint(pd.DataFrame(columns=CACHE_COLUMNS)) == "no lookups yet"
    assert screens_text(math.nan) == ("n/a", None)
    assert screens_text(3.0) == ("3", 3.0)
