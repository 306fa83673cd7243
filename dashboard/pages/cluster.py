"""The Cluster page: pod health, workload usage against requests and limits, events, nodes.

Each source feeds its own callback, so a slow or failing Prometheus never holds up the
Kubernetes panels, and each panel says how fresh its data is.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

import dash_mantine_components as dmc
from dash import ALL, Dash, Input, Output, ctx, dcc, html, no_update
from dash.development.base_component import Component

from components import charts, cluster
from components.panels import Freshness, freshness_line, panel
from dashboard import fetches
from dashboard.cache import Fetched
from dashboard.context import DashboardContext
from dashboard.outputs import by_id
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
            html.Div(
                panel(
                    "Pod health",
                    html.Div([_slot("pods"), html.Div(id="cl-pod-tiles", className="pod-grid")]),
                    "cl-pods-panel",
                ),
                id="cl-pods-body",
            ),
            html.Div(
                panel(
                    "Workloads: usage against requests and limits",
                    html.Div([_slot("workloads"), cluster.workload_grid("cl-workload-grid")]),
                    "cl-workloads-panel",
                ),
                id="cl-workloads-body",
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
                    html.Div(
                        panel(
                            "Recent warnings and rollouts",
                            html.Div([_slot("events"), cluster.events_grid("cl-events-grid")]),
                            "cl-events-panel",
                        ),
                        id="cl-events-body",
                    ),
                    html.Div(
                        panel(
                            "Nodes",
                            html.Div(
                                [
                                    _slot("nodes"),
                                    html.Div(id="cl-node-tiles", className="node-grid"),
                                ]
                            ),
                            "cl-nodes-panel",
                        ),
                        id="cl-nodes-body",
                    ),
                ],
                cols={"base": 1, "xl": 2},
                spacing="md",
            ),
        ],
        className="cluster-page",
    )


def _status(context: DashboardContext, name: str, fetched: Fetched[Any]) -> tuple[Component, str]:
    """The freshness line and the body class ("stale" greys the last good data)."""
    line = freshness_line(
        Freshness(name, fetched.fetched_at, fetched.error, fetched.error_since),
        context.settings.refresh_seconds,
    )
    return line, "panel-body stale" if fetched.error and fetched.value is not None else "panel-body"


def _options(values: list[str], chosen: str) -> list[dict[str, str]]:
    """ "all", the values, and the chosen one even when the data no longer has it."""
    shown = values if chosen == EVERY or chosen in values else [*values, chosen]
    return FILTER_ALL + [{"value": value, "label": value} for value in shown]


def register_callbacks(app: Dash, context: DashboardContext) -> None:
    sources = context.sources
    window = dt.timedelta(minutes=context.settings.telemetry_window_minutes)
    cluster_source, metrics = sources.cluster, sources.metrics
    cluster_name = cluster_source.name if cluster_source else "Kubernetes API"
    keep_in_url(app, {"cl-namespace": "namespace", "cl-workload": "workload"})
    metrics_name = metrics.name if metrics else "Prometheus"

    @app.callback(
        output=by_id(
            Output("cl-pod-tiles", "children"),
            Output("cl-pods-freshness", "children"),
            Output("cl-pods-body", "className"),
            Output("cl-pods-badge", "children"),
            Output("cl-events-grid", "rowData"),
            Output("cl-events-freshness", "children"),
            Output("cl-events-body", "className"),
            Output("cl-events-badge", "children"),
            Output("cl-node-tiles", "children"),
            Output("cl-nodes-freshness", "children"),
            Output("cl-nodes-body", "className"),
            Output("cl-nodes-badge", "children"),
            Output("cl-namespace", "data"),
            Output("cl-workload", "data"),
        ),
        inputs={
            "_": TICK,
            "namespace": Input("cl-namespace", "value"),
            "workload": Input("cl-workload", "value"),
        },
        running=while_refreshing("cluster-pods"),
    )
    def refresh_cluster(
        _: int | None, namespace: str | None, workload: str | None
    ) -> dict[str, Any]:
        demo = cluster.demo_badge(bool(cluster_source and cluster_source.is_demo))
        since = dt.datetime.now(dt.UTC) - EVENT_HISTORY
        pod_data = fetches.fetch_pods(context)
        events = fetches.fetch_cluster_events(context, since)
        nodes = fetches.fetch_nodes(context)
        scope = Scope.of(namespace, workload)
        all_pods = pod_data.value if pod_data.value is not None else empty_frame(POD_HEALTH_COLUMNS)
        namespaces, workloads = choices(all_pods, scope.namespace)
        pods_line, pods_body = _status(context, cluster_name, pod_data)
        events_line, events_body = _status(context, cluster_name, events)
        nodes_line, nodes_body = _status(context, cluster_name, nodes)
        return {
            "cl-pod-tiles": cluster.pod_tiles(scope.pods(pod_data.value))
            if pod_data.value is not None
            else [],
            "cl-pods-freshness": pods_line,
            "cl-pods-body": pods_body,
            "cl-pods-badge": demo,
            "cl-events-grid": cluster.event_rows(
                notable_events(scope.events(events.value, all_pods))
            )
            if events.value is not None
            else [],
            "cl-events-freshness": events_line,
            "cl-events-body": events_body,
            "cl-events-badge": demo,
            "cl-node-tiles": cluster.node_tiles(nodes.value) if nodes.value is not None else [],
            "cl-nodes-freshness": nodes_line,
            "cl-nodes-body": nodes_body,
            "cl-nodes-badge": demo,
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

    @app.callback(
        output=by_id(
            Output("cl-workload-grid", "rowData"),
            Output("cl-workloads-freshness", "children"),
            Output("cl-workloads-body", "className"),
            Output("cl-workloads-badge", "children"),
            Output("cl-cpu", "figure"),
            Output("cl-memory", "figure"),
            Output("cl-usage-body", "className"),
            Output("cl-usage-badge", "children"),
            Output("cl-usage-freshness", "children"),
            Output("cl-memory-badge", "children"),
        ),
        inputs={
            "_": TICK,
            "namespace": Input("cl-namespace", "value"),
            "workload": Input("cl-workload", "value"),
        },
        running=while_refreshing("cluster-metrics"),
    )
    def refresh_metrics(
        _: int | None, namespace: str | None, workload: str | None
    ) -> dict[str, Any]:
        scope = Scope.of(namespace, workload)
        demo = cluster.demo_badge(bool(metrics and metrics.is_demo))
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
        line, body = _status(context, metrics_name, resources)
        usage_line, usage_body = _status(context, metrics_name, usage)
        return {
            "cl-workload-grid": rows,
            "cl-workloads-freshness": line,
            "cl-workloads-body": body,
            "cl-workloads-badge": demo,
            "cl-cpu": cpu,
            "cl-memory": memory,
            "cl-usage-body": usage_body,
            "cl-usage-badge": demo,
            "cl-usage-freshness": usage_line,
            "cl-memory-badge": demo,
        }
