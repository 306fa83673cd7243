"""KubernetesSource against a local API server, through the real kubernetes client.

The expected STATUS values are what ``kubectl get pods`` prints for each object, worked out by hand
from kubectl's printPod rules (kubernetes/kubernetes pkg/printers/internalversion/printers.go).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pandas as pd
import pytest
import urllib3
from kube_api_server import (
    JsonObject,
    KubeApiServer,
    load_fixture_objects,
    of_kind,
    rfc3339,
)

from queries.health import describe_failure
from queries.kube_config import (
    api_client_from_environment,
    in_cluster_configuration,
    in_cluster_service_account,
    kubernetes_client_from_environment,
)
from queries.kubectl import KubectlColumns, kubectl_columns
from queries.kubernetes import (
    KubernetesAccessError,
    KubernetesApiError,
    KubernetesSource,
    quantity_value,
)
from queries.telemetry import EVENT_COLUMNS, NODE_COLUMNS, POD_HEALTH_COLUMNS

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
SERVICE_ACCOUNT_USER = "system:serviceaccount:monitoring:invdash"


def core_v1_for(server: KubeApiServer) -> Any:
    configuration = kubernetes.client.Configuration()
    configuration.host = server.url
    return kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(configuration))


def source_for(server: KubeApiServer, **options: Any) -> KubernetesSource:
    return KubernetesSource(core_v1_for(server), **options)


@pytest.fixture(scope="module")
def recorded(fixtures_dir: Path) -> dict[str, list[JsonObject]]:
    return load_fixture_objects(fixtures_dir)


# --- building pods ---------------------------------------------------------------------------------


def running() -> JsonObject:
    return {"running": {"startedAt": rfc3339(NOW - dt.timedelta(minutes=5))}}


def waiting(reason: str) -> JsonObject:
    return {"waiting": {"reason": reason}}


def terminated(
    reason: str | None = None,
    exit_code: int = 0,
    signal: int | None = None,
    finished: dt.datetime | None = None,
) -> JsonObject:
    state: JsonObject = {
        "exitCode": exit_code,
        "startedAt": rfc3339(NOW - dt.timedelta(minutes=10)),
        "finishedAt": rfc3339(finished or NOW - dt.timedelta(minutes=1)),
    }
    if reason is not None:
        state["reason"] = reason
    if signal is not None:
        state["signal"] = signal
    return {"terminated": state}


def container(
    name: str = "app",
    state: JsonObject | None = None,
    *,
    ready: bool = False,
    restarts: int = 0,
    started: bool | None = None,
    last: JsonObject | None = None,
) -> JsonObject:
    """A containerStatus as the kubelet reports it."""
    status: JsonObject = {
        "name": name,
        "image": f"registry.example/{name}:1.0",
        "imageID": f"registry.example/{name}@sha256:{'0' * 64}",
        "ready": ready,
        "restartCount": restarts,
        "state": state if state is not None else {},
        "lastState": last or {},
    }
    if started is not None:
        status["started"] = started
    return status


def make_pod(
    name: str = "web-7d4b9c6f5d-x2k8p",
    *,
    namespace: str = "shop",
    phase: str = "Running",
    containers: list[JsonObject] | None = None,
    spec_containers: list[str] | None = None,
    init: list[JsonObject] | None = None,
    sidecars: frozenset[str] = frozenset(),
    conditions: dict[str, str] | None = None,
    scheduled_reason: str | None = None,
    reason: str | None = None,
    deleted: bool = False,
    owner: tuple[str, str] | None = None,
    labels: dict[str, str] | None = None,
    node: str | None = "node-1",
) -> JsonObject:
    """A Pod as the API server sends it. ``sidecars`` names init containers with restartPolicy
    Always; ``conditions`` maps condition type to status (default: initialized, ready)."""
    containers = containers if containers is not None else [container(ready=True, state=running())]
    init = init or []
    names = spec_containers or [c["name"] for c in containers]
    metadata: JsonObject = {
        "name": name,
        "namespace": namespace,
        "uid": f"uid-{name}",
        "creationTimestamp": rfc3339(NOW - dt.timedelta(hours=1)),
        "labels": labels or {},
    }
    if owner is not None:
        kind, owner_name = owner
        metadata["ownerReferences"] = [
            {
                "apiVersion": "v1" if kind == "Node" else "apps/v1",
                "kind": kind,
                "name": owner_name,
                "uid": f"uid-{owner_name}",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    if deleted:
        metadata["deletionTimestamp"] = rfc3339(NOW)
        metadata["deletionGracePeriodSeconds"] = 30
    spec: JsonObject = {
        "containers": [{"name": n, "image": f"registry.example/{n}:1.0"} for n in names]
    }
    if init:
        spec["initContainers"] = [
            {"name": c["name"], "image": c["image"]}
            | ({"restartPolicy": "Always"} if c["name"] in sidecars else {})
            for c in init
        ]
    if node is not None:
        spec["nodeName"] = node
    if conditions is None:
        conditions = {"Initialized": "True", "Ready": "True", "PodScheduled": "True"}
    status: JsonObject = {
        "phase": phase,
        "conditions": [{"type": t, "status": s} for t, s in conditions.items()],
    }
    if scheduled_reason is not None:
        status["conditions"] = [
            {"type": "PodScheduled", "status": "False", "reason": scheduled_reason}
        ]
    if reason is not None:
        status["reason"] = reason
    if containers:
        status["containerStatuses"] = containers
    if init:
        status["initContainerStatuses"] = init
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": status}


def pod_rows(*pods: JsonObject, **options: Any) -> pd.DataFrame:
    with KubeApiServer(pods=pods) as server:
        return source_for(server, **options).pod_health()


def only_row(*pods: JsonObject) -> pd.Series:
    rows = pod_rows(*pods)
    assert len(rows) == 1
    return rows.iloc[0]


NOT_READY = {"Initialized": "True", "Ready": "False", "PodScheduled": "True"}
INITIALIZING = {"Initialized": "False", "Ready": "False", "PodScheduled": "True"}


# --- STATUS, READY, RESTARTS: the recorded pods ------------------------------------------------------

# namespace/pod: (STATUS, ready, total, RESTARTS) as `kubectl get pods -A` prints them.
NRI_PODLIST_KUBECTL = {
    "kube-system/coredns-66bc5c9577-d98t2": ("Running", 1, 1, 0),
    "kube-system/etcd-datagen-1-34": ("Running", 1, 1, 0),
    "kube-system/kindnet-zqk2n": ("Running", 1, 1, 0),
    "kube-system/kube-apiserver-datagen-1-34": ("Running", 1, 1, 0),
    "kube-system/kube-controller-manager-datagen-1-34": ("Running", 1, 1, 0),
    "kube-system/kube-proxy-nz2nc": ("Running", 1, 1, 0),
    "kube-system/kube-scheduler-datagen-1-34": ("Running", 1, 1, 0),
    "kube-system/metrics-server-85b7d694d7-dqckt": ("Running", 1, 1, 0),
    "kube-system/storage-provisioner": ("Running", 1, 1, 0),
    # Phase Running, but the one container waits in CrashLoopBackOff: the waiting reason wins.
    "scraper/e2e-container-creating": ("CrashLoopBackOff", 0, 1, 2),
    # Unschedulable: no container statuses, PodScheduled's reason is not SchedulingGated: phase.
    "scraper/e2e-container-pending": ("Pending", 0, 1, 0),
    # Succeeded: the container's terminated reason.
    "scraper/e2e-cronjob-29472159-pvnhf": ("Completed", 0, 1, 0),
    "scraper/e2e-cronjob-29472160-q4smw": ("Running", 1, 1, 0),
    "scraper/e2e-daemonset-79ft8": ("Running", 1, 1, 0),
    "scraper/e2e-deployment-6fb786454b-7fsxc": ("Running", 1, 1, 0),
    "scraper/e2e-deployment-6fb786454b-mrr5s": ("Running", 1, 1, 0),
    # Failed Job pods: the container's terminated reason (exit code 42), not the phase.
    "scraper/e2e-failjob-cdhgp": ("Error", 0, 1, 0),
    "scraper/e2e-failjob-nkct8": ("Error", 0, 1, 0),
    "scraper/e2e-failjob-qrtpp": ("Error", 0, 1, 0),
    "scraper/e2e-failjob-sgmz9": ("Error", 0, 1, 0),
    "scraper/e2e-hpa-5b9fd8d67d-sjdmn": ("Running", 1, 1, 0),
    "scraper/e2e-kube-state-metrics-64d545d47-nvr8f": ("Running", 1, 1, 0),
    "scraper/e2e-scraper-586c69668b-dh6dj": ("Running", 1, 1, 0),
    "scraper/e2e-statefulset-0": ("Running", 1, 1, 0),
    "scraper/e2e-statefulset-1": ("Running", 1, 1, 0),
}


def test_every_recorded_minikube_pod_shows_kubectls_status_ready_and_restarts(
    recorded: dict[str, list[JsonObject]],
) -> None:
    pods = recorded["nri-k8s-1.34_podlist.yaml"]
    assert len(pods) == 25
    rows = pod_rows(*pods)
    shown = {
        f"{r.namespace}/{r.pod}": (r.status, r.ready_containers, r.total_containers, r.restarts)
        for r in rows.itertuples()
    }
    assert shown == NRI_PODLIST_KUBECTL


# file: (STATUS, ready, total, RESTARTS, is-healthy's expected-status annotation)
IS_HEALTHY_KUBECTL = {
    # Pending, the container waits in ContainerCreating; is-healthy calls it "Starting".
    "is-healthy_pod_container-creating.yaml": ("ContainerCreating", 0, 1, 0, "Starting"),
    "is-healthy_pod_crashloopbackoff.yaml": ("CrashLoopBackOff", 0, 1, 3, "CrashLoopBackOff"),
    # Phase Failed, but kubectl prints the container's terminated reason; is-healthy the phase.
    "is-healthy_pod_failed.yaml": ("Error", 0, 1, 0, "Failed"),
    "is-healthy_pod_healthy.yaml": ("Running", 1, 1, 0, None),
    # The Ready condition is False, but the only container status is running and ready: kubectl
    # counts container statuses (1/1) and prints the phase. Its init container status (no spec
    # for it) terminated with exit code 0, so it does not matter.
    "is-healthy_pod_not-ready.yaml": ("Running", 1, 1, 0, "Running"),
    # For app containers kubectl prints any waiting reason, PodInitializing included.
    "is-healthy_pod_pod-pending.yaml": ("PodInitializing", 0, 1, 0, "PodInitializing"),
}


@pytest.mark.parametrize("file_name", sorted(IS_HEALTHY_KUBECTL))
def test_every_recorded_is_healthy_pod_shows_kubectls_status(
    recorded: dict[str, list[JsonObject]], file_name: str
) -> None:
    status, ready, total, restarts, annotation = IS_HEALTHY_KUBECTL[file_name]
    (pod,) = recorded[file_name]
    assert pod["metadata"].get("annotations", {}).get("expected-status") == annotation
    row = only_row(pod)
    assert (row.status, row.ready_containers, row.total_containers, row.restarts) == (
        status,
        ready,
        total,
        restarts,
    )


def test_recorded_pods_are_served_with_the_fields_the_api_server_always_sends(
    recorded: dict[str, list[JsonObject]],
) -> None:
    (pod,) = recorded["is-healthy_pod_container-creating.yaml"]
    # "@now-5m" became a real time five minutes ago.
    created = dt.datetime.fromisoformat(pod["metadata"]["creationTimestamp"])
    assert dt.timedelta(minutes=4) < dt.datetime.now(dt.UTC) - created < dt.timedelta(minutes=6)
    row = only_row(pod)
    assert 240 < row.age_seconds < 360
    for pod in of_kind(recorded, "Pod"):
        for status in pod["status"].get("containerStatuses", []):
            assert {"name", "image", "imageID", "ready", "restartCount"} <= status.keys()


def test_recorded_pods_name_their_workloads(recorded: dict[str, list[JsonObject]]) -> None:
    rows = pod_rows(*recorded["nri-k8s-1.34_podlist.yaml"]).set_index("pod")
    workloads = rows[["workload", "workload_kind"]].apply(tuple, axis=1).to_dict()
    assert workloads["coredns-66bc5c9577-d98t2"] == ("coredns", "Deployment")
    assert workloads["kindnet-zqk2n"] == ("kindnet", "DaemonSet")
    assert workloads["e2e-statefulset-1"] == ("e2e-statefulset", "StatefulSet")
    # The pod names the Job only; its CronJob is named on the Job, which is not read.
    assert workloads["e2e-cronjob-29472159-pvnhf"] == ("e2e-cronjob-29472159", "Job")
    assert workloads["e2e-failjob-cdhgp"] == ("e2e-failjob", "Job")
    # Static pods are owned by their Node: each is its own workload.
    assert workloads["etcd-datagen-1-34"] == ("etcd-datagen-1-34", "Pod")
    assert workloads["storage-provisioner"] == ("storage-provisioner", "Pod")
    assert rows.loc["e2e-container-creating", "last_termination_reason"] == "Completed"
    assert rows.loc["e2e-failjob-cdhgp", "last_termination_reason"] == "Error"
    assert rows.loc["e2e-container-pending", "node"] == ""
    assert rows["healthy"].sum() == 19  # 18 Running 1/1 and one Completed


# --- STATUS, READY, RESTARTS: every rule, on built pods ----------------------------------------------


def not_ready(state: JsonObject, phase: str = "Running", **changes: Any) -> JsonObject:
    """A pod that is not ready, whose one container ("app", not ready) is in ``state``."""
    return make_pod(
        phase=phase, containers=[container(state=state)], conditions=NOT_READY, **changes
    )


def initializing(*init: JsonObject, **changes: Any) -> JsonObject:
    """A pending pod still running its ``init`` containers: its one container waits for them."""
    return make_pod(
        phase="Pending",
        init=list(init),
        containers=[container(state=waiting("PodInitializing"))],
        conditions=INITIALIZING,
        **changes,
    )


STATUS_CASES: dict[str, tuple[JsonObject, str, int, int]] = {
    "running": (make_pod(), "Running", 1, 1),
    "pending without container statuses": (
        make_pod(phase="Pending", containers=[], spec_containers=["app"], node=None,
                 scheduled_reason="Unschedulable"),
        "Pending", 0, 1,
    ),
    "container creating": (
        not_ready(waiting("ContainerCreating"), "Pending"),
        "ContainerCreating", 0, 1,
    ),
    "crash loop back-off": (
        make_pod(containers=[container(state=waiting("CrashLoopBackOff"), restarts=5,
                                       last=terminated("Error", 1))], conditions=NOT_READY),
        "CrashLoopBackOff", 0, 1,
    ),
    "image pull back-off": (
        not_ready(waiting("ImagePullBackOff"), "Pending"),
        "ImagePullBackOff", 0, 1,
    ),
    "image pull error": (
        not_ready(waiting("ErrImagePull"), "Pending"),
        "ErrImagePull", 0, 1,
    ),
    "out of memory": (
        make_pod(containers=[container(state=terminated("OOMKilled", 137), restarts=1)],
                 conditions=NOT_READY),
        "OOMKilled", 0, 1,
    ),
    "error": (
        not_ready(terminated("Error", 1), "Failed"),
        "Error", 0, 1,
    ),
    "completed": (
        not_ready(terminated("Completed"), "Succeeded"),
        "Completed", 0, 1,
    ),
    # status.reason replaces the phase while no container has something to say.
    "evicted": (
        not_ready({}, "Failed", reason="Evicted"),
        "Evicted", 0, 1,
    ),
    # ...but a container's terminated reason still overrides it, as kubectl does.
    "evicted with a terminated container": (
        not_ready(terminated("ContainerStatusUnknown", 137), "Failed", reason="Evicted"),
        "ContainerStatusUnknown", 0, 1,
    ),
    "terminating": (make_pod(deleted=True), "Terminating", 1, 1),
    # A terminal pod being deleted keeps its status.
    "completed and being deleted": (
        not_ready(terminated("Completed"), "Succeeded", deleted=True),
        "Completed", 0, 1,
    ),
    "node lost and being deleted": (
        make_pod(reason="NodeLost", deleted=True), "Unknown", 1, 1,
    ),
    "first of one init container running": (
        initializing(container("migrate", running())),
        "Init:0/1", 0, 1,
    ),
    # An init container waiting in PodInitializing counts as not started: Init:N/M.
    "init container waiting to initialize": (
        initializing(container("migrate", waiting("PodInitializing"))),
        "Init:0/1", 0, 1,
    ),
    "second of two init containers running": (
        initializing(container("fetch", terminated("Completed")), container("migrate", running())),
        "Init:1/2", 0, 1,
    ),
    "init container in crash loop back-off": (
        initializing(container("migrate", waiting("CrashLoopBackOff"), restarts=4)),
        "Init:CrashLoopBackOff", 0, 1,
    ),
    "init container failed": (
        initializing(container("migrate", terminated("Error", 1))),
        "Init:Error", 0, 1,
    ),
    "init container exited without a reason": (
        initializing(container("migrate", terminated(None, 1))),
        "Init:ExitCode:1", 0, 1,
    ),
    "init container killed by a signal": (
        initializing(container("migrate", terminated(None, 137, signal=9))),
        "Init:Signal:9", 0, 1,
    ),
    "container exited without a reason": (
        not_ready(terminated(None, 137)),
        "ExitCode:137", 0, 1,
    ),
    "container killed by a signal": (
        not_ready(terminated(None, 137, signal=9)),
        "Signal:9", 0, 1,
    ),
    "scheduling gated": (
        make_pod(phase="Pending", containers=[], spec_containers=["app"], node=None,
                 scheduled_reason="SchedulingGated"),
        "SchedulingGated", 0, 1,
    ),
    # One container completed, another still runs: Running while the pod is Ready...
    "completed container beside a running one, pod ready": (
        make_pod(containers=[container("job", terminated("Completed")),
                             container("web", running(), ready=True)]),
        "Running", 1, 2,
    ),
    # ...NotReady when it is not.
    "completed container beside a running one, pod not ready": (
        make_pod(containers=[container("job", terminated("Completed")),
                             container("web", running(), ready=True)],
                 conditions=NOT_READY),
        "NotReady", 1, 2,
    ),
    # A started sidecar (init container with restartPolicy Always) counts in READY.
    "running sidecar init container": (
        make_pod(init=[container("proxy", running(), ready=True, started=True)],
                 sidecars=frozenset({"proxy"})),
        "Running", 2, 2,
    ),
    "sidecar not ready yet": (
        make_pod(init=[container("proxy", running(), ready=False, started=True)],
                 sidecars=frozenset({"proxy"}), conditions=NOT_READY),
        "Running", 1, 2,
    ),
    # A sidecar not yet started holds the next init containers back.
    "sidecar starting": (
        initializing(container("proxy", running(), started=False),
                     container("migrate", waiting("PodInitializing")),
                     sidecars=frozenset({"proxy"})),
        "Init:0/2", 0, 2,
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(STATUS_CASES))
def test_status_and_ready_follow_kubectl(case: str) -> None:
    pod, status, ready, total = STATUS_CASES[case]
    row = only_row(pod)
    assert (row.status, row.ready_containers, row.total_containers) == (status, ready, total)


def test_kubectl_columns_needs_no_server() -> None:
    pod = kubernetes.client.V1Pod(
        metadata=kubernetes.client.V1ObjectMeta(name="solo", namespace="shop"),
        spec=kubernetes.client.V1PodSpec(containers=[kubernetes.client.V1Container(name="app")]),
        status=kubernetes.client.V1PodStatus(phase="Pending"),
    )
    assert kubectl_columns(pod) == KubectlColumns("Pending", 0, 1, 0)


def test_restarts_are_summed_over_containers_and_sidecars() -> None:
    pod = make_pod(
        init=[container("proxy", running(), ready=True, started=True, restarts=2)],
        sidecars=frozenset({"proxy"}),
        containers=[
            container("web", running(), ready=True, restarts=3),
            container("worker", running(), ready=True, restarts=4),
        ],
    )
    assert only_row(pod).restarts == 9


def test_restarts_of_finished_init_containers_stop_counting_once_initialized() -> None:
    pod = make_pod(
        init=[container("migrate", terminated("Completed"), restarts=5)],
        containers=[container("web", running(), ready=True, restarts=1)],
    )
    assert only_row(pod).restarts == 1


def test_restarts_while_initializing_are_the_init_containers() -> None:
    pod = make_pod(
        phase="Pending",
        init=[container("migrate", waiting("CrashLoopBackOff"), restarts=4)],
        containers=[container("web", waiting("PodInitializing"), restarts=0)],
        conditions=INITIALIZING,
    )
    row = only_row(pod)
    assert (row.status, row.restarts) == ("Init:CrashLoopBackOff", 4)


def test_healthy_means_running_with_every_container_ready_or_completed() -> None:
    rows = pod_rows(
        make_pod("all-ready"),
        make_pod("half-ready", containers=[container("a", running(), ready=True),
                                           container("b", running(), ready=False)],
                 conditions=NOT_READY),
        not_ready(terminated("Completed"), "Succeeded", name="done"),
        not_ready(waiting("CrashLoopBackOff"), name="crashing"),
    ).set_index("pod")  # fmt: skip
    assert rows["healthy"].to_dict() == {
        "all-ready": True,
        "crashing": False,
        "done": True,
        "half-ready": False,
    }


# --- workloads and termination reasons ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("pod", "workload"),
    [
        pytest.param(
            make_pod("web-7d4b9c6f5d-x2k8p", owner=("ReplicaSet", "web-7d4b9c6f5d"),
                     labels={"pod-template-hash": "7d4b9c6f5d"}),
            ("web", "Deployment"),
            id="replicaset-of-a-deployment",
        ),
        pytest.param(
            make_pod("cache-x2k8p", owner=("ReplicaSet", "cache")),
            ("cache", "ReplicaSet"),
            id="replicaset-on-its-own",
        ),
        pytest.param(
            make_pod("db-0", owner=("StatefulSet", "db")), ("db", "StatefulSet"), id="statefulset"
        ),
        pytest.param(
            make_pod("agent-q7x2z", owner=("DaemonSet", "agent")),
            ("agent", "DaemonSet"),
            id="daemonset",
        ),
        pytest.param(
            make_pod("report-29472160-q4smw", owner=("Job", "report-29472160")),
            ("report-29472160", "Job"),
            id="job-of-a-cronjob-stays-a-job",
        ),
        pytest.param(make_pod("debug"), ("debug", "Pod"), id="bare-pod"),
        pytest.param(
            make_pod("etcd-node-1", owner=("Node", "node-1")), ("etcd-node-1", "Pod"),
            id="static-pod",
        ),
    ],
)  # fmt: skip
def test_workload_is_the_controller_a_person_would_name(
    pod: JsonObject, workload: tuple[str, str]
) -> None:
    row = only_row(pod)
    assert (row.workload, row.workload_kind) == workload


def test_last_termination_reason_is_the_most_recent_of_any_container() -> None:
    earlier, later = NOW - dt.timedelta(minutes=30), NOW - dt.timedelta(minutes=2)
    pod = make_pod(
        containers=[
            container("web", running(), ready=True, restarts=1,
                      last=terminated("Error", 1, finished=earlier)),
            container("worker", running(), ready=True, restarts=1,
                      last=terminated("OOMKilled", 137, finished=later)),
        ]
    )  # fmt: skip
    assert only_row(pod).last_termination_reason == "OOMKilled"


def test_last_termination_reason_falls_back_to_a_container_that_just_stopped() -> None:
    pod = make_pod(containers=[container(state=terminated("OOMKilled", 137))], conditions=NOT_READY)
    assert only_row(pod).last_termination_reason == "OOMKilled"


def test_last_termination_reason_is_empty_when_nothing_stopped() -> None:
    pod = make_pod(init=[container("migrate", terminated("Completed"))])
    assert only_row(pod).last_termination_reason == ""


# --- the frame ---------------------------------------------------------------------------------------


def test_pod_health_has_exactly_the_contract_columns_and_types() -> None:
    created = NOW - dt.timedelta(hours=1)  # make_pod's creation time
    earliest = (dt.datetime.now(dt.UTC) - created).total_seconds()
    rows = pod_rows(make_pod())
    latest = (dt.datetime.now(dt.UTC) - created).total_seconds()
    assert list(rows.columns) == POD_HEALTH_COLUMNS
    for column in ("ready_containers", "total_containers", "restarts"):
        assert pd.api.types.is_integer_dtype(rows[column])
    assert pd.api.types.is_float_dtype(rows["age_seconds"])
    assert pd.api.types.is_bool_dtype(rows["healthy"])
    # Its age when read: however long after collection (NOW) the test runs.
    assert earliest - 1 <= rows.loc[0, "age_seconds"] <= latest + 1


def test_no_pods_is_an_empty_frame_with_the_contract_columns_and_types() -> None:
    rows = pod_rows()
    assert rows.empty
    assert list(rows.columns) == POD_HEALTH_COLUMNS
    assert pd.api.types.is_integer_dtype(rows["restarts"])
    assert pd.api.types.is_bool_dtype(rows["healthy"])


# --- events ------------------------------------------------------------------------------------------


def event(
    name: str,
    *,
    namespace: str = "shop",
    last: dt.datetime | None = None,
    event_time: dt.datetime | None = None,
    first: dt.datetime | None = None,
    created: dt.datetime | None = None,
    count: int | None = None,
    type_: str = "Normal",
    reason: str = "Pulled",
) -> JsonObject:
    def stamp(moment: dt.datetime | None) -> str | None:
        return rfc3339(moment) if moment else None

    body: JsonObject = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{name}.17a2b3c4d5e6f708",
            "namespace": namespace,
            "creationTimestamp": stamp(created or NOW - dt.timedelta(days=1)),
        },
        "involvedObject": {"kind": "Pod", "name": name, "namespace": namespace},
        "type": type_,
        "reason": reason,
        "message": f"{reason} {name}",
        "lastTimestamp": stamp(last),
        "firstTimestamp": stamp(first),
        # eventTime is a MicroTime: microseconds on the wire.
        "eventTime": event_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if event_time else None,
        "source": {"component": "kubelet"},
    }
    if count is not None:
        body["count"] = count
    return body


def test_recorded_gke_event_is_one_row_with_its_fields(
    recorded: dict[str, list[JsonObject]],
) -> None:
    with KubeApiServer(events=recorded["k9s_event_pulled_gke.json"]) as server:
        rows = source_for(server).events(dt.datetime(2019, 8, 30, 20, 0, tzinfo=dt.UTC))
    assert rows.to_dict("records") == [
        {
            "timestamp": pd.Timestamp("2019-08-30T20:43:05Z"),
            "namespace": "default",
            "kind": "Pod",
            "name": "hello-1567197780-mn4mv",
            "type": "Normal",
            "reason": "Pulled",
            "message": 'Successfully pulled image "blang/busybox-bash"',
            "count": 1,
        }
    ]


def test_recorded_gke_event_is_left_out_when_older_than_since(
    recorded: dict[str, list[JsonObject]],
) -> None:
    with KubeApiServer(events=recorded["k9s_event_pulled_gke.json"]) as server:
        rows = source_for(server).events(dt.datetime(2019, 8, 30, 20, 43, 6, tzinfo=dt.UTC))
    assert rows.empty
    assert list(rows.columns) == EVENT_COLUMNS
    assert str(rows["timestamp"].dtype) == "datetime64[ns, UTC]"


def test_events_since_are_newest_first_by_their_last_time() -> None:
    since = NOW - dt.timedelta(hours=1)
    events = [
        event("old", last=NOW - dt.timedelta(hours=2), count=9),
        event("repeated", last=NOW - dt.timedelta(minutes=10), first=NOW - dt.timedelta(hours=3),
              count=3, type_="Warning", reason="BackOff"),
        # Without lastTimestamp: eventTime, then firstTimestamp, then creationTimestamp.
        event("new-style", event_time=NOW - dt.timedelta(minutes=2)),
        event("first-only", first=NOW - dt.timedelta(minutes=30), count=1),
        event("created-only", created=NOW - dt.timedelta(minutes=1)),
        event("exactly-at-since", last=since),
    ]  # fmt: skip
    with KubeApiServer(events=events) as server:
        rows = source_for(server).events(since)
    assert list(rows.columns) == EVENT_COLUMNS
    assert str(rows["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert rows["name"].tolist() == [
        "created-only",
        "new-style",
        "repeated",
        "first-only",
        "exactly-at-since",
    ]
    assert rows["count"].tolist() == [1, 1, 3, 1, 1]  # 1 when the event does not say
    assert rows.loc[2, "timestamp"] == pd.Timestamp(NOW - dt.timedelta(minutes=10))
    assert (rows.loc[2, "type"], rows.loc[2, "reason"]) == ("Warning", "BackOff")


def test_events_since_a_naive_time_means_utc() -> None:
    with KubeApiServer(events=[event("recent", last=NOW - dt.timedelta(minutes=5))]) as server:
        naive = (NOW - dt.timedelta(minutes=10)).replace(tzinfo=None)
        assert len(source_for(server).events(naive)) == 1


def test_events_of_listed_namespaces_are_read_one_namespace_at_a_time() -> None:
    events = [
        event("a", namespace="shop", last=NOW),
        event("b", namespace="payments", last=NOW),
        event("c", namespace="kube-system", last=NOW),
    ]
    with KubeApiServer(events=events) as server:
        rows = source_for(server, namespaces=["shop", "payments"]).events(
            NOW - dt.timedelta(hours=1)
        )
        assert server.request_count("/api/v1/namespaces/shop/events") == 1
        assert server.request_count("/api/v1/namespaces/payments/events") == 1
        assert server.request_count("/api/v1/events") == 0
    assert sorted(rows["name"]) == ["a", "b"]


# --- nodes -------------------------------------------------------------------------------------------


def test_recorded_nodes_report_conditions_and_exact_allocatable(
    recorded: dict[str, list[JsonObject]],
) -> None:
    nodes = recorded["nri-k8s-1.34_nodelist.yaml"] + recorded["is-healthy_node_warning.yaml"]
    with KubeApiServer(nodes=nodes) as server:
        rows = source_for(server).nodes()
    assert list(rows.columns) == NODE_COLUMNS
    assert rows.to_dict("records") == [
        {
            "node": "datagen-1-34",
            "ready": True,
            "memory_pressure": False,
            "disk_pressure": False,
            "pid_pressure": False,
            "cpu_allocatable_cores": 10.0,  # cpu: "10"
            "memory_allocatable_bytes": 16356452 * 1024.0,  # memory: 16356452Ki
        },
        {
            "node": "gk3-infra-cluster-pool-2-be3fcd50-lzd5",
            "ready": True,
            "memory_pressure": True,  # KubeletHasInsufficientMemory
            "disk_pressure": False,
            "pid_pressure": False,
            "cpu_allocatable_cores": 3.92,  # cpu: 3920m
            "memory_allocatable_bytes": 13490644 * 1024.0,  # memory: 13490644Ki
        },
    ]
    for column in ("ready", "memory_pressure", "disk_pressure", "pid_pressure"):
        assert pd.api.types.is_bool_dtype(rows[column])


def test_a_node_without_conditions_is_not_ready() -> None:
    node = {"kind": "Node", "metadata": {"name": "new-node"}, "status": {}}
    with KubeApiServer(nodes=[node]) as server:
        row = source_for(server).nodes().iloc[0]
    assert not row.ready
    assert pd.isna(row.cpu_allocatable_cores)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3800m", 3.8),
        ("4", 4.0),
        ("0.5", 0.5),
        ("100n", 1e-7),
        ("250u", 0.00025),
        ("16356452Ki", 16_749_006_848.0),
        ("512Mi", 536_870_912.0),
        ("1.5Gi", 1_610_612_736.0),
        ("2Ti", 2_199_023_255_552.0),
        ("1Pi", 2.0**50),
        ("128k", 128_000.0),
        ("128K", 128_000.0),
        ("64M", 64_000_000.0),
        ("8G", 8e9),
        ("1T", 1e12),
        ("1e3", 1000.0),
        ("12E-1", 1.2),
        ("47060071478", 47_060_071_478.0),
        ("+1", 1.0),
    ],
)
def test_node_quantities_read_as_plain_numbers(text: str, value: float) -> None:
    assert quantity_value(text) == value


@pytest.mark.parametrize("text", ["abc", "1Xi", "1.2.3", "Mi", "1 Gi x"])
def test_node_quantities_refuse_what_is_not_a_quantity(text: str) -> None:
    with pytest.raises(ValueError, match="Invalid number format"):
        quantity_value(text)


@pytest.mark.parametrize("text", [None, ""])
def test_a_missing_node_quantity_is_nan(text: str | None) -> None:
    assert math.isnan(quantity_value(text))


# --- refusals, failures and timeouts -----------------------------------------------------------------

FORBIDDEN_PODS = (
    'forbidden: service account "invdash" in "monitoring" cannot list pods at the cluster scope '
    "(grant get/list/watch on pods)"
)


def test_forbidden_pods_name_verb_resource_and_the_service_account_from_the_refusal() -> None:
    with KubeApiServer(pods=[make_pod()]) as server:
        server.forbid("/api/v1/pods", user=SERVICE_ACCOUNT_USER)
        source = source_for(server)
        health = source.check_health()
        assert (health.status, health.message) == ("error", FORBIDDEN_PODS)
        with pytest.raises(KubernetesAccessError) as raised:
            source.pod_health()
    assert str(raised.value) == FORBIDDEN_PODS
    assert describe_failure(raised.value) == f"KubernetesAccessError: {FORBIDDEN_PODS}"


def refusal_messages(source: KubernetesSource, ask: Callable[[], object]) -> tuple[str, str]:
    """What the source's health check says, and the KubernetesAccessError ``ask`` raises."""
    health = source.check_health()
    with pytest.raises(KubernetesAccessError) as raised:
        ask()
    return health.message, str(raised.value)


def test_forbidden_names_the_configured_service_account() -> None:
    with KubeApiServer() as server:
        server.forbid("/api/v1/nodes", user="system:serviceaccount:other:someone")
        source = source_for(server, service_account="system:serviceaccount:monitoring:reader")
        messages = refusal_messages(source, source.nodes)
    expected = (
        'forbidden: service account "reader" in "monitoring" cannot list nodes at the cluster '
        "scope (grant get/list/watch on nodes)"
    )
    assert messages == (expected, expected)


def test_forbidden_events_in_a_namespace_name_the_namespace() -> None:
    with KubeApiServer(pods=[make_pod()]) as server:
        server.forbid("/api/v1/namespaces/shop/events", user=SERVICE_ACCOUNT_USER)
        source = source_for(server, namespaces=["shop"], service_account="invdash")
        messages = refusal_messages(source, lambda: source.events(NOW - dt.timedelta(hours=1)))
        assert len(source.pod_health()) == 1  # pods are allowed
    expected = (
        'forbidden: service account "invdash" cannot list events in namespace "shop" '
        '(grant get/list/watch on events in "shop")'
    )
    assert messages == (expected, expected)


def test_forbidden_names_a_person_when_the_refused_user_is_not_a_service_account() -> None:
    with KubeApiServer() as server:
        server.forbid("/api/v1/namespaces/shop/pods", user="alice@example.com")
        health = source_for(server, namespaces=["shop"]).check_health()
    assert health.message == (
        'forbidden: user "alice@example.com" cannot list pods in namespace "shop" '
        '(grant get/list/watch on pods in "shop")'
    )


def test_unauthorized_says_the_credentials_were_not_accepted() -> None:
    with KubeApiServer() as server:
        server.unauthorize("/api/v1/pods")
        source = source_for(server, service_account="monitoring/invdash")
        health = source.check_health()
        with pytest.raises(KubernetesAccessError) as raised:
            source.pod_health()
    assert health.message == str(raised.value)
    assert health.message == (
        "unauthorized: the API server did not accept the credentials of service account "
        '"invdash" in "monitoring" to list pods at the cluster scope '
        "(the token is missing, expired or revoked)"
    )


def test_server_error_is_one_readable_line() -> None:
    with KubeApiServer() as server:
        server.fail("/api/v1/pods", "Internal error occurred: etcdserver: request timed out")
        source = source_for(server)
        health = source.check_health()
        with pytest.raises(KubernetesApiError) as raised:
            source.pod_health()
    line = "HTTP 500 Internal Server Error: Internal error occurred: etcdserver: request timed out"
    assert str(raised.value) == line
    assert raised.value.status == 500
    assert describe_failure(raised.value) == f"KubernetesApiError: {line}"
    assert (health.status, health.message) == ("error", f"Kubernetes API failed: {line}")


def test_unreachable_api_server_is_an_error_health_in_one_line() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    configuration = kubernetes.client.Configuration()
    configuration.host = f"http://127.0.0.1:{port}"
    core_v1 = kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(configuration))
    health = KubernetesSource(core_v1, timeout_seconds=1).check_health()
    assert health.status == "error"
    assert health.message.startswith("Kubernetes API unreachable: ")
    assert "Connection refused" in health.message
    assert "\n" not in health.message


def test_a_tls_failure_is_one_readable_line() -> None:
    with KubeApiServer() as server:
        configuration = kubernetes.client.Configuration()
        configuration.host = server.url.replace("http://", "https://")  # it answers in plain HTTP
        source = KubernetesSource(
            kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(configuration))
        )
        health = source.check_health()
        with pytest.raises(KubernetesApiError) as raised:
            source.pod_health()
    assert str(raised.value).startswith("cannot list pods: SSLError: ")
    assert raised.value.status is None
    assert health.message == f"Kubernetes API unreachable: {raised.value}"
    assert "\n" not in health.message


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/v1/pods", lambda source: source.pod_health()),
        ("/api/v1/events", lambda source: source.events(NOW)),
        ("/api/v1/nodes", lambda source: source.nodes()),
    ],
    ids=["pods", "events", "nodes"],
)
def test_a_slow_api_server_fails_the_call_within_its_timeout(path: str, query: Any) -> None:
    with KubeApiServer() as server:
        server.delay(path, 3)
        source = source_for(server, timeout_seconds=1)
        started = time.monotonic()
        with pytest.raises(urllib3.exceptions.ReadTimeoutError, match="timed out"):
            query(source)
        assert time.monotonic() - started < 2
        assert server.request_count(path) == 1  # not retried


def test_a_slow_api_server_makes_health_an_error_within_its_timeout() -> None:
    with KubeApiServer() as server:
        server.delay("/api/v1/pods", 3)
        started = time.monotonic()
        health = source_for(server, timeout_seconds=1).check_health()
        assert time.monotonic() - started < 2
    assert health.status == "error"
    assert health.message.startswith("Kubernetes API unreachable: ReadTimeoutError: ")


def test_health_is_ok_when_pods_events_and_nodes_can_be_listed() -> None:
    with KubeApiServer(pods=[make_pod()]) as server:
        health = source_for(server, namespaces=["shop"], label_selector="app=web").check_health()
        asked = {(r.path, r.query.get("limit", [""])[0]) for r in server.requests}
    assert health.ok
    assert health.details["namespaces"] == "shop"
    assert asked == {
        ("/api/v1/namespaces/shop/pods", "1"),
        ("/api/v1/namespaces/shop/events", "1"),
        ("/api/v1/nodes", "1"),
    }


# --- namespaces and label selector -------------------------------------------------------------------


def test_all_namespaces_is_one_cluster_scoped_list(recorded: dict[str, list[JsonObject]]) -> None:
    with KubeApiServer(pods=recorded["nri-k8s-1.34_podlist.yaml"]) as server:
        rows = source_for(server).pod_health()
        assert server.request_count() == 1
        assert server.request_count("/api/v1/pods") == 1
    assert len(rows) == 25


def test_listed_namespaces_are_read_one_namespace_at_a_time(
    recorded: dict[str, list[JsonObject]],
) -> None:
    with KubeApiServer(pods=recorded["nri-k8s-1.34_podlist.yaml"]) as server:
        rows = source_for(server, namespaces=["kube-system", "empty"]).pod_health()
        assert server.request_count("/api/v1/namespaces/kube-system/pods") == 1
        assert server.request_count("/api/v1/namespaces/empty/pods") == 1
        assert server.request_count("/api/v1/pods") == 0
    assert len(rows) == 9
    assert set(rows["namespace"]) == {"kube-system"}


def test_label_selector_is_sent_and_honoured(recorded: dict[str, list[JsonObject]]) -> None:
    with KubeApiServer(pods=recorded["nri-k8s-1.34_podlist.yaml"]) as server:
        rows = source_for(server, label_selector="app=deployment").pod_health()
        (request,) = server.requests
    assert request.query["labelSelector"] == ["app=deployment"]
    assert rows["pod"].tolist() == [
        "e2e-deployment-6fb786454b-7fsxc",
        "e2e-deployment-6fb786454b-mrr5s",
    ]


def test_label_selector_applies_within_each_listed_namespace(
    recorded: dict[str, list[JsonObject]],
) -> None:
    with KubeApiServer(pods=recorded["nri-k8s-1.34_podlist.yaml"]) as server:
        source = source_for(server, namespaces=["scraper"], label_selector="app!=failjob,app")
        rows = source.pod_health()
    assert len(rows) == 11  # 15 of the 16 pods in scraper have an app label; 4 are failjob's


def test_one_client_serves_every_call() -> None:
    with KubeApiServer(pods=[make_pod()]) as server:
        core_v1 = core_v1_for(server)
        source = KubernetesSource(core_v1)
        source.pod_health()
        source.nodes()
        source.events(NOW)
    assert source.core_v1 is core_v1
    assert source.name == "Kubernetes API"
    assert source.is_demo is False


# --- finding the cluster -----------------------------------------------------------------------------


def service_account_token(subject: str) -> str:
    def part(value: JsonObject) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part({'sub': subject, 'aud': ['kubernetes']})}.c2lnbmF0dXJl"


@pytest.fixture
def mounted_service_account(tmp_path: Path) -> tuple[Path, Path, str]:
    """A service account token and CA certificate as Kubernetes mounts them into a pod."""
    token = service_account_token(SERVICE_ACCOUNT_USER)
    token_path = tmp_path / "token"
    token_path.write_text(token)
    ca_path = tmp_path / "ca.crt"
    ca_path.write_text("-----BEGIN CERTIFICATE-----\nMIIBdummy\n-----END CERTIFICATE-----\n")
    return token_path, ca_path, token


# Nothing listens there: these tests only build configurations, and must reach no real cluster.
IN_CLUSTER_ENV = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": "6443"}


def test_in_cluster_configuration_uses_the_service_host_token_and_ca(
    mounted_service_account: tuple[Path, Path, str],
) -> None:
    token_path, ca_path, token = mounted_service_account
    configuration = in_cluster_configuration(token_path, ca_path, environ=IN_CLUSTER_ENV)
    assert configuration.host == "https://127.0.0.1:6443"
    assert configuration.ssl_ca_cert == str(ca_path)
    assert configuration.auth_settings()["BearerToken"]["value"] == f"bearer {token}"
    assert configuration.retries is False


def test_in_cluster_configuration_needs_the_service_host(
    mounted_service_account: tuple[Path, Path, str],
) -> None:
    token_path, ca_path, _ = mounted_service_account
    with pytest.raises(kubernetes.config.ConfigException):
        in_cluster_configuration(token_path, ca_path, environ={})


def test_in_cluster_service_account_comes_from_the_setting_else_the_token(
    mounted_service_account: tuple[Path, Path, str], tmp_path: Path
) -> None:
    token_path, _, _ = mounted_service_account
    assert in_cluster_service_account(token_path, environ={}) == SERVICE_ACCOUNT_USER
    setting = {"INVDASH_KUBE_SERVICE_ACCOUNT": "monitoring/dashboard"}
    assert in_cluster_service_account(token_path, environ=setting) == "monitoring/dashboard"
    opaque = tmp_path / "opaque-token"
    opaque.write_text("not-a-jwt")
    assert in_cluster_service_account(opaque, environ={}) is None
    assert in_cluster_service_account(tmp_path / "missing", environ={}) is None


def write_kubeconfig(path: Path, server_url: str, token: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "test", "cluster": {"server": server_url}}],
                "users": [{"name": "tester", "user": {"token": token}}],
                "contexts": [{"name": "test", "context": {"cluster": "test", "user": "tester"}}],
                "current-context": "test",
            }
        )
    )
    return path


def test_kubeconfig_named_by_the_environment_is_used(tmp_path: Path) -> None:
    with KubeApiServer(pods=[make_pod()]) as server:
        kubeconfig = write_kubeconfig(tmp_path / "cluster.yaml", server.url, "dev-token")
        api_client = api_client_from_environment({"KUBECONFIG": str(kubeconfig)}, home=tmp_path)
        rows = KubernetesSource(kubernetes.client.CoreV1Api(api_client)).pod_health()
        (request,) = server.requests
    assert len(rows) == 1
    assert request.headers["authorization"] == "Bearer dev-token"


def test_default_kubeconfig_in_home_is_used(tmp_path: Path) -> None:
    write_kubeconfig(tmp_path / ".kube" / "config", "http://127.0.0.1:6443", "dev-token")
    api_client = api_client_from_environment({}, home=tmp_path)
    assert api_client is not None
    assert api_client.configuration.host == "http://127.0.0.1:6443"


def test_no_cluster_configured_means_no_client(tmp_path: Path) -> None:
    assert api_client_from_environment({}, home=tmp_path) is None
    assert (
        api_client_from_environment({"KUBECONFIG": str(tmp_path / "absent")}, home=tmp_path) is None
    )
    # In a pod without a mounted token (service account automount off): no client either.
    no_token = {"token_path": tmp_path / "token", "ca_path": tmp_path / "ca.crt"}
    assert api_client_from_environment(IN_CLUSTER_ENV, home=tmp_path, **no_token) is None


def test_in_a_pod_the_service_account_is_used_before_any_kubeconfig(
    mounted_service_account: tuple[Path, Path, str], tmp_path: Path
) -> None:
    token_path, ca_path, _ = mounted_service_account
    write_kubeconfig(tmp_path / ".kube" / "config", "http://127.0.0.1:6443", "dev-token")
    api_client = api_client_from_environment(
        IN_CLUSTER_ENV, home=tmp_path, token_path=token_path, ca_path=ca_path
    )
    assert api_client is not None
    assert api_client.configuration.host == "https://127.0.0.1:6443"


@pytest.fixture
def fresh_process_client() -> Iterator[None]:
    """As if the process had made no client yet, and forgotten again after."""
    kubernetes_client_from_environment.cache_clear()
    yield
    kubernetes_client_from_environment.cache_clear()


@pytest.mark.usefixtures("fresh_process_client")
def test_kubernetes_client_from_environment_makes_one_client_per_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    kubeconfig = write_kubeconfig(tmp_path / "config", "http://127.0.0.1:6443", "dev-token")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    first = kubernetes_client_from_environment()
    second = kubernetes_client_from_environment()
    assert first is not None
    assert second is first
    assert first.api_client.configuration.host == "http://127.0.0.1:6443"
