"""The SRE page's panel on invdash itself: source query rates, errors and latency, cache hit
ratio, callback p95 per panel and active screens, over the last few minutes.

The numbers come from this replica's own metrics (``dashboard.metrics``: every worker's, added up
in multiprocess mode), read in the process that answers the refresh; not from the shared cache,
so the panel still tells the truth when the cache is what is failing. With several replicas each
shows its own share of the load (the source queries and screens are shared when Redis is, so
those read the same on every replica); Prometheus's scrape of ``/metrics`` has the sum.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd
from dash import Dash, Output, dcc, html
from dash.development.base_component import Component
from prometheus_client.metrics_core import Metric

from components import self_health
from components.formatting import count
from components.kpi import kpi_row, kpi_value
from components.panels import panel
from dashboard.context import DashboardContext
from dashboard.metrics import collect
from dashboard.outputs import by_id, kpi_outputs, kpi_values
from dashboard.screens import screen_window_seconds
from dashboard.ticks import TICK, while_refreshing
from queries.own_telemetry import (
    active_screens,
    cache_hit_ratio,
    callback_latency,
    query_totals,
    samples_frame,
    source_query_stats,
    window_increase,
)

WINDOW_SECONDS = 300.0
# Every screen's refresh takes a snapshot; closer ones add nothing to a five-minute rate.
MIN_SNAPSHOT_GAP_SECONDS = 1.0


class MetricsWindow:
    """Snapshots of the metrics over the last WINDOW_SECONDS, so counters read as rates.

    ``collect`` returns the metric families (``dashboard.metrics.collect``); ``clock`` is
    monotonic seconds. The first snapshot is taken at construction, so the first refresh
    already has a window (since the app started).
    """

    def __init__(
        self,
        collect: Callable[[], Iterable[Metric]],
        window_seconds: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._collect = collect
        self._window_seconds = window_seconds
        self._clock = clock
        self._guard = threading.Lock()
        self._snapshots: list[tuple[float, pd.DataFrame]] = [(clock(), samples_frame(collect()))]

    def advance(self) -> tuple[pd.DataFrame, pd.DataFrame, float]:
        """(samples now, their increase over the window, the window's length in seconds)."""
        now = self._clock()
        samples = samples_frame(self._collect())
        with self._guard:
            if now - self._snapshots[-1][0] >= MIN_SNAPSHOT_GAP_SECONDS:
                self._snapshots.append((now, samples))
            # Keep one snapshot at or beyond the window's start, so the window is full.
            while len(self._snapshots) > 2 and self._snapshots[1][0] <= now - self._window_seconds:
                self._snapshots.pop(0)
            started, earlier = self._snapshots[0]
        return samples, window_increase(earlier, samples), now - started


def layout(context: DashboardContext) -> Component:
    return panel(
        "invdash itself",
        html.Div(
            [
                html.Div(id="self-health-window", className="self-health-window"),
                kpi_row(
                    {
                        "self-health-screens": "Active screens",
                        "self-health-hits": "Cache hit ratio",
                        "self-health-queries": "Source queries / min",
                        "self-health-errors": "Source errors / min",
                    }
                ),
                html.H4("Source queries", className="panel-subtitle"),
                self_health.source_queries_grid("self-health-sources"),
                html.H4("Panel refresh, p95", className="panel-subtitle"),
                dcc.Graph(id="self-health-callbacks", config={"displayModeBar": False}),
            ]
        ),
        "self-health-panel",
    )


def register_callbacks(app: Dash, context: DashboardContext) -> None:
    window = MetricsWindow(collect)
    screen_window = screen_window_seconds(context.settings.refresh_seconds)

    @app.callback(
        output=by_id(
            Output("self-health-window", "children"),
            *kpi_outputs(
                "self-health-screens",
                "self-health-hits",
                "self-health-queries",
                "self-health-errors",
            ),
            Output("self-health-sources", "rowData"),
            Output("self-health-callbacks", "figure"),
        ),
        inputs={"_": TICK},
        running=while_refreshing("self-health"),
    )
    def refresh(_: int | None) -> dict[str, Any]:
        samples, increase, seconds = window.advance()
        sources = source_query_stats(increase, seconds)
        cache = cache_hit_ratio(increase)
        screens_text, screens = self_health.screens_text(active_screens(samples))
        hits_text, hit_ratio = self_health.hit_ratio_text(cache)
        totals = query_totals(sources)
        per_minute, errors_per_minute = totals.calls_per_minute, totals.errors_per_minute
        failing = totals.failing_sources
        return {
            "self-health-window": f"this replica, last {seconds / 60:.1f} min",
            **kpi_values(
                "self-health-screens",
                kpi_value(screens_text, screens),
                f"browsers that refreshed in the last {screen_window:g} s",
            ),
            **kpi_values(
                "self-health-hits",
                kpi_value(hits_text, hit_ratio),
                self_health.hit_ratio_hint(cache),
            ),
            **kpi_values(
                "self-health-queries",
                kpi_value(f"{per_minute:,.1f}", per_minute),
                f"{count(totals.calls)} calls to {count(len(sources))} queries",
            ),
            **kpi_values(
                "self-health-errors",
                kpi_value(
                    f"{errors_per_minute:,.1f}",
                    errors_per_minute,
                    "alert" if errors_per_minute > 0 else "normal",
                ),
                ", ".join(failing) if failing else "no source failed",
            ),
            "self-health-sources": self_health.source_query_rows(sources),
            "self-health-callbacks": self_health.callback_latency_figure(
                callback_latency(increase)
            ),
        }
