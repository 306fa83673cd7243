"""The telemetry contracts: what a cluster source and a metrics source answer, column by column.

Live sources (``queries.kubernetes``, ``queries.prometheus``) and the simulated one
(``demo.cluster``) return exactly these columns, so panels cannot tell them apart except
by the ``is_demo`` flag, which makes every panel they feed say "DEMO DATA".

Times are timezone-aware UTC pandas timestamps (``datetime64[ns, UTC]``); CPU in cores, memory in
bytes, durations in seconds, rates per second, shares as fractions (0.5 = 50%).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Any, NamedTuple, Protocol

import pandas as pd

from queries.health import Health

# KubernetesSource.pod_health(): one row per pod.
#   status: exactly what `kubectl get pods` prints in STATUS; workload: the owning Deployment,
#   StatefulSet, DaemonSet, Job or CronJob name (a bare pod: its own name); workload_kind: that
#   owner's kind ("Pod" for a bare pod); restarts: sum over containers, as kubectl's RESTARTS;
#   last_termination_reason: the most recent lastState.terminated.reason of any container, or "";
#   age_seconds: since creationTimestamp; healthy: Running and every container ready, or Completed.
POD_HEALTH_COLUMNS = [
    "namespace", "pod", "workload", "workload_kind", "node", "phase", "status", "ready_containers",
    "total_containers", "restarts", "last_termination_reason", "age_seconds", "healthy",
]  # fmt: skip

# events(since): one row per Event last seen at or after `since`, newest first.
EVENT_COLUMNS = ["timestamp", "namespace", "kind", "name", "type", "reason", "message", "count"]

# nodes(): one row per node; conditions as booleans.
NODE_COLUMNS = [
    "node", "ready", "memory_pressure", "disk_pressure", "pid_pressure", "cpu_allocatable_cores",
    "memory_allocatable_bytes",
]  # fmt: skip

# pod_usage(namespace, start, end): one row per pod per step.
POD_USAGE_COLUMNS = ["timestamp", "namespace", "pod", "cpu_cores", "memory_bytes"]

# container_resources(namespace): one row per running container, now. Requests and limits NaN
# when unset; shares NaN when the request or limit is unset; throttling = throttled periods /
# periods over the last 5 minutes (NaN without a CPU limit).
CONTAINER_RESOURCE_COLUMNS = [
    "namespace", "pod", "container", "cpu_cores", "memory_bytes", "cpu_request_cores",
    "cpu_limit_cores", "memory_request_bytes", "memory_limit_bytes", "cpu_request_share",
    "cpu_limit_share", "memory_request_share", "memory_limit_share", "cpu_throttling_ratio",
    "restarts_window", "last_terminated_reason",
]  # fmt: skip

# hpa_replicas(namespace, start, end): one row per HorizontalPodAutoscaler per step.
#   min_replicas, max_replicas: its spec's bounds (kube-state-metrics' spec_min/max_replicas).
HPA_COLUMNS = [
    "timestamp", "namespace", "hpa", "current_replicas", "desired_replicas", "min_replicas",
    "max_replicas",
]  # fmt: skip

# firing_alerts(): one row per alert firing now (Prometheus' alerting rules), most severe
# first, then the longest firing. severity: the label ("" when unlabelled); summary: the
# annotation ("" when none); active_since: when its condition first held (the rule's ``for``
# counts from there); labels: the alert's other labels as "name=value, ..." by name.
ALERT_COLUMNS = ["alertname", "severity", "summary", "active_since", "labels"]
SEVERITY_ORDER = ("critical", "warning", "info")

# service_traffic(start, end): one row per configured service per step.
#   request_rate: requests/s; error_rate: 5xx responses/s; error_share: error_rate/request_rate;
#   p95_latency_seconds: 95th percentile of request duration.
SERVICE_TRAFFIC_COLUMNS = [
    "timestamp", "service", "request_rate", "error_rate", "error_share", "p95_latency_seconds",
]  # fmt: skip

# unhealthy_pods_at(moment): one row per pod that was unhealthy at ``moment`` (pod-health history,
# which the Kubernetes API does not keep). status: the first that applies of the waiting reason
# (e.g. "CrashLoopBackOff"), the phase when Pending, Failed or Unknown, "NotReady", "Restarted";
# restarts: container restarts in the RECENT_RESTARTS window before ``moment``;
# last_terminated_reason: e.g. "OOMKilled", "" when unknown.
UNHEALTHY_POD_COLUMNS = ["namespace", "pod", "status", "restarts", "last_terminated_reason"]
RECENT_RESTARTS = dt.timedelta(minutes=5)


class RequestCounts(NamedTuple):
    """A service's requests, and those answered with a 5xx, over a window."""

    requests: float
    errors: float


class ClusterSource(Protocol):
    """Pod, event and node facts (the Kubernetes API, or the demo cluster)."""

    name: str
    is_demo: bool

    def pod_health(self) -> pd.DataFrame: ...

    def events(self, since: dt.datetime) -> pd.DataFrame: ...

    def nodes(self) -> pd.DataFrame: ...

    def check_health(self) -> Health: ...


class MetricsSource(Protocol):
    """Resource usage and traffic over time (Prometheus, or the demo cluster)."""

    name: str
    is_demo: bool

    def pod_usage(
        self, namespace: str | None, start: dt.datetime, end: dt.datetime
    ) -> pd.DataFrame: ...

    def container_resources(self, namespace: str | None = None) -> pd.DataFrame: ...

    def hpa_replicas(
        self, namespace: str | None, start: dt.datetime, end: dt.datetime
    ) -> pd.DataFrame: ...

    def service_traffic(self, start: dt.datetime, end: dt.datetime) -> pd.DataFrame: ...

    def service_request_counts(
        self, service: str, window: dt.timedelta, at: dt.datetime
    ) -> RequestCounts: ...

    def firing_alerts(self) -> pd.DataFrame: ...

    def unhealthy_pods_at(self, moment: dt.datetime) -> pd.DataFrame: ...

    def check_health(self) -> Health: ...


DEFAULT_MAX_POINTS = 1000
NICE_STEPS = tuple(
    dt.timedelta(seconds=seconds)
    for seconds in (15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
)


def choose_step(
    start: dt.datetime, end: dt.datetime, max_points: int = DEFAULT_MAX_POINTS
) -> dt.timedelta:
    """The step of a range query or simulation over [start, end]: the smallest of NICE_STEPS
    (then whole days) with (end - start) / step + 1 <= max_points, so charts stay light."""
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2, not {max_points}")
    span_seconds = (end - start).total_seconds()
    if span_seconds < 0:
        raise ValueError(f"end {end} is before start {start}")
    for step in NICE_STEPS:
        if span_seconds / step.total_seconds() + 1 <= max_points:
            return step
    return dt.timedelta(days=math.ceil(span_seconds / 86_400 / (max_points - 1)))


# The dtype of every contract column; a name means the same thing in every frame it appears in.
COLUMN_DTYPES: dict[str, str] = {
    "timestamp": "datetime64[ns, UTC]",
    "active_since": "datetime64[ns, UTC]",
    **dict.fromkeys(
        ["namespace", "pod", "workload", "workload_kind", "node", "phase", "status",
         "last_termination_reason", "kind", "name", "type", "reason", "message", "container",
         "last_terminated_reason", "hpa", "service", "alertname", "severity", "summary",
         "labels"],
        "str",
    ),
    **dict.fromkeys(
        ["ready_containers", "total_containers", "restarts", "count", "restarts_window",
         "current_replicas", "desired_replicas", "min_replicas", "max_replicas", "order_lines",
         "orders"],
        "int64",
    ),
    **dict.fromkeys(["healthy", "ready", "memory_pressure", "disk_pressure", "pid_pressure"], "bool"),
    **dict.fromkeys(
        ["age_seconds", "cpu_allocatable_cores", "memory_allocatable_bytes", "cpu_cores",
         "memory_bytes", "cpu_request_cores", "cpu_limit_cores", "memory_request_bytes",
         "memory_limit_bytes", "cpu_request_share", "cpu_limit_share", "memory_request_share",
         "memory_limit_share", "cpu_throttling_ratio", "request_rate", "error_rate", "error_share",
         "p95_latency_seconds", "units"],
        "float64",
    ),
}  # fmt: skip


def contract_frame(rows: Iterable[Any], columns: list[str]) -> pd.DataFrame:
    """Rows (dicts or tuples in column order) as a frame with the contract's columns and dtypes."""
    frame = pd.DataFrame(list(rows), columns=columns)
    return frame.astype({column: COLUMN_DTYPES[column] for column in columns})


def empty_frame(columns: list[str]) -> pd.DataFrame:
    """A frame with the contract's columns and dtypes, and no rows."""
    return contract_frame([], columns)


def alert_frame(rows: Iterable[Any]) -> pd.DataFrame:
    """ALERT_COLUMNS rows, most severe first (SEVERITY_ORDER, then any other severity), then
    the longest active, then by name."""
    frame = contract_frame(rows, ALERT_COLUMNS)
    rank = {severity: position for position, severity in enumerate(SEVERITY_ORDER)}
    ranks = frame["severity"].map(lambda severity: rank.get(severity, len(rank)))
    frame = frame.assign(_rank=ranks).sort_values(["_rank", "active_since", "alertname"])
    return frame.drop(columns="_rank").reset_index(drop=True)
