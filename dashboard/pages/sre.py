"""/sre: did the spike in traffic come with more orders, or did an incident cost us orders?

Order volume (inventory database), the order services' traffic and the workloads' usage
(Prometheus or the demo cluster) on one time axis, with cluster events drawn on every row.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import dash_mantine_components as dmc
import pandas as pd
from dash import Dash, Input, Output, State, dcc, html, no_update
from dash.development.base_component import Component

from components import cluster, sre
from components.formatting import count
from components.kpi import kpi_row, kpi_value
from components.panels import Freshness, freshness_line, panel
from dashboard import alerting, fetches
from dashboard.cache import Fetched
from dashboard.context import DashboardContext, stamp
from dashboard.outputs import by_id, kpi_outputs, kpi_values
from dashboard.pages import self_health
from dashboard.ticks import TICK, while_refreshing
from dashboard.url_sync import choice_value, keep_in_url, url_choice
from dashboard.urlstate import RANGES, ViewState, custom_range, parse_view, range_text, with_filter
from queries import correlation, telemetry
from queries.inventory import ORDER_VOLUME_COLUMNS
from queries.scope import Scope
from queries.workloads import notable_events, workload_usage_series

NEAR_CLICK = dt.timedelta(minutes=5)
# Kubernetes deletes events after --event-ttl, one hour unless the cluster says otherwise.
EVENT_HORIZON = dt.timedelta(hours=1)


def layout(context: DashboardContext, view: ViewState) -> Component:
    return html.Div(
        [
            html.Div(
                [
                    html.H1("Orders against traffic", className="page-title"),
                    url_choice("sre-range", RANGES, *_range_choice(view)),
                    html.Div(
                        range_note(view), id="sre-range-note", className="range-note controls"
                    ),
                    html.Div(id="sre-freshness", className="sre-freshness"),
                ],
                className="page-toolbar",
            ),
            alerting.alert_strip(),
            kpi_row(
                {
                    "sre-kpi-ratio": "Orders per 1,000 requests",
                    "sre-kpi-correlation": "Orders vs requests",
                    "sre-kpi-risk": "Orders at risk in error bursts",
                    "sre-kpi-events": "Warnings in window",
                }
            ),
            panel(
                "One time axis",
                html.Div(
                    [
                        html.Div(id="sre-badge"),
                        dcc.Graph(id="sre-figure", config={"displayModeBar": False}),
                    ]
                ),
                "sre-figure-panel",
            ),
            dmc.SimpleGrid(
                [alerting.slo_panel(), alerting.hpa_panel()],
                cols={"base": 1, "lg": 2},
                spacing="md",
            ),
            panel(
                "At the clicked time",
                html.Div(
                    "Click a point in time to list the pods that were unhealthy then.",
                    id="sre-clicked",
                ),
                "sre-clicked-panel",
            ),
            self_health.layout(context),
        ],
        className="sre-page",
    )


def _frame_or_empty(fetched: Fetched[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    return fetched.value if fetched.value is not None else telemetry.empty_frame(columns)


def register_callbacks(app: Dash, context: DashboardContext) -> None:
    settings = context.settings
    metrics, cluster_source = context.sources.metrics, context.sources.cluster
    keep_in_url(
        app,
        {"sre-range": "range"},
        {"sre-range": lambda view: choice_value(RANGES, *_range_choice(view))},
    )

    @app.callback(
        output=by_id(
            Output("sre-figure", "figure"),
            Output("sre-freshness", "children"),
            Output("sre-badge", "children"),
            *kpi_outputs("sre-kpi-ratio", "sre-kpi-correlation", "sre-kpi-risk", "sre-kpi-events"),
            Output("sre-range-note", "children"),
        ),
        inputs={"_": TICK, "search": Input("url", "search")},
        running=while_refreshing("sre"),
    )
    def refresh(_: int | None, search: str | None) -> dict[str, Any]:
        view = parse_view(None, search)
        start, end = view.time_window(dt.datetime.now(dt.UTC).replace(second=0, microsecond=0))
        # Preset ranges share their keys with /ops ("orders:60"); a custom range is its own key.
        minutes = (
            view.filter("range", "1h") if custom_range(view.filter("range")) else view.range_minutes
        )
        orders = fetches.order_volume(context, minutes, start, end)
        traffic = fetches.fetch_service_traffic(context, minutes, start, end)
        usage = fetches.fetch_pod_usage(context, minutes, start, end)
        hpa = fetches.fetch_hpa_replicas(context, minutes, start, end)
        events = fetches.fetch_events_in_range(context, minutes, start)

        def build() -> dict[str, Any]:
            pod_frame = fetches.last_pods(context)

            combined = correlation.orders_and_traffic(
                _frame_or_empty(orders, ORDER_VOLUME_COLUMNS),
                _frame_or_empty(traffic, telemetry.SERVICE_TRAFFIC_COLUMNS),
                settings.service_names,
            )
            scope = Scope.of(view.filter("namespace"), view.filter("workload"))
            in_range = _frame_or_empty(events, telemetry.EVENT_COLUMNS)
            in_range = in_range[in_range["timestamp"] <= pd.Timestamp(end)]
            notable = notable_events(scope.events(in_range, pod_frame))
            figure = sre.shared_axis_figure(
                combined,
                workload_usage_series(
                    pod_frame,
                    scope.by_pod(_frame_or_empty(usage, telemetry.POD_USAGE_COLUMNS), pod_frame),
                ),
                scope.hpas(_frame_or_empty(hpa, telemetry.HPA_COLUMNS)),
                notable,
                (start.astimezone(dt.UTC), end.astimezone(dt.UTC)),
            )
            # Three sources feed this page: each line says whose data it dates.
            lines = [
                html.Div(
                    [
                        html.Span(f"{name}: ", className="freshness-source"),
                        freshness_line(
                            Freshness(name, f.fetched_at, f.error, f.error_since),
                            settings.refresh_seconds,
                        ),
                    ]
                )
                for name, f in (
                    (context.inventory.name, orders),
                    (metrics.name if metrics else "Prometheus", traffic),
                    (cluster_source.name if cluster_source else "Kubernetes API", events),
                )
            ]
            ratio = correlation.orders_per_thousand_requests(combined)
            lag = correlation.lagged_correlation(combined)
            bursts = correlation.orders_at_risk(combined)
            at_risk = correlation.total_orders_at_risk(combined)
            warnings = int((notable["type"] == "Warning").sum())
            demo = bool(metrics and metrics.is_demo) or bool(
                cluster_source and cluster_source.is_demo
            )
            return {
                "sre-range-note": range_note(view),
                "sre-figure": figure,
                "sre-freshness": lines,
                "sre-badge": cluster.demo_badge(demo),
                **kpi_values(
                    "sre-kpi-ratio",
                    kpi_value(
                        "n/a" if math.isnan(ratio) else f"{ratio:.2f}",
                        None if math.isnan(ratio) else ratio,
                    ),
                    _range_words(view),
                ),
                **kpi_values(
                    "sre-kpi-correlation",
                    kpi_value(
                        "n/a"
                        if math.isnan(lag.correlation_at_zero)
                        else f"r = {lag.correlation_at_zero:.2f}",
                        None if math.isnan(lag.correlation_at_zero) else lag.correlation_at_zero,
                    ),
                    "not enough data"
                    if math.isnan(lag.best_correlation)
                    else f"best r = {lag.best_correlation:.2f} with orders "
                    f"{_lag_words(lag.best_lag)}",
                ),
                **kpi_values(
                    "sre-kpi-risk",
                    kpi_value(f"{at_risk:.1f}", at_risk, "alert" if at_risk >= 1 else "normal"),
                    f"{count(len(bursts))} error bursts above 2% errors",
                ),
                **kpi_values(
                    "sre-kpi-events",
                    kpi_value(count(warnings), warnings, "warning" if warnings else "normal"),
                    f"{count(len(notable))} rollout, scaling and warning events"
                    + (
                        " (the API server keeps events about 1 h)"
                        if end - start > EVENT_HORIZON
                        else ""
                    ),
                ),
            }

        # Every screen on this view shares one rendering of the same entries; while the
        # rendering of entries just landed is made, the screens get the view's newest one.
        parts = (
            start, end,
            *(stamp(f) for f in (orders, traffic, usage, hpa, events)),
            stamp(fetches.last_pods_entry(context)),
        )  # fmt: skip
        # A view asked for within two intervals is being watched: hand out its newest.
        watched = 2 * settings.refresh_seconds
        return context.renderings.latest("sre", (search,), parts, build, watched)

    @app.callback(
        Output("url", "search", allow_duplicate=True),
        Input("sre-figure", "relayoutData"),
        State("url", "search"),
        prevent_initial_call=True,
    )
    def zoom(relayout: dict[str, Any] | None, search: str | None) -> Any:
        """Dragging across the time axis makes the range custom: in the URL, so it is shared."""
        if not relayout or "xaxis.range[0]" not in relayout or "xaxis.range[1]" not in relayout:
            return no_update
        start, end = (
            pd.Timestamp(relayout[f"xaxis.range[{i}]"]).floor("min").to_pydatetime() for i in (0, 1)
        )
        if end - start < dt.timedelta(minutes=5):
            end = start + dt.timedelta(minutes=5)
        return with_filter(search, "range", range_text(start, end))

    @app.callback(
        Output("sre-clicked", "children"),
        Input("sre-figure", "clickData"),
        State("url", "search"),
        prevent_initial_call=True,
    )
    def clicked(click: dict[str, Any] | None, search: str | None) -> Any:
        if not click or not click.get("points"):
            return no_update
        moment = pd.Timestamp(click["points"][0]["x"])
        moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")
        view = parse_view(None, search)
        minutes = (
            view.filter("range", "1h") if custom_range(view.filter("range")) else view.range_minutes
        )
        events = fetches.last_events_in_range(context, minutes)
        near = events[(events["timestamp"] - moment).abs() <= NEAR_CLICK]
        heading = f"{moment:%Y-%m-%d %H:%M:%S} UTC"
        if metrics is None:
            return sre.moment_details(
                heading, None, near[near["type"] == "Warning"], "no Prometheus is configured"
            )
        fetched = fetches.fetch_unhealthy_pods_at(context, moment)
        scope = Scope.of(view.filter("namespace"), view.filter("workload"))
        pod_frame = fetches.last_pods(context)
        unhealthy = None if fetched.value is None else scope.by_pod(fetched.value, pod_frame)
        warnings = scope.events(near[near["type"] == "Warning"], pod_frame)
        return sre.moment_details(heading, unhealthy, warnings, fetched.error)


def _range_choice(view: ViewState) -> tuple[str, str | None]:
    """The range control's value for a view, and what it shows for a zoomed (custom) range:
    no preset selected."""
    current = view.filter("range", "1h")
    return current, None if custom_range(current) else "1h"


def range_note(view: ViewState) -> str:
    """The note beside the range control: the zoomed range, or how to zoom."""
    if custom_range(view.filter("range")) is not None:
        return f"Zoomed: {_range_words(view)}"
    return "Drag across a chart to zoom"


def _range_words(view: ViewState) -> str:
    custom = custom_range(view.filter("range"))
    if custom is None:
        return f"over the last {view.filter('range', '1h')}"
    start, end = custom
    return f"from {start:%d %b %H:%M} to {end:%d %b %H:%M} UTC"


def _lag_words(lag: dt.timedelta) -> str:
    minutes = lag.total_seconds() / 60
    if minutes == 0:
        return "in step with requests"
    return f"{abs(minutes):g} min {'after' if minutes > 0 else 'before'} requests"
