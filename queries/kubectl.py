"""How ``kubectl get pods`` describes a pod, worked out with kubectl's own rules (``printPod`` in
kubernetes/kubernetes ``pkg/printers/internalversion``): its STATUS, READY and RESTARTS columns,
the workload a person would name for it and why its containers last stopped.

Pure functions of ``kubernetes.client`` objects (``V1Pod``); ``queries.kubernetes`` reads them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from kubernetes import client as k8s

from queries.days import utc_or_none

NODE_LOST_REASON = "NodeLost"  # kubelet's NodeUnreachablePodReason


# --- kubectl's STATUS, READY and RESTARTS --------------------------------------------------------


@dataclass(frozen=True)
class KubectlColumns:
    """What ``kubectl get pods`` prints for a pod: STATUS, READY as ready/total, RESTARTS."""

    status: str
    ready_containers: int
    total_containers: int
    restarts: int


def _state_of(container_status: Any) -> tuple[Any, Any, Any]:
    """(waiting, running, terminated) of a container status's current state; each may be None."""
    state = container_status.state
    if state is None:
        return None, None, None
    return state.waiting, state.running, state.terminated


def _is_restartable_init_container(container: Any) -> bool:
    # A sidecar: an init container with restartPolicy Always keeps running beside the app.
    return container is not None and container.restart_policy == "Always"


def _initialized(conditions: list[Any]) -> bool:
    # kubectl reads the first Initialized condition only.
    for condition in conditions:
        if condition.type == "Initialized":
            return bool(condition.status == "True")
    return False


def _has_ready_condition(conditions: list[Any]) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def _termination_text(terminated: Any) -> str:
    """A terminated state's reason, or kubectl's Signal:N / ExitCode:N when it has none."""
    if terminated.reason:
        return str(terminated.reason)
    if terminated.signal:
        return f"Signal:{terminated.signal}"
    return f"ExitCode:{terminated.exit_code or 0}"


def kubectl_columns(pod: Any) -> KubectlColumns:
    """STATUS, READY and RESTARTS of a ``V1Pod`` exactly as ``kubectl get pods`` prints them."""
    spec = pod.spec
    status = pod.status or k8s.V1PodStatus()
    conditions = status.conditions or []
    init_specs = list(spec.init_containers or [])
    init_by_name = {container.name: container for container in init_specs}

    phase = status.phase or ""
    reason = status.reason or phase
    if any(c.type == "PodScheduled" and c.reason == "SchedulingGated" for c in conditions):
        reason = "SchedulingGated"

    total = len(spec.containers or []) + sum(
        1 for container in init_specs if _is_restartable_init_container(container)
    )
    ready = 0
    restarts = 0
    sidecar_restarts = 0
    initializing = False
    for index, container in enumerate(status.init_container_statuses or []):
        restarts += container.restart_count or 0
        sidecar = _is_restartable_init_container(init_by_name.get(container.name))
        if sidecar:
            sidecar_restarts += container.restart_count or 0
        waiting, _running, terminated = _state_of(container)
        if terminated is not None and terminated.exit_code == 0:
            continue
        if sidecar and container.started:
            ready += 1 if container.ready else 0
            continue
        if terminated is not None:
            reason = "Init:" + _termination_text(terminated)
        elif waiting is not None and waiting.reason and waiting.reason != "PodInitializing":
            reason = "Init:" + waiting.reason
        else:
            reason = f"Init:{index}/{len(init_specs)}"
        # The first init container that has not finished decides; later ones have not run.
        initializing = True
        break

    if not initializing or _initialized(conditions):
        # Init containers that ran to completion no longer count; sidecars keep counting.
        restarts = sidecar_restarts
        has_running = False
        # In reverse, so that the first container with something to say has the last word.
        for container in reversed(status.container_statuses or []):
            restarts += container.restart_count or 0
            waiting, running, terminated = _state_of(container)
            if waiting is not None and waiting.reason:
                reason = waiting.reason
            elif terminated is not None:
                reason = _termination_text(terminated)
            elif container.ready and running is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _has_ready_condition(conditions) else "NotReady"

    if pod.metadata.deletion_timestamp is not None:
        if status.reason == NODE_LOST_REASON:
            reason = "Unknown"
        elif phase not in ("Failed", "Succeeded"):
            reason = "Terminating"
    return KubectlColumns(reason, ready, total, restarts)


# --- the rest of a pod's row ---------------------------------------------------------------------


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def owning_workload(pod: Any) -> tuple[str, str]:
    """(workload, workload_kind) of a pod: the controller a person would name, from ownerReferences.

    A ReplicaSet's pods carrying a ``pod-template-hash`` label belong to the Deployment whose name
    is the ReplicaSet's without "-<hash>". A Job stays a Job: its CronJob is named on the Job, not
    on the pod. A pod without an owner, or a static pod (owned by its Node), is its own workload.
    """
    metadata = pod.metadata
    owners = list(metadata.owner_references or [])
    owner = next((ref for ref in owners if ref.controller), owners[0] if owners else None)
    if owner is None or owner.kind == "Node":
        return str(metadata.name), "Pod"
    if owner.kind == "ReplicaSet":
        template_hash = (metadata.labels or {}).get("pod-template-hash")
        if template_hash and owner.name.endswith(f"-{template_hash}"):
            return owner.name[: -len(template_hash) - 1], "Deployment"
    return str(owner.name), str(owner.kind)


def last_termination_reason(pod: Any) -> str:
    """Why a container of the pod last stopped: the newest lastState.terminated, else the newest
    current terminated state (app containers, and init containers that failed), else ""."""
    status = pod.status
    if status is None:
        return ""
    init_statuses = list(status.init_container_statuses or [])
    app_statuses = list(status.container_statuses or [])
    previous = [
        c.last_state.terminated
        for c in init_statuses + app_statuses
        if c.last_state is not None and c.last_state.terminated is not None
    ]
    current = [terminated for c in app_statuses if (terminated := _state_of(c)[2]) is not None]
    current += [
        terminated
        for c in init_statuses
        if (terminated := _state_of(c)[2]) is not None and terminated.exit_code != 0
    ]
    for candidates in (previous, current):
        if candidates:
            newest = max(candidates, key=lambda t: utc_or_none(t.finished_at) or _EPOCH)
            return _termination_text(newest)
    return ""
