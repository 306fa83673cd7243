"""Cluster panels: pod tiles, workload table, usage charts, events and node conditions.

Pure functions of the frames in ``queries.telemetry`` and ``queries.workloads``.
"""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd
import plotly.graph_objects as go
from dash import html
from dash.development.base_component import Component

from components.charts import dark_layout, empty_figure, workload_colour
from components.downsample import min_max_per_bucket, points_per_trace
from components.formatting import plotly_text
from components.tables import NUMBER, SHARE, column, d3_formatter, data_grid, json_records

Level = Literal["ok", "done", "warn", "alert"]
ALERT_STATUSES = frozenset(
    {"CrashLoopBackOff", "OOMKilled", "Error", "ImagePullBackOff", "ErrImagePull", "Evicted",
     "Unknown", "CreateContainerConfigError", "CreateContainerError", "InvalidImageName",
     "ContainerStatusUnknown", "Failed"}
)  # fmt: skip
SYMBOLS: dict[Level, str] = {"ok": "●", "done": "✓", "warn": "◐", "alert": "✕"}


def status_level(status: str, healthy: bool) -> Level:
    """How a pod's kubectl STATUS reads at a glance; the symbol and text carry it too, not only colour."""
    if status == "Completed":
        return "done"
    if healthy:
        return "ok"
    if status in ALERT_STATUSES or status.startswith(
        ("Init:CrashLoop", "Init:Error", "Init:ExitCode", "Init:Signal", "ExitCode", "Signal")
    ):
        return "alert"
    return "warn"


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in record.items()} for record in frame.to_dict("records")]


def demo_badge(is_demo: bool) -> Component:
    return html.Span("DEMO DATA", className="demo-badge") if is_demo else html.Span()


def pod_tiles(pods: pd.DataFrame) -> list[Component]:
    """One tile per pod, worst first: status word and symbol, ready count, restarts."""
    if pods.empty:
        return [html.Div("No pods match the namespaces and selector", className="empty-note")]
    rank = {"alert": 0, "warn": 1, "ok": 2, "done": 3}
    rows = pods.assign(
        level=[
            # Running and ready again after an OOM kill or a crash still wants a look: amber.
            "warn" if level == "ok" and reason in ("OOMKilled", "Error") else level
            for level, reason in zip(
                (
                    status_level(s, bool(h))
                    for s, h in zip(pods["status"], pods["healthy"], strict=True)
                ),
                pods["last_termination_reason"],
                strict=True,
            )
        ]
    )
    rows = rows.assign(rank=rows["level"].map(rank)).sort_values(
        ["rank", "namespace", "workload", "pod"]
    )
    tiles: list[Component] = []
    for row in _rows(rows):
        restarts = int(row["restarts"])
        lines = [
            html.Div(f"{SYMBOLS[row['level']]} {row['status']}", className="pod-status"),
            html.Div(
                str(row["pod"]), className="pod-name", title=f"{row['namespace']}/{row['pod']}"
            ),
            html.Div(
                [
                    html.Span(f"{row['ready_containers']}/{row['total_containers']} ready"),
                    html.Span(
                        f"↻ {restarts}", className="pod-restarts" + (" hot" if restarts else "")
                    ),
                ],
                className="pod-facts",
            ),
        ]
        if row["last_termination_reason"] and row["last_termination_reason"] != "Completed":
            lines.append(html.Div(f"last: {row['last_termination_reason']}", className="pod-last"))
        tiles.append(
            html.Div(
                lines,
                id={"type": "pod-tile", "pod": f"{row['namespace']}/{row['pod']}"},
                n_clicks=0,
                className=f"pod-tile pod-{row['level']}",
                title=f"{row['namespace']}/{row['workload']}",
            )
        )
    return tiles


def node_tiles(nodes: pd.DataFrame) -> list[Component]:
    tiles: list[Component] = []
    for row in _rows(nodes):
        pressures = [
            name
            for name, on in (
                ("memory", row["memory_pressure"]),
                ("disk", row["disk_pressure"]),
                ("PID", row["pid_pressure"]),
            )
            if on
        ]
        level: Level = "ok" if row["ready"] and not pressures else "alert"
        state = "Ready" if row["ready"] else "NotReady"
        detail = ", ".join(f"{p} pressure" for p in pressures) or "no pressure"
        tiles.append(
            html.Div(
                [
                    html.Div(f"{SYMBOLS[level]} {row['node']}", className="node-name"),
                    html.Div(f"{state} · {detail}", className="node-state"),
                    html.Div(
                        f"{row['cpu_allocatable_cores']:g} cores · {row['memory_allocatable_bytes'] / 2**30:.1f} GiB",
                        className="node-capacity",
                    ),
                ],
                className=f"node-tile pod-{level}",
            )
        )
    return tiles


def workload_grid(grid_id: str) -> Component:
    oom = "params.data && params.data.oom_risk"
    return data_grid(
        grid_id,
        [
            column("namespace", "Namespace", minWidth=110),
            column("workload", "Workload", minWidth=160),
            column("pods", "Pods", valueFormatter=NUMBER),
            column("restarts", "Restarts", valueFormatter=NUMBER),
            column(
                "cpu_cores",
                "CPU cores",
                valueFormatter=d3_formatter(".3f"),
            ),
            column("cpu_request_share", "CPU / request", valueFormatter=SHARE),
            column("cpu_limit_share", "CPU / limit", valueFormatter=SHARE),
            column("cpu_throttling_ratio", "Throttled", valueFormatter=SHARE),
            column(
                "memory_bytes",
                "Memory",
                valueFormatter=d3_formatter(".3s", "B"),
            ),
            column("memory_request_share", "Memory / request", valueFormatter=SHARE),
            column(
                "max_memory_limit_share",
                "Memory / limit (max)",
                valueFormatter={
                    "function": f"params.value == null ? 'no limit' : ({oom} ? '⚠ OOM risk ' : '') + d3.format('.0%')(params.value)"
                },
                cellClassRules={"risk-high": oom},
            ),
        ],
        height="360px",
    )


def workload_rows(workloads: pd.DataFrame) -> list[dict[str, Any]]:
    columns = ["namespace", "workload", "pods", "restarts", "cpu_cores", "cpu_request_share", "cpu_limit_share",
               "cpu_throttling_ratio", "memory_bytes", "memory_request_share", "max_memory_limit_share"]  # fmt: skip
    rows = workloads.astype({c: "float64" for c in columns[2:]})
    records = json_records(rows, columns)
    for record, oom in zip(records, workloads["oom_risk"], strict=True):
        record["oom_risk"] = bool(oom)
    return records


def events_grid(grid_id: str) -> Component:
    warning = "params.data && params.data.type == 'Warning'"
    return data_grid(
        grid_id,
        [
            column("timestamp", "Last seen (UTC)", sort="desc", minWidth=200),
            column(
                "type",
                "Type",
                valueFormatter={"function": f"({warning} ? '⚠ ' : '') + params.value"},
                cellClassRules={"risk-high": warning},
                minWidth=120,
            ),
            column("reason", "Reason", minWidth=170),
            column("object", "Object", minWidth=200),
            column("count", "Count", valueFormatter=NUMBER, minWidth=100),
            column("message", "Message", minWidth=360, tooltipField="message"),
        ],
        # Tall enough for a page of rows under the headers and floating filters; narrower
        # screens scroll sideways rather than squeeze columns to a letter.
        height="520px",
    )


def event_rows(events: pd.DataFrame) -> list[dict[str, Any]]:
    frame = events.assign(
        object=events["namespace"] + "/" + events["kind"].str.lower() + "/" + events["name"],
        timestamp=events["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S"),
        count=events["count"].astype("float64"),
    )
    return json_records(frame, ["timestamp", "type", "reason", "object", "count", "message"])


def usage_figure(series: pd.DataFrame, column: str, title: str, tick_format: str) -> go.Figure:
    """One line per workload of ``column`` over time (workload_usage_series rows), each of at
    most its share of MAX_POINTS_PER_FIGURE points (``points_per_trace``) that keep its
    buckets' extremes (``components.downsample``)."""
    if series.empty:
        return empty_figure("No usage samples in this window")
    figure = go.Figure()
    workloads = series.groupby(["namespace", "workload"]).ngroups
    lines = min_max_per_bucket(
        series, [column], by=["namespace", "workload"], max_points=points_per_trace(workloads)
    )
    for (namespace, workload), rows in lines.groupby(["namespace", "workload"], sort=True):
        figure.add_trace(
            go.Scatter(
                x=rows["timestamp"],
                y=rows[column],
                mode="lines",
                line={"color": workload_colour(str(namespace), str(workload))},
                name=plotly_text(f"{namespace}/{workload}"),
                hovertemplate="%{fullData.name}<br>%{x|%H:%M}: %{y:"
                + tick_format
                + "}<extra></extra>",
            )
        )
    figure.update_layout(yaxis_title=title, yaxis_tickformat=tick_format, hovermode="x unified")
    return dark_layout(figure, height=360)


def pod_detail(pod: dict[str, Any], containers: pd.DataFrame, events: pd.DataFrame) -> Component:
    """One pod: its kubectl facts, each container's usage against requests and limits, its events."""
    level = status_level(str(pod["status"]), bool(pod["healthy"]))
    facts = [
        f"{SYMBOLS[level]} {pod['status']}",
        f"{pod['ready_containers']}/{pod['total_containers']} ready",
        f"↻ {pod['restarts']} restarts",
        f"last termination: {pod['last_termination_reason'] or 'none'}",
        f"{pod['workload_kind']} {pod['workload']}",
        f"node {pod['node'] or 'unscheduled'}",
        f"age {float(pod['age_seconds']) / 3600:.1f} h",
    ]

    def share(value: Any) -> str:
        return "no limit" if pd.isna(value) else f"{float(value):.0%}"

    rows = [
        html.Tr([
            html.Td(str(c["container"])), html.Td(f"{float(c['cpu_cores']):.3f}"), html.Td(share(c["cpu_request_share"])),
            html.Td(share(c["cpu_limit_share"])), html.Td(f"{float(c['memory_bytes']) / 2**20:,.0f} MiB"),
            html.Td(("⚠ OOM risk " if float(c["memory_limit_share"] or 0) > 0.9 else "") + share(c["memory_limit_share"])),
            html.Td(str(c["last_terminated_reason"] or "")),
        ])
        for c in _rows(containers)
    ]  # fmt: skip
    usage = (
        html.Table(
            [
                html.Thead(
                    html.Tr(
                        [
                            html.Th(h)
                            for h in (
                                "Container",
                                "CPU cores",
                                "CPU / request",
                                "CPU / limit",
                                "Memory",
                                "Memory / limit",
                                "Last terminated",
                            )
                        ]
                    )
                ),
                html.Tbody(rows),
            ],
            className="ops-table",
        )
        if rows
        else html.Div("No usage samples for this pod", className="empty-note")
    )
    event_items = [
        html.Li(
            f"{e['timestamp']:%H:%M:%S} {'⚠ ' if e['type'] == 'Warning' else ''}{e['reason']}: {e['message']}"
        )
        for e in _rows(events.sort_values("timestamp", ascending=False).head(20))
    ]
    return html.Div(
        [
            html.H2(f"{pod['namespace']}/{pod['pod']}", className="detail-title"),
            html.Div(" · ".join(facts), className=f"pod-facts-line pod-{level}"),
            html.H3("Containers: usage against requests and limits"),
            usage,
            html.H3("Recent events"),
            html.Ul(event_items)
            if event_items
            else html.Div("No recent events", className="empty-note"),
        ],
        className="pod-detail",
    )
