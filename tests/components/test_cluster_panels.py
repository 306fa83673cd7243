"""Cluster panels read at a glance: worst pods first, status in words and symbols, not only colour."""

from __future__ import annotations

import pandas as pd

from components.cluster import node_tiles, pod_tiles, status_level
from queries.telemetry import POD_HEALTH_COLUMNS


def test_status_levels_follow_kubectl_words() -> None:
    assert status_level("Running", True) == "ok"
    assert status_level("Running", False) == "warn"  # running but not every container ready
    assert status_level("Completed", False) == "done"
    assert status_level("CrashLoopBackOff", False) == "alert"
    assert status_level("OOMKilled", False) == "alert"
    assert status_level("Init:CrashLoopBackOff", False) == "alert"
    assert status_level("ExitCode:137", False) == "alert"
    assert status_level("ContainerCreating", False) == "warn"
    assert status_level("Init:0/1", False) == "warn"


def text_of(component: object) -> str:
    children = getattr(component, "children", None)
    if isinstance(children, list):
        return " ".join(text_of(child) for child in children)
    if children is None:
        return str(component) if isinstance(component, str) else ""
    return text_of(children) if not isinstance(children, str) else children


def test_pod_tiles_put_the_worst_first_with_restarts_and_last_reason() -> None:
    pods = pd.DataFrame(
        [
            (
                "shop",
                "web-1",
                "web",
                "Deployment",
                "n1",
                "Running",
                "Running",
                1,
                1,
                0,
                "",
                60.0,
                True,
            ),
            (
                "shop",
                "web-2",
                "web",
                "Deployment",
                "n1",
                "Running",
                "CrashLoopBackOff",
                0,
                1,
                7,
                "OOMKilled",
                60.0,
                False,
            ),
        ],
        columns=POD_HEALTH_COLUMNS,
    )
    first, second = pod_tiles(pods)
    assert "✕ CrashLoopBackOff" in text_of(first)
    assert "↻ 7" in text_of(first)
    assert "last: OOMKilled" in text_of(first)
    assert first.className == "pod-tile pod-alert"
    assert "● Running" in text_of(second)


def test_node_tiles_name_pressure_conditions() -> None:
    nodes = pd.DataFrame(
        [("node-a", True, True, False, False, 3.8, 8 * 2**30)],
        columns=[
            "node",
            "ready",
            "memory_pressure",
            "disk_pressure",
            "pid_pressure",
            "cpu_allocatable_cores",
            "memory_allocatable_bytes",
        ],
    )
    (tile,) = node_tiles(nodes)
    assert "Ready · memory pressure" in text_of(tile)
    assert "3.8 cores · 8.0 GiB" in text_of(tile)
    assert tile.className == "node-tile pod-alert"


def test_a_pod_ready_again_after_an_oom_kill_is_amber_and_before_the_healthy_ones() -> None:
    def pod(name: str, restarts: int, reason: str) -> tuple[object, ...]:
        return ("shop", name, "web", "Deployment", "n1", "Running", "Running", 1, 1, restarts,
                reason, 60.0, True)  # fmt: skip

    pods = pd.DataFrame(
        [pod("web-a", 0, ""), pod("web-b", 10, "OOMKilled"), pod("web-c", 1, "Completed")],
        columns=POD_HEALTH_COLUMNS,
    )
    first, second, third = pod_tiles(pods)
    assert first.className == "pod-tile pod-warn"
    assert "◐ Running" in text_of(first)
    assert "last: OOMKilled" in text_of(first)
    assert {second.className, third.className} == {"pod-tile pod-ok"}
