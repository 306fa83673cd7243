"""Workload-level views of the telemetry frames: per Deployment/StatefulSet/... rather than per pod.

Pure functions of the frames in ``queries.telemetry``; the Cluster page shows their results.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

OOM_RISK_SHARE = 0.9
# Events worth showing besides warnings: rollouts, scaling and restarts.
NOTABLE_REASONS = frozenset(
    {"ScalingReplicaSet", "SuccessfulRescale", "Killing", "BackOff", "OOMKilling", "FailedScheduling",
     "Evicted", "Unhealthy", "FailedCreate", "SuccessfulCreate", "SuccessfulDelete"}
)  # fmt: skip

_REPLICASET_POD = re.compile(r"^(?P<workload>.+)-[0-9a-z]{6,10}-[0-9a-z]{5}$")
_STATEFUL_POD = re.compile(r"^(?P<workload>.+)-\d+$")

WORKLOAD_COLUMNS = [
    "namespace", "workload", "workload_kind", "pods", "ready_pods", "restarts", "cpu_cores",
    "cpu_request_cores", "cpu_limit_cores", "cpu_request_share", "cpu_limit_share",
    "memory_bytes", "memory_request_bytes", "memory_limit_bytes", "memory_request_share",
    "memory_limit_share", "max_memory_limit_share", "oom_risk", "cpu_throttling_ratio",
]  # fmt: skip


def guess_workload(pod: str) -> str:
    """A workload name from a pod name alone (no Kubernetes API): strips ReplicaSet or ordinal suffixes."""
    for pattern in (_REPLICASET_POD, _STATEFUL_POD):
        match = pattern.match(pod)
        if match:
            return match.group("workload")
    return pod


def _pod_owners(pods: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """frame with workload and workload_kind columns, from pod_health or guessed from names."""
    owners = pods[["namespace", "pod", "workload", "workload_kind"]] if len(pods) else None
    if owners is None:
        return frame.assign(workload=frame["pod"].map(guess_workload), workload_kind="")
    merged = frame.merge(owners, on=["namespace", "pod"], how="left")
    missing = merged["workload"].isna()
    merged.loc[missing, "workload"] = merged.loc[missing, "pod"].map(guess_workload)
    merged["workload_kind"] = merged["workload_kind"].fillna("")
    return merged


def _sum_if_all_set(values: pd.Series) -> float:
    """A workload's request or limit: the sum, or NaN when any container has none (unbounded)."""
    return float(values.sum()) if values.notna().all() else float("nan")


def _share(used: pd.Series, of: pd.Series) -> pd.Series:
    return (used / of).where(of > 0)


def workload_resources(pods: pd.DataFrame, resources: pd.DataFrame) -> pd.DataFrame:
    """One row per workload: usage against requests and limits, OOM risk, pods and restarts.

    ``pods`` is a pod_health frame (may be empty when no cluster source answers), ``resources``
    a container_resources frame. Columns: WORKLOAD_COLUMNS. Shares are NaN where a container of
    the workload has no request or limit; ``max_memory_limit_share`` is the highest container's
    working set / its memory limit; ``oom_risk`` is that above 90%.
    """
    if resources.empty:
        return pd.DataFrame({column: pd.Series(dtype="object") for column in WORKLOAD_COLUMNS})
    containers = _pod_owners(pods, resources).assign(
        container_memory_limit_share=lambda f: _share(f["memory_bytes"], f["memory_limit_bytes"])
    )
    keys = ["namespace", "workload"]
    grouped = containers.groupby(keys, sort=True).agg(
        workload_kind=("workload_kind", "first"),
        cpu_cores=("cpu_cores", "sum"),
        cpu_request_cores=("cpu_request_cores", _sum_if_all_set),
        cpu_limit_cores=("cpu_limit_cores", _sum_if_all_set),
        memory_bytes=("memory_bytes", "sum"),
        memory_request_bytes=("memory_request_bytes", _sum_if_all_set),
        memory_limit_bytes=("memory_limit_bytes", _sum_if_all_set),
        max_memory_limit_share=("container_memory_limit_share", "max"),
        cpu_throttling_ratio=("cpu_throttling_ratio", "max"),
    )
    grouped["cpu_request_share"] = _share(grouped["cpu_cores"], grouped["cpu_request_cores"])
    grouped["cpu_limit_share"] = _share(grouped["cpu_cores"], grouped["cpu_limit_cores"])
    grouped["memory_request_share"] = _share(
        grouped["memory_bytes"], grouped["memory_request_bytes"]
    )
    grouped["memory_limit_share"] = _share(grouped["memory_bytes"], grouped["memory_limit_bytes"])
    grouped["oom_risk"] = grouped["max_memory_limit_share"].fillna(0) > OOM_RISK_SHARE
    if len(pods):
        per_pod = pods.groupby(keys).agg(
            pods=("pod", "count"),
            ready_pods=("healthy", "sum"),
            restarts=("restarts", "sum"),
        )
        grouped = grouped.join(per_pod, how="left")
    else:
        counted = containers.groupby(keys)["pod"].nunique()
        grouped = grouped.assign(pods=counted, ready_pods=np.nan, restarts=np.nan)
    return grouped.reset_index()[WORKLOAD_COLUMNS]


def workload_usage_series(pods: pd.DataFrame, usage: pd.DataFrame) -> pd.DataFrame:
    """CPU and memory per workload per step: columns timestamp, namespace, workload, cpu_cores,
    memory_bytes (sums over the workload's pods), sorted by workload then time."""
    if usage.empty:
        return pd.DataFrame(
            columns=["timestamp", "namespace", "workload", "cpu_cores", "memory_bytes"]
        )
    owned = _pod_owners(pods, usage)
    series = owned.groupby(["namespace", "workload", "timestamp"], sort=True)[
        ["cpu_cores", "memory_bytes"]
    ].sum()
    return series.reset_index()[["timestamp", "namespace", "workload", "cpu_cores", "memory_bytes"]]


def notable_events(events: pd.DataFrame, limit: int = 200) -> pd.DataFrame:
    """Warnings and rollout, scaling and restart events, newest first."""
    keep = (events["type"] == "Warning") | events["reason"].isin(NOTABLE_REASONS)
    return events.loc[keep].sort_values("timestamp", ascending=False).head(limit)
