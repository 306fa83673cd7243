"""Workload roll-ups: pods to their owners, usage against requests and limits, OOM risk."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from queries.telemetry import CONTAINER_RESOURCE_COLUMNS, POD_HEALTH_COLUMNS, empty_frame
from queries.workloads import (
    guess_workload,
    notable_events,
    workload_resources,
    workload_usage_series,
)

MI = 2**20


def pods() -> pd.DataFrame:
    rows = [
        ("shop", "order-7d9c5b8f6d-x2k4p", "order", "Deployment", "Running", 0, True),
        ("shop", "order-7d9c5b8f6d-q8m2z", "order", "Deployment", "CrashLoopBackOff", 4, False),
        ("shop", "db-0", "db", "StatefulSet", "Running", 1, True),
    ]
    frame = pd.DataFrame(
        rows,
        columns=["namespace", "pod", "workload", "workload_kind", "status", "restarts", "healthy"],
    )
    return frame.reindex(columns=POD_HEALTH_COLUMNS)


def resources() -> pd.DataFrame:
    rows = [
        # pod, container, cpu, mem, cpu req, cpu lim, mem req, mem lim, throttling
        ("order-7d9c5b8f6d-x2k4p", "app", 0.2, 200 * MI, 0.25, 1.0, 256 * MI, 512 * MI, 0.0),
        ("order-7d9c5b8f6d-q8m2z", "app", 0.3, 480 * MI, 0.25, 1.0, 256 * MI, 512 * MI, 0.1),
        ("db-0", "postgres", 0.5, 1024 * MI, math.nan, math.nan, math.nan, math.nan, math.nan),
    ]
    frame = pd.DataFrame(
        [
            ("shop", p, c, cpu, mem, rq, lm, mrq, mlm, th)
            for p, c, cpu, mem, rq, lm, mrq, mlm, th in rows
        ],
        columns=[
            "namespace",
            "pod",
            "container",
            "cpu_cores",
            "memory_bytes",
            "cpu_request_cores",
            "cpu_limit_cores",
            "memory_request_bytes",
            "memory_limit_bytes",
            "cpu_throttling_ratio",
        ],
    )
    return frame.reindex(columns=CONTAINER_RESOURCE_COLUMNS)


def test_usage_is_summed_per_workload_against_summed_requests_and_limits() -> None:
    table = workload_resources(pods(), resources()).set_index("workload")
    order = table.loc["order"]
    assert (order["pods"], order["ready_pods"], order["restarts"]) == (2, 1, 4)
    assert order["cpu_cores"] == pytest.approx(0.5)
    assert order["cpu_request_share"] == pytest.approx(0.5 / 0.5)
    assert order["cpu_limit_share"] == pytest.approx(0.5 / 2.0)
    assert order["memory_limit_share"] == pytest.approx(680 / 1024)
    # The busiest container decides the OOM risk: 480 of 512 MiB is 93.75%.
    assert order["max_memory_limit_share"] == pytest.approx(480 / 512)
    assert bool(order["oom_risk"])
    assert order["cpu_throttling_ratio"] == pytest.approx(0.1)


def test_workloads_without_requests_or_limits_have_no_shares_and_no_oom_risk() -> None:
    db = workload_resources(pods(), resources()).set_index("workload").loc["db"]
    assert math.isnan(db["cpu_request_share"])
    assert math.isnan(db["max_memory_limit_share"])
    assert not bool(db["oom_risk"])


def test_without_a_cluster_source_workloads_are_named_from_pod_names() -> None:
    table = workload_resources(empty_frame(POD_HEALTH_COLUMNS), resources())
    assert list(table["workload"]) == ["db", "order"]
    assert guess_workload("order-7d9c5b8f6d-x2k4p") == "order"
    assert guess_workload("db-0") == "db"
    assert guess_workload("standalone") == "standalone"


def test_usage_series_sum_pods_per_workload_per_step() -> None:
    t0, t1 = pd.Timestamp("2026-11-27 10:00", tz="UTC"), pd.Timestamp("2026-11-27 10:01", tz="UTC")
    usage = pd.DataFrame(
        {
            "timestamp": [t0, t0, t1, t1],
            "namespace": ["shop"] * 4,
            "pod": ["order-7d9c5b8f6d-x2k4p", "order-7d9c5b8f6d-q8m2z"] * 2,
            "cpu_cores": [0.1, 0.2, 0.3, 0.4],
            "memory_bytes": [1.0, 2.0, 3.0, 4.0],
        }
    )
    series = workload_usage_series(pods(), usage)
    assert list(series["cpu_cores"]) == pytest.approx([0.3, 0.7])
    assert list(series["memory_bytes"]) == [3.0, 7.0]
    assert set(series["workload"]) == {"order"}


def test_notable_events_keep_warnings_and_rollouts_newest_first() -> None:
    events = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(
                ["2026-11-27 10:00", "2026-11-27 10:05", "2026-11-27 10:07"], utc=True
            ),
            "namespace": ["shop"] * 3,
            "kind": ["Pod", "Deployment", "Pod"],
            "name": ["a", "order", "b"],
            "type": ["Normal", "Normal", "Warning"],
            "reason": ["Pulled", "ScalingReplicaSet", "BackOff"],
            "message": ["", "", ""],
            "count": [1, 1, 3],
        }
    )
    assert list(notable_events(events)["reason"]) == ["BackOff", "ScalingReplicaSet"]
