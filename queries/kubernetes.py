"""Pods, events and nodes from the Kubernetes API, in the columns of ``queries.telemetry``.

``KubernetesSource`` answers the ``ClusterSource`` protocol through one ``CoreV1Api`` given to it.
A pod's ``status`` is what ``kubectl get pods`` prints in its STATUS column, worked out with
kubectl's own rules (``printPod`` in kubernetes/kubernetes ``pkg/printers/internalversion``), and
its READY and RESTARTS counts are kubectl's too. Refused requests (HTTP 401/403) become a
``KubernetesAccessError`` whose message names what was refused, to whom, and what to grant; other
API errors become a one-line ``KubernetesApiError``; network failures and timeouts propagate as
urllib3 raises them.

``kubernetes_client_from_environment`` finds the cluster the way kubectl would: the pod's service
account when running in a cluster, else ``KUBECONFIG`` or ``~/.kube/config``, else none.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, cast

import pandas as pd
import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.incluster_config import (
    SERVICE_CERT_FILENAME,
    SERVICE_TOKEN_FILENAME,
    InClusterConfigLoader,
)
from kubernetes.config.kube_config import new_client_from_config

from queries.health import Health, describe_failure
from queries.telemetry import EVENT_COLUMNS, NODE_COLUMNS, POD_HEALTH_COLUMNS, contract_frame

log = logging.getLogger(__name__)

SERVICE_ACCOUNT_ENV = "INVDASH_KUBE_SERVICE_ACCOUNT"
NODE_LOST_REASON = "NodeLost"  # kubelet's NodeUnreachablePodReason
GRANT = "get/list/watch"

_NODE_CONDITIONS = {
    "ready": "Ready", "memory_pressure": "MemoryPressure", "disk_pressure": "DiskPressure",
    "pid_pressure": "PIDPressure",
}  # fmt: skip


class KubernetesAccessError(Exception):
    """The API server refused a request (HTTP 401 or 403); the message says what to grant."""


class KubernetesApiError(Exception):
    """The API server answered a request with an error: ``HTTP <code> <reason>: <message>``."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


# --- quantities ----------------------------------------------------------------------------------

_QUANTITY = re.compile(
    r"(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))"
    r"(?:(?P<exponent>[eE][+-]?\d+)|(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|K|M|G|T|P|E))?"
)
_SUFFIX_MULTIPLIERS = {
    None: Decimal(1),
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
    # "K" is not Kubernetes' spelling (it is "k"), but people write it and mean 1000.
    "k": Decimal(10) ** 3, "K": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12, "P": Decimal(10) ** 15, "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30, "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60,
}  # fmt: skip


def parse_quantity(text: str) -> float:
    """A Kubernetes resource quantity as a plain number: "3800m" -> 3.8, "1Ki" -> 1024.0.

    Accepts decimal suffixes (n u m k M G T P E, and K for k), binary suffixes (Ki Mi Gi Ti Pi
    Ei) and exponents ("1e3", "12E-1"). Raises ValueError for anything else.
    """
    match = _QUANTITY.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a Kubernetes quantity")
    try:
        value = Decimal(match["number"])
        if match["exponent"]:
            value = value.scaleb(int(match["exponent"][1:]))
    except InvalidOperation as error:
        raise ValueError(f"{text!r} is not a Kubernetes quantity") from error
    return float(value * _SUFFIX_MULTIPLIERS[match["suffix"]])


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


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def _utc_or_none(moment: dt.datetime | None) -> dt.datetime | None:
    return None if moment is None else _utc(moment)


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
            newest = max(candidates, key=lambda t: _utc_or_none(t.finished_at) or _EPOCH)
            return _termination_text(newest)
    return ""


def _pod_row(pod: Any, now: dt.datetime) -> dict[str, Any]:
    columns = kubectl_columns(pod)
    workload, workload_kind = owning_workload(pod)
    created = _utc_or_none(pod.metadata.creation_timestamp)
    healthy = columns.status == "Completed" or (
        columns.status == "Running" and columns.ready_containers == columns.total_containers
    )
    return {
        "namespace": pod.metadata.namespace or "",
        "pod": pod.metadata.name,
        "workload": workload,
        "workload_kind": workload_kind,
        "node": pod.spec.node_name or "",
        "phase": (pod.status.phase if pod.status else None) or "",
        "status": columns.status,
        "ready_containers": columns.ready_containers,
        "total_containers": columns.total_containers,
        "restarts": columns.restarts,
        "last_termination_reason": last_termination_reason(pod),
        "age_seconds": (now - created).total_seconds() if created else float("nan"),
        "healthy": healthy,
    }


def _event_time(event: Any) -> dt.datetime | None:
    """When an event was last seen: lastTimestamp, the series' last observation, eventTime,
    firstTimestamp, then when the object was created (the first of these that is set)."""
    series = event.series
    for moment in (
        event.last_timestamp,
        series.last_observed_time if series is not None else None,
        event.event_time,
        event.first_timestamp,
        event.metadata.creation_timestamp if event.metadata is not None else None,
    ):
        if moment is not None:
            return _utc(moment)
    return None


def _event_row(event: Any, timestamp: dt.datetime) -> dict[str, Any]:
    involved = event.involved_object
    series_count = event.series.count if event.series is not None else None
    return {
        "timestamp": timestamp,
        "namespace": (event.metadata.namespace if event.metadata else None) or "",
        "kind": (involved.kind if involved else None) or "",
        "name": (involved.name if involved else None) or "",
        "type": event.type or "",
        "reason": event.reason or "",
        "message": event.message or "",
        "count": event.count or series_count or 1,
    }


def _node_row(node: Any) -> dict[str, Any]:
    status = node.status or k8s.V1NodeStatus()
    condition_status = {c.type: c.status for c in status.conditions or []}
    allocatable = status.allocatable or {}
    row: dict[str, Any] = {"node": node.metadata.name}
    for column, condition in _NODE_CONDITIONS.items():
        row[column] = condition_status.get(condition) == "True"
    cpu, memory = allocatable.get("cpu"), allocatable.get("memory")
    row["cpu_allocatable_cores"] = parse_quantity(cpu) if cpu else float("nan")
    row["memory_allocatable_bytes"] = parse_quantity(memory) if memory else float("nan")
    return row


# --- refusals and errors -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Request:
    """What the source asked for, to name it when the API server refuses."""

    verb: str
    resource: str
    namespace: str | None = None

    @property
    def scope(self) -> str:
        if self.namespace is None:
            return "at the cluster scope"
        return f'in namespace "{self.namespace}"'

    @property
    def grant(self) -> str:
        where = f' in "{self.namespace}"' if self.namespace is not None else ""
        return f"grant {GRANT} on {self.resource}{where}"


_SERVICE_ACCOUNT_USER = re.compile(r"system:serviceaccount:(?P<namespace>[^:]+):(?P<name>[^:]+)")
_STATUS_USER = re.compile(r'User "(?P<user>[^"]*)"')


def _status_body(error: Any) -> dict[str, Any]:
    body = error.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if not isinstance(body, str):
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        first_line = next(iter(body.strip().splitlines()), "")
        return {"message": first_line[:200]} if first_line else {}
    return parsed if isinstance(parsed, dict) else {}


def _identity(service_account: str | None, status_message: str) -> str:
    """Who was refused: the configured service account, else the user the API server names."""
    if service_account:
        match = _SERVICE_ACCOUNT_USER.fullmatch(service_account)
        if match:
            return f'service account "{match["name"]}" in "{match["namespace"]}"'
        namespace, separator, name = service_account.rpartition("/")
        if separator and namespace and name:
            return f'service account "{name}" in "{namespace}"'
        return f'service account "{service_account}"'
    user = _STATUS_USER.search(status_message)
    if user is None:
        return "the configured credentials"
    match = _SERVICE_ACCOUNT_USER.fullmatch(user["user"])
    if match:
        return f'service account "{match["name"]}" in "{match["namespace"]}"'
    return f'user "{user["user"]}"'


def _translate(error: Any, request: _Request, service_account: str | None) -> Exception:
    status = int(error.status or 0)
    body = _status_body(error)
    message = str(body.get("message") or "")
    if status == 403:
        who = _identity(service_account, message)
        return KubernetesAccessError(
            f"forbidden: {who} cannot {request.verb} {request.resource} {request.scope} "
            f"({request.grant})"
        )
    if status == 401:
        who = _identity(service_account, message)
        return KubernetesAccessError(
            f"unauthorized: the API server did not accept the credentials of {who} to "
            f"{request.verb} {request.resource} {request.scope} "
            "(the token is missing, expired or revoked)"
        )
    reason = ": ".join(
        line.strip() for line in str(error.reason or "").splitlines() if line.strip()
    )
    if not status:
        # No HTTP answer at all: the client failed before one (TLS, for instance).
        return KubernetesApiError(f"cannot {request.verb} {request.resource}: {reason}", None)
    text = f"HTTP {status} {reason}".rstrip()
    detail = " ".join(message.split())
    return KubernetesApiError(f"{text}: {detail}" if detail else text, status)


# --- the source ----------------------------------------------------------------------------------


def _stop_retries(core_v1: Any) -> None:
    # urllib3 retries a timed-out GET three times by default, so one call could take four times
    # timeout_seconds. The dashboard asks again at its next refresh instead.
    pool_manager = getattr(getattr(core_v1.api_client, "rest_client", None), "pool_manager", None)
    if isinstance(pool_manager, urllib3.PoolManager):
        pool_manager.connection_pool_kw["retries"] = False
        cast(Any, pool_manager).clear()  # some urllib3 stubs leave clear() unannotated


class KubernetesSource:
    """Pods, events and nodes from the Kubernetes API (the ``ClusterSource`` protocol).

    ``core_v1``: a ``kubernetes.client.CoreV1Api``, reused for every call (the source turns off
    urllib3's automatic retries on its connection pool, so ``timeout_seconds`` bounds each call).
    ``namespaces``: None for every namespace (one cluster-scoped list per query), else one list
    per namespace. ``label_selector`` narrows the pods (not events or nodes).
    ``service_account`` names the identity in permission errors ("invdash", "monitoring/invdash"
    or "system:serviceaccount:monitoring:invdash"); without it the API server's refusal names it.
    """

    name = "Kubernetes API"
    is_demo = False

    def __init__(
        self,
        core_v1: Any,
        namespaces: list[str] | None = None,
        label_selector: str | None = None,
        timeout_seconds: float = 5.0,
        service_account: str | None = None,
    ) -> None:
        self.core_v1 = core_v1
        self.namespaces = list(namespaces) if namespaces is not None else None
        self.label_selector = label_selector or None
        self.timeout_seconds = timeout_seconds
        self.service_account = service_account or None
        _stop_retries(core_v1)

    def _call(self, request: _Request, method: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        try:
            return method(*args, _request_timeout=self.timeout_seconds, **kw)
        except ApiException as error:
            raise _translate(error, request, self.service_account) from error
        except AttributeError as error:
            # kubernetes 36 turns its own body-less ApiException (a TLS failure) into
            # "'NoneType' object has no attribute 'decode'"; report the exception it lost.
            if isinstance(error.__context__, ApiException):
                lost = error.__context__
                raise _translate(lost, request, self.service_account) from lost
            raise

    def _list(
        self,
        resource: str,
        cluster_scoped: Callable[..., Any],
        namespaced: Callable[..., Any],
        **kw: Any,
    ) -> list[Any]:
        if self.namespaces is None:
            return list(self._call(_Request("list", resource), cluster_scoped, **kw).items)
        items: list[Any] = []
        for namespace in self.namespaces:
            request = _Request("list", resource, namespace)
            items.extend(self._call(request, namespaced, namespace, **kw).items)
        return items

    def _pods(self, **kw: Any) -> list[Any]:
        if self.label_selector:
            kw["label_selector"] = self.label_selector
        api = self.core_v1
        return self._list("pods", api.list_pod_for_all_namespaces, api.list_namespaced_pod, **kw)

    def _events(self, **kw: Any) -> list[Any]:
        api = self.core_v1
        return self._list(
            "events", api.list_event_for_all_namespaces, api.list_namespaced_event, **kw
        )

    def _nodes(self, **kw: Any) -> list[Any]:
        return list(self._call(_Request("list", "nodes"), self.core_v1.list_node, **kw).items)

    def pod_health(self) -> pd.DataFrame:
        """One row per pod, ordered by namespace and name (columns: ``POD_HEALTH_COLUMNS``).

        namespace, pod, workload, workload_kind ("Deployment", "StatefulSet", "DaemonSet", "Job",
        "ReplicaSet", another owner's kind, or "Pod" for a bare or static pod), node ("" while
        unscheduled), phase (str); status (kubectl's STATUS); ready_containers, total_containers
        (kubectl's READY, sidecar init containers included), restarts (kubectl's RESTARTS) (int);
        last_termination_reason (str, "" when no container has stopped); age_seconds (float,
        since creation); healthy (bool: Running with every container ready, or Completed).
        """
        now = dt.datetime.now(dt.UTC)
        rows = [_pod_row(pod, now) for pod in self._pods()]
        rows.sort(key=lambda row: (row["namespace"], row["pod"]))
        return contract_frame(rows, POD_HEALTH_COLUMNS)

    def events(self, since: dt.datetime) -> pd.DataFrame:
        """Events last seen at or after ``since`` (naive means UTC), newest first.

        Columns ``EVENT_COLUMNS``: timestamp (datetime64[ns, UTC]: lastTimestamp, else the
        series' lastObservedTime, eventTime, firstTimestamp, creationTimestamp); namespace; kind
        and name of the involved object; type ("Normal", "Warning"); reason; message (str);
        count (int, 1 when the event does not say).
        """
        since_utc = _utc(since)
        rows = []
        for event in self._events():
            timestamp = _event_time(event)
            if timestamp is not None and timestamp >= since_utc:
                rows.append(_event_row(event, timestamp))
        rows.sort(key=lambda row: row["timestamp"], reverse=True)
        return contract_frame(rows, EVENT_COLUMNS)

    def nodes(self) -> pd.DataFrame:
        """One row per node, by name (columns ``NODE_COLUMNS``): ready, memory_pressure,
        disk_pressure, pid_pressure (bool: the condition's status is "True"; a missing condition
        is False); cpu_allocatable_cores (float, cores); memory_allocatable_bytes (float, bytes);
        NaN when the node does not report the resource."""
        rows = sorted((_node_row(node) for node in self._nodes()), key=lambda row: row["node"])
        return contract_frame(rows, NODE_COLUMNS)

    def check_health(self) -> Health:
        """ok when the API server answers and lets invdash list pods, events and nodes."""
        details = {
            "host": str(getattr(self.core_v1.api_client.configuration, "host", "")),
            "namespaces": ",".join(self.namespaces) if self.namespaces is not None else "all",
        }
        if self.label_selector:
            details["label_selector"] = self.label_selector
        if self.service_account:
            details["service_account"] = self.service_account
        try:
            # limit=1: permission and reachability, not the data, are the question here.
            self._pods(limit=1)
            self._events(limit=1)
            self._nodes(limit=1)
        except KubernetesAccessError as error:
            return Health("error", str(error), details)
        except KubernetesApiError as error:
            if error.status is None:
                return Health("error", f"Kubernetes API unreachable: {error}", details)
            return Health("error", f"Kubernetes API failed: {error}", details)
        except Exception as error:
            return Health(
                "error", f"Kubernetes API unreachable: {describe_failure(error)}", details
            )
        scope = "all namespaces" if self.namespaces is None else details["namespaces"]
        return Health("ok", f"Kubernetes API answering: pods, events and nodes in {scope}", details)


# --- finding the cluster -------------------------------------------------------------------------


def in_cluster_configuration(
    token_path: str | Path = SERVICE_TOKEN_FILENAME,
    ca_path: str | Path = SERVICE_CERT_FILENAME,
    environ: Mapping[str, str] | None = None,
) -> Any:
    """A ``kubernetes.client.Configuration`` for the pod's service account.

    Reads KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT from ``environ`` (default
    ``os.environ``), the token at ``token_path`` (re-read every minute, as projected tokens
    rotate) and the cluster CA at ``ca_path``. Raises ``kubernetes.config.ConfigException``
    when any is missing.
    """
    configuration = k8s.Configuration()
    InClusterConfigLoader(
        token_filename=str(token_path),
        cert_filename=str(ca_path),
        environ=os.environ if environ is None else environ,
    ).load_and_set(configuration)
    configuration.retries = False
    return configuration


def _jwt_subject(token: str) -> str | None:
    parts = token.strip().split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return None
    subject = claims.get("sub") if isinstance(claims, dict) else None
    return subject if isinstance(subject, str) else None


def in_cluster_service_account(
    token_path: str | Path = SERVICE_TOKEN_FILENAME, environ: Mapping[str, str] | None = None
) -> str | None:
    """The service account invdash runs as: $INVDASH_KUBE_SERVICE_ACCOUNT, else the token's
    subject ("system:serviceaccount:<namespace>:<name>"), else None."""
    environ = os.environ if environ is None else environ
    if environ.get(SERVICE_ACCOUNT_ENV):
        return environ[SERVICE_ACCOUNT_ENV]
    try:
        token = Path(token_path).read_text()
    except OSError:
        return None
    subject = _jwt_subject(token)
    if subject and _SERVICE_ACCOUNT_USER.fullmatch(subject):
        return subject
    return None


def _kubeconfig_paths(environ: Mapping[str, str], home: Path) -> str | None:
    configured = environ.get("KUBECONFIG")
    if configured:
        paths: Iterable[str] = [p for p in configured.split(os.pathsep) if p]
        return configured if any(Path(p).expanduser().is_file() for p in paths) else None
    default = home / ".kube" / "config"
    return str(default) if default.is_file() else None


def api_client_from_environment(
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
    token_path: str | Path = SERVICE_TOKEN_FILENAME,
    ca_path: str | Path = SERVICE_CERT_FILENAME,
) -> Any | None:
    """A new ``kubernetes.client.ApiClient`` for the cluster the environment points at, or None.

    In a pod (KUBERNETES_SERVICE_HOST set): its service account (``token_path``, ``ca_path``,
    as Kubernetes mounts them). Else the kubeconfig named by
    KUBECONFIG (paths joined with os.pathsep), else ``<home>/.kube/config``, in its current
    context. A configuration that cannot be loaded is logged and skipped.
    """
    environ = os.environ if environ is None else environ
    home = Path.home() if home is None else home
    if environ.get("KUBERNETES_SERVICE_HOST"):
        try:
            configuration = in_cluster_configuration(token_path, ca_path, environ)
            return k8s.ApiClient(configuration)
        except ConfigException as error:
            log.warning("in-cluster Kubernetes configuration unusable: %s", error)
    kubeconfig = _kubeconfig_paths(environ, home)
    if kubeconfig is None:
        return None
    configuration = k8s.Configuration()
    configuration.retries = False
    try:
        return new_client_from_config(
            config_file=kubeconfig, client_configuration=configuration, persist_config=False
        )
    except (ConfigException, OSError, ValueError) as error:
        log.warning("kubeconfig %s unusable: %s", kubeconfig, error)
        return None


_client_lock = threading.Lock()
_client_loaded = False
_client: Any | None = None


def kubernetes_client_from_environment(timeout_seconds: float = 5.0) -> Any | None:
    """The process's one ``CoreV1Api`` (see ``api_client_from_environment``), or None: off.

    Made on the first call and returned by every later one. Loading reads local files only, so
    ``timeout_seconds`` bounds nothing here; the source given this client applies it per call.
    """
    global _client, _client_loaded
    with _client_lock:
        if not _client_loaded:
            api_client = api_client_from_environment()
            _client = k8s.CoreV1Api(api_client) if api_client is not None else None
            _client_loaded = True
        return _client
