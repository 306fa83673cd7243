"""The Cluster page: pod health, workload usage against requests and limits, events, nodes.

Each source feeds its own callback, so a slow or failing Prometheus never holds up the
Kubernetes panels, and each panel says how fresh its data is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

import dash_mantine_components as dmc
from dash import ALL, Dash, Input, Output, ctx, dcc, html, no_update
from dash.development.base_component import Component

from components import charts, cluster
from components.panels import Freshness, freshness_line, panel
from dashboard import alerting, fetches
from dashboard.cache import Fetched
from dashboard.context import DashboardContext
from dashboard.outputs import by_id, panel_outputs, panel_values
from dashboard.ticks import TICK, while_refreshing
from dashboard.url_sync import FILTER_ALL, keep_in_url, url_select
from dashboard.urlstate import ViewState
from queries.scope import ALL as EVERY
from queries.scope import Scope, choices
from queries.telemetry import (
    POD_HEALTH_COLUMNS,
    empty_frame,
)
from queries.workloads import notable_events, workload_resources, workload_usage_series

T = TypeVar("T")
EVENT_HISTORY = dt.timedelta(hours=6)


def _slot(name: str) -> Component:
    return html.Div(
        [
            html.Div(id=f"cl-{name}-badge"),
            html.Div(id=f"cl-{name}-freshness", className="freshness-slot"),
        ],
        className="panel-meta",
    )


def _source_panel(name: str, title: str, content: Component) -> Component:
    """Panel ``cl-{name}-panel``: its source's badge and freshness (``_slot``) above
    ``content``, in the body ``cl-{name}-body`` that greys when the data is stale."""
    return html.Div(
        panel(title, html.Div([_slot(name), content]), f"cl-{name}-panel"), id=f"cl-{name}-body"
    )


def layout(context: DashboardContext, view: ViewState) -> Component:
    graph: Any = {"displayModeBar": False}
    return html.Div(
        [
            html.Div(
                [
                    html.H1("Cluster", className="page-title"),
                    url_select("cl-namespace", "Namespace", view.filter("namespace")),
                    url_select("cl-workload", "Workload", view.filter("workload")),
                ],
                className="page-toolbar",
            ),
            dmc.Modal(
                id="pod-modal", size="80%", title="Pod detail", children=html.Div(id="pod-detail")
            ),
            _source_panel("pods", "Pod health", html.Div(id="cl-pod-tiles", className="pod-grid")),
            _source_panel(
                "workloads",
                "Workloads: usage against requests and limits",
                cluster.workload_grid("cl-workload-grid"),
            ),
            html.Div(
                dmc.SimpleGrid(
                    [
                        panel(
                            "CPU by workload",
                            html.Div([_slot("usage"), dcc.Graph(id="cl-cpu", config=graph)]),
                            "cl-cpu-panel",
                        ),
                        panel(
                            "Memory by workload",
                            html.Div(
                                [
                                    html.Div(id="cl-memory-badge", className="panel-meta"),
                                    dcc.Graph(id="cl-memory", config=graph),
                                ]
                            ),
                            "cl-memory-panel",
                        ),
                    ],
                    cols={"base": 1, "lg": 2},
                    spacing="md",
                ),
                id="cl-usage-body",
            ),
            dmc.SimpleGrid(
                [
                    _source_panel(
                        "events",
                        "Recent warnings and rollouts",
                        cluster.events_grid("cl-events-grid"),
                    ),
                    _source_panel(
                        "nodes", "Nodes", html.Div(id="cl-node-tiles", className="node-grid")
                    ),
                    alerting.hpa_panel(),
                ],
                cols={"base": 1, "xl": 2},
                spacing="md",
            ),
        ],
        className="cluster-page",
    )


def _status(
    context: DashboardContext, panel: str, name: str, fetched: Fetched[Any], badge: Component
) -> dict[str, object]:
    """The values of ``panel_outputs(panel)``: the freshness line of source ``name``'s entry,
    the body class ("stale" greys the last good data) and the badge."""
    line = freshness_line(
        Freshness(name, fetched.fetched_at, fetched.error, fetched.error_since),
        context.settings.refresh_seconds,
    )
    stale = bool(fetched.error) and fetched.value is not None
    body = "panel-body stale" if stale else "panel-body"
    return panel_values(panel, freshness=line, body=body, badge=badge)


def _options(values: list[str], chosen: str) -> list[dict[str, str]]:
    """ "all", the values, and the chosen one even when the data no longer has it."""
    shown = values if chosen == EVERY or chosen in values else [*values, chosen]
    return FILTER_ALL + [{"value": value, "label": value} for value in shown]


# What each refresh fills: the Kubernetes API's panels and the scope's choices, and
# Prometheus's.
POD_OUTPUTS = by_id(
    Output("cl-pod-tiles", "children"),
    *panel_outputs("cl-pods"),
    Output("cl-events-grid", "rowData"),
    *panel_outputs("cl-events"),
    Output("cl-node-tiles", "children"),
    *panel_outputs("cl-nodes"),
    Output("cl-namespace", "data"),
    Output("cl-workload", "data"),
)
METRICS_OUTPUTS = by_id(
    Output("cl-workload-grid", "rowData"),
    *panel_outputs("cl-workloads"),
    Output("cl-cpu", "figure"),
    Output("cl-memory", "figure"),
    *panel_outputs("cl-usage"),
    *panel_outputs("cl-memory", "badge"),
)
# A refresh of the scope: the tick, the namespace and the workload in, outputs by id out.
Refresh = Callable[[int | None, str | None, str | None], dict[str, Any]]


def register_callbacks(app: Dash, context: DashboardContext) -> None:
    sources = context.sources
    window = dt.timedelta(minutes=context.settings.telemetry_window_minutes)
    cluster_source, metrics = sources.cluster, sources.metrics
    cluster_name = cluster_source.name if cluster_source else "Kubernetes API"
    keep_in_url(app, {"cl-namespace": "namespace", "cl-workload": "workload"})
    metrics_name = metrics.name if metrics else "Prometheus"

    # A source is a demo or not for the app's lifetime.
    cluster_badge = cluster.demo_badge(bool(cluster_source and cluster_source.is_demo))
    metrics_badge = cluster.demo_badge(bool(metrics and metrics.is_demo))
    # Both refreshes follow the tick and the namespace and workload chosen.
    scope_inputs = {
        "_": TICK,
        "namespace": Input("cl-namespace", "value"),
        "workload": Input("cl-workload", "value"),
    }

    def scoped(name: str, outputs: dict[str, Output]) -> Callable[[Refresh], Refresh]:
        """A refresh of ``outputs`` (its ``while_refreshing`` name ``name``) on the scope."""
        callback: Callable[[Refresh], Refresh] = app.callback(
            output=outputs, inputs=scope_inputs, running=while_refreshing(name)
        )
        return callback

    @scoped("cluster-pods", POD_OUTPUTS)
    def refresh_cluster(
        _: int | None, namespace: str | None, workload: str | None
    ) -> dict[str, Any]:
        demo = cluster_badge
        since = dt.datetime.now(dt.UTC) - EVENT_HISTORY
        pod_data = fetches.fetch_pods(context)
        events = fetches.fetch_cluster_events(context, since)
        nodes = fetches.fetch_nodes(context)
        scope = Scope.of(namespace, workload)
        all_pods = pod_data.value if pod_data.value is not None else empty_frame(POD_HEALTH_COLUMNS)
        namespaces, workloads = choices(all_pods, scope.namespace)
        return {
            "cl-pod-tiles": cluster.pod_tiles(scope.pods(pod_data.value))
            if pod_data.value is not None
            else [],
            **_status(context, "cl-pods", cluster_name, pod_data, demo),
            "cl-events-grid": cluster.event_rows(
                notable_events(scope.events(events.value, all_pods))
            )
            if events.value is not None
            else [],
            **_status(context, "cl-events", cluster_name, events, demo),
            "cl-node-tiles": cluster.node_tiles(nodes.value) if nodes.value is not None else [],
            **_status(context, "cl-nodes", cluster_name, nodes, demo),
            "cl-namespace": _options(namespaces, scope.namespace),
            "cl-workload": _options(workloads, scope.workload),
        }

    @app.callback(
        Output("pod-modal", "opened"),
        Output("pod-detail", "children"),
        Input({"type": "pod-tile", "pod": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def open_pod(clicks: list[int | None]) -> tuple[Any, ...]:
        """A click on a pod tile opens its detail, from what the page already fetched."""
        triggered = ctx.triggered_id
        if not isinstance(triggered, dict) or not any(clicks):
            return no_update, no_update
        namespace, _, name = str(triggered["pod"]).partition("/")
        pods_now = fetches.last_pods_entry(context)
        if pods_now is None or pods_now.value is None:
            return no_update, no_update
        match = pods_now.value[
            (pods_now.value["namespace"] == namespace) & (pods_now.value["pod"] == name)
        ]
        if match.empty:
            return True, html.Div(f"{namespace}/{name} is gone", className="empty-note")
        frame = fetches.last_container_resources(context)
        event_frame = fetches.last_cluster_events(context)
        mine = event_frame[(event_frame["namespace"] == namespace) & (event_frame["name"] == name)]
        containers = frame[(frame["namespace"] == namespace) & (frame["pod"] == name)]
        row = {str(k): v for k, v in match.iloc[0].to_dict().items()}
        return True, cluster.pod_detail(row, containers, mine)

    @scoped("cluster-metrics", METRICS_OUTPUTS)
    def refresh_metrics(
        _: int | None, namespace: str | None, workload: str | None
    ) -> dict[str, Any]:
        scope, demo = Scope.of(namespace, workload), metrics_badge
        end = dt.datetime.now(dt.UTC)
        resources = fetches.fetch_container_resources(context)
        usage = fetches.fetch_recent_usage(context, end - window, end)
        # Pod owners come from whatever the cluster callback last cached: never wait on another source.
        pod_frame = fetches.last_pods(context)
        rows = (
            cluster.workload_rows(
                workload_resources(pod_frame, scope.by_pod(resources.value, pod_frame))
            )
            if resources.value is not None
            else []
        )
        if usage.value is not None:
            series = workload_usage_series(pod_frame, scope.by_pod(usage.value, pod_frame))
            cpu = cluster.usage_figure(series, "cpu_cores", "CPU cores", ".2f")
            memory = cluster.usage_figure(series, "memory_bytes", "working set", ".3s")
        else:
            cpu = memory = charts.empty_figure(f"{metrics_name}: {usage.error}")
        return {
            "cl-workload-grid": rows,
            **_status(context, "cl-workloads", metrics_name, resources, demo),
            "cl-cpu": cpu,
            "cl-memory": memory,
            **_status(context, "cl-usage", metrics_name, usage, demo),
            **panel_values("cl-memory", badge=demo),
        }
