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

import datetime as dt
import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast

import pandas as pd
import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from kubernetes.utils import parse_quantity

from queries.days import aware_utc, utc_or_none
from queries.health import Health, describe_failure
from queries.kube_config import SERVICE_ACCOUNT_USER
from queries.kubectl import kubectl_columns, last_termination_reason, owning_workload
from queries.telemetry import EVENT_COLUMNS, NODE_COLUMNS, POD_HEALTH_COLUMNS, contract_frame

log = logging.getLogger(__name__)

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


def _pod_row(pod: Any, now: dt.datetime) -> dict[str, Any]:
    columns = kubectl_columns(pod)
    workload, workload_kind = owning_workload(pod)
    created = utc_or_none(pod.metadata.creation_timestamp)
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
            return aware_utc(moment)
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


def quantity_value(text: str | None) -> float:
    """A Kubernetes resource quantity as a plain number ("3800m" -> 3.8, "1Ki" -> 1024.0), by
    the client's own parser; NaN when there is none. Raises ValueError for what is not one."""
    return float(parse_quantity(text)) if text else math.nan


def _node_row(node: Any) -> dict[str, Any]:
    status = node.status or k8s.V1NodeStatus()
    condition_status = {c.type: c.status for c in status.conditions or []}
    allocatable = status.allocatable or {}
    row: dict[str, Any] = {"node": node.metadata.name}
    for column, condition in _NODE_CONDITIONS.items():
        row[column] = condition_status.get(condition) == "True"
    cpu, memory = allocatable.get("cpu"), allocatable.get("memory")
    row["cpu_allocatable_cores"] = quantity_value(cpu)
    row["memory_allocatable_bytes"] = quantity_value(memory)
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
        match = SERVICE_ACCOUNT_USER.fullmatch(service_account)
        if match:
            return f'service account "{match["name"]}" in "{match["namespace"]}"'
        namespace, separator, name = service_account.rpartition("/")
        if separator and namespace and name:
            return f'service account "{name}" in "{namespace}"'
        return f'service account "{service_account}"'
    user = _STATUS_USER.search(status_message)
    if user is None:
        return "the configured credentials"
    match = SERVICE_ACCOUNT_USER.fullmatch(user["user"])
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


class ObjectList(Protocol):
    """A list call's answer (``V1PodList``, ``CoreV1EventList``, ``V1NodeList``)."""

    items: list[Any]  # kubernetes.client.models objects, read as kubectl reads them


class CoreV1Lists(Protocol):
    """What ``KubernetesSource`` calls of a ``kubernetes.client.CoreV1Api``."""

    api_client: Any

    def list_pod_for_all_namespaces(self, **kw: Any) -> ObjectList: ...

    def list_namespaced_pod(self, namespace: str, **kw: Any) -> ObjectList: ...

    def list_event_for_all_namespaces(self, **kw: Any) -> ObjectList: ...

    def list_namespaced_event(self, namespace: str, **kw: Any) -> ObjectList: ...

    def list_node(self, **kw: Any) -> ObjectList: ...


def _stop_retries(core_v1: CoreV1Lists) -> None:
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
        core_v1: CoreV1Lists,
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

    def _call(
        self, request: _Request, method: Callable[..., ObjectList], *args: Any, **kw: Any
    ) -> ObjectList:
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
        cluster_scoped: Callable[..., ObjectList],
        namespaced: Callable[..., ObjectList],
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
        since_utc = aware_utc(since)
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
