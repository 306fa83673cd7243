"""Prometheus as a MetricsSource: the HTTP seam (timeouts, typed failures), result parsing
and the source that runs the catalogue's queries (``queries.promql``).
"""

from __future__ import annotations

import datetime as dt
import http
import json
import math
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import requests
from prometheus_api_client import PrometheusConnect
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from queries import telemetry
from queries.health import Health, describe_failure
from queries.promql import (
    DEFAULT_RESTARTS_WINDOW,
    HEALTH_QUERY,
    PromQLCatalogue,
    promql_duration,
)


class PrometheusQueryError(Exception):
    """A query Prometheus did not answer; one line naming the query, the server and the cause."""

    def __init__(self, query_name: str, url: str, reason: str) -> None:
        self.query_name = query_name
        self.url = url
        self.reason = " ".join(reason.split())
        super().__init__(f'query "{query_name}" to {url} failed: {self.reason}')


_STRING_COLUMNS = frozenset(
    {"namespace", "pod", "container", "hpa", "service", "last_terminated_reason"}
)


# ---------------------------------------------------------------------------------------------
# Time


def _aware_utc(value: dt.datetime, what: str) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, not naive {value.isoformat()}")
    return value.astimezone(dt.UTC)


def _checked_range(start: dt.datetime, end: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    start, end = _aware_utc(start, "start"), _aware_utc(end, "end")
    if end < start:
        raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
    return start, end


def _aligned_start(start: dt.datetime, end: dt.datetime, step: dt.timedelta) -> dt.datetime:
    # Evaluate on multiples of the step so that refreshes hit the same instants (no jitter);
    # rounding up never adds a point.
    step_seconds = int(step.total_seconds())
    aligned = math.ceil(start.timestamp() / step_seconds) * step_seconds
    if aligned > end.timestamp():
        return end
    return dt.datetime.fromtimestamp(aligned, dt.UTC)


# ---------------------------------------------------------------------------------------------
# The connection


class _BearerTokenFile(requests.auth.AuthBase):
    """``Authorization: Bearer <token>``, the token read from a file on every request, so a
    rotated (projected service-account) token is picked up without a restart."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        try:
            token = self.path.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise OSError(
                f"cannot read bearer token file {self.path}: {error.strerror or error}"
            ) from error
        if not token:
            raise OSError(f"bearer token file {self.path} is empty")
        request.headers["Authorization"] = f"Bearer {token}"
        return request


class PrometheusHTTPError(Exception):
    """Prometheus answered, but not 200: the status and what it said (its API's ``error``, else
    the body's first line)."""

    def __init__(self, status: int, detail: str) -> None:
        self.status = status
        self.detail = detail
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        super().__init__(f"HTTP {status} {phrase}".rstrip() + f": {detail}")


def _answer_detail(response: requests.Response) -> str:
    text = response.text
    try:
        document = json.loads(text)
        if isinstance(document, dict) and document.get("error"):
            text = str(document["error"])
    except ValueError:
        pass
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = lines[0] if lines else "empty body"
    return first if len(first) <= 200 else first[:197] + "..."


def _raise_unless_ok(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
    """A response hook: a non-200 answer raised as PrometheusHTTPError, before
    prometheus-api-client folds it into an exception that is only text."""
    # Hooks run before requests follows a redirect: only the final answer is judged.
    if response.status_code != 200 and not response.is_redirect:
        raise PrometheusHTTPError(response.status_code, _answer_detail(response))
    return response


class PrometheusAPI:
    """The seam between invdash and prometheus-api-client: a PrometheusConnect whose every call
    gives up after ``timeout_seconds`` (to connect, and again to answer) and is not retried, so
    a dead server fails fast, and whose non-200 answers raise PrometheusHTTPError.

    What the library lacks and this adds (docs/architecture.md): a typed error for an HTTP
    status (it raises ``PrometheusApiClientException`` carrying only a message), and a way to
    read back the timeout it was given.
    """

    def __init__(
        self, url: str, timeout_seconds: float, bearer_token_file: str | Path | None = None
    ) -> None:
        if not math.isfinite(timeout_seconds) or timeout_seconds <= 0:
            raise ValueError(f"timeout_seconds must be a positive number, not {timeout_seconds}")
        self.url = url.rstrip("/")
        self.timeout_seconds = float(timeout_seconds)
        session = requests.Session()
        session.hooks["response"].append(_raise_unless_ok)
        auth = None if bearer_token_file is None else _BearerTokenFile(Path(bearer_token_file))
        self._session, self._auth = session, auth
        self.connection = PrometheusConnect(
            url=self.url,
            retry=Retry(total=0, raise_on_status=False),
            auth=auth,
            timeout=self.timeout_seconds,
            session=session,
        )

    def query(self, query: str, at: dt.datetime | None = None) -> object:
        """``/api/v1/query``'s result (a list of series, when Prometheus is Prometheus: the
        caller checks, ``PrometheusSource._call``)."""
        params = {} if at is None else {"time": f"{at.timestamp():.3f}"}
        return self.connection.custom_query(query, params=params, timeout=self.timeout_seconds)

    def query_range(self, query: str, start: dt.datetime, end: dt.datetime, step: str) -> object:
        """``/api/v1/query_range``'s result from ``start`` to ``end`` every ``step``."""
        return self.connection.custom_query_range(
            query, start_time=start, end_time=end, step=step, timeout=self.timeout_seconds
        )

    def alerts(self) -> object:
        """``/api/v1/alerts``' alerts: every active alert of the server's alerting rules, with
        its labels, annotations, state and activeAt (what the ``ALERTS`` series lacks)."""
        response = self._session.get(
            f"{self.url}/api/v1/alerts", auth=self._auth, timeout=self.timeout_seconds
        )
        answer = response.json()
        if not isinstance(answer, dict) or answer.get("status") != "success":
            raise TypeError(f"unexpected answer from /api/v1/alerts: {str(answer)[:80]}")
        return answer.get("data", {}).get("alerts")

    def close(self) -> None:
        self.connection.close()


def prometheus_connect(
    url: str, timeout_seconds: float, bearer_token_file: str | Path | None = None
) -> PrometheusAPI:
    """The PrometheusAPI on ``url`` (see there)."""
    return PrometheusAPI(url, timeout_seconds, bearer_token_file)


def _exception_chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        linked.extend(current.args)
        pending.extend(item for item in linked if isinstance(item, BaseException))


def failure_reason(error: BaseException, timeout_seconds: float | None = None) -> str:
    """Why a request to Prometheus failed, in a few words a person can act on."""
    chain = list(_exception_chain(error))
    if any(isinstance(item, ConnectionRefusedError) for item in chain):
        return "connection refused"
    if any(isinstance(item, TimeoutError | requests.Timeout | ReadTimeoutError) for item in chain):
        return f"no answer within {timeout_seconds:g} s" if timeout_seconds else "timed out"
    if any(isinstance(item, socket.gaierror) for item in chain):
        return "cannot resolve the host name"
    for item in chain:
        if isinstance(item, OSError) and "bearer token file" in str(item):
            return str(item)
    for item in chain:
        if isinstance(item, PrometheusHTTPError):
            return str(item)
    if isinstance(error, ValueError | KeyError | TypeError):
        return f"the answer is not a Prometheus API response ({describe_failure(error)})"
    return describe_failure(error)


# ---------------------------------------------------------------------------------------------
# Frames


def _typed_frame(columns: Mapping[str, Sequence[Any]], order: list[str]) -> pd.DataFrame:
    rows = len(next(iter(columns.values()))) if columns else 0
    data: dict[str, pd.Series[Any]] = {}
    for column in order:
        values = columns.get(column, [math.nan] * rows)
        if column == "timestamp":
            milliseconds = np.asarray(values, dtype="int64")
            data[column] = pd.Series(
                pd.to_datetime(milliseconds, unit="ms", utc=True), dtype="datetime64[ns, UTC]"
            )
        elif column in _STRING_COLUMNS:
            data[column] = pd.Series(list(values), dtype="str")
        else:
            data[column] = pd.Series(list(values), dtype="float64")
    return pd.DataFrame(data)


def _series_labels(series: Mapping[str, Any], labels: Sequence[str]) -> tuple[str, ...]:
    metric = series.get("metric", {})
    return tuple(str(metric.get(label, "")) for label in labels)


def _range_points(
    result: list[dict[str, Any]], labels: Sequence[str]
) -> dict[tuple[int, tuple[str, ...]], float]:
    points: dict[tuple[int, tuple[str, ...]], float] = {}
    for series in result:
        key = _series_labels(series, labels)
        for timestamp, value in series["values"]:
            points[(round(float(timestamp) * 1000), key)] = float(value)
    return points


def _instant_values(
    result: list[dict[str, Any]], labels: Sequence[str]
) -> dict[tuple[str, ...], float]:
    return {_series_labels(series, labels): float(series["value"][1]) for series in result}


def _range_frame(
    key_columns: Sequence[str],
    value_columns: Mapping[str, dict[tuple[int, tuple[str, ...]], float]],
    order: list[str],
) -> pd.DataFrame:
    """One row per (timestamp, key) found in any value column; NaN where a column lacks it."""
    keys = sorted(
        {key for points in value_columns.values() for key in points},
        key=lambda item: (item[1], item[0]),
    )
    columns: dict[str, list[Any]] = {"timestamp": [timestamp for timestamp, _ in keys]}
    for position, column in enumerate(key_columns):
        columns[column] = [labels[position] for _, labels in keys]
    for column, points in value_columns.items():
        columns[column] = [points.get(key, math.nan) for key in keys]
    return _typed_frame(columns, order)


def _active_at(alert: Mapping[str, Any]) -> pd.Timestamp:
    """When an alert of /api/v1/alerts became active; a server that omits it raises
    PrometheusQueryError's kind of failure (TypeError), never a bare KeyError."""
    try:
        return pd.Timestamp(alert["activeAt"]).tz_convert("UTC")
    except (KeyError, ValueError, TypeError) as error:
        raise TypeError(f"an alert without a readable activeAt: {str(alert)[:80]}") from error


def _share(used: pd.Series[float], of: pd.Series[float]) -> pd.Series[float]:
    return (used / of).where(of > 0)


# ---------------------------------------------------------------------------------------------
# The source


class PrometheusSource:
    """Usage, requests and limits, HPA replicas and service traffic from Prometheus.

    ``api`` is the seam to Prometheus (``prometheus_connect``: every call has a timeout);
    ``catalogue`` the PromQL templates (defaults: kube-prometheus names);
    ``services`` the services whose HTTP traffic ``service_traffic`` reports (None: every
    service found). Failed queries raise PrometheusQueryError; ``check_health`` never raises.
    """

    name = "Prometheus"
    is_demo = False

    def __init__(
        self,
        api: PrometheusAPI,
        catalogue: PromQLCatalogue | None = None,
        services: list[str] | None = None,
        *,
        max_points: int = telemetry.DEFAULT_MAX_POINTS,
        namespaces: list[str] | None = None,
    ) -> None:
        self._api = api
        self.catalogue = catalogue if catalogue is not None else PromQLCatalogue()
        self.services = None if services is None else list(services)
        self.max_points = max_points
        # INVDASH_KUBE_NAMESPACES: every pod and HPA query is held to these (None: all).
        self.namespaces = None if namespaces is None else list(namespaces)

    def _scoped(self, render: dict[str, Any]) -> dict[str, Any]:
        """``render`` with its namespace held to the configured ones: none asked means all of
        them; one outside them is refused (never widened to what it asks)."""
        if "namespace" not in render or self.namespaces is None:
            return render
        asked = render["namespace"]
        if not asked:
            return {**render, "namespace": self.namespaces}
        if asked not in self.namespaces:
            raise ValueError(
                f"namespace {asked!r} is outside INVDASH_KUBE_NAMESPACES "
                f"({', '.join(self.namespaces)})"
            )
        return render

    @property
    def url(self) -> str:
        return self._api.url

    def _call(self, query_name: str, request: Callable[[], object]) -> list[dict[str, Any]]:
        try:
            result = request()
            if not isinstance(result, list) or not all(isinstance(item, dict) for item in result):
                raise TypeError(f"expected a list of objects, got {str(result)[:80]}")
        except Exception as error:
            reason = failure_reason(error, self._api.timeout_seconds)
            raise PrometheusQueryError(query_name, self.url, reason) from error
        return result

    def _instant(self, name: str, at: dt.datetime | None, **render: Any) -> list[dict[str, Any]]:
        query = self.catalogue.render(name, **self._scoped(render))
        return self._call(name, lambda: self._api.query(query, at))

    def _range(
        self, name: str, start: dt.datetime, end: dt.datetime, **render: Any
    ) -> list[dict[str, Any]]:
        """Runs query ``name`` from start to end at the step that keeps within max_points; the
        rate window is at least the step, so no sample falls between two evaluations."""
        step = telemetry.choose_step(start, end, self.max_points)
        window = max(self.catalogue.rate_window, step)
        query = self.catalogue.render(name, window=window, **self._scoped(render))
        first = _aligned_start(start, end, step)
        step_text = promql_duration(step)
        return self._call(
            name,
            lambda: self._api.query_range(query, first, end, step_text),
        )

    def pod_usage(
        self, namespace: str | None, start: dt.datetime, end: dt.datetime
    ) -> pd.DataFrame:
        """One row per pod per step from ``start`` to ``end`` (timezone-aware; at most
        ``max_points`` steps) in ``namespace`` (None or "": every namespace).

        Columns POD_USAGE_COLUMNS: cpu_cores is the rate of CPU seconds, memory_bytes the
        working set, each summed over the pod's containers (pod cgroup and pause excluded)."""
        return self._ranges_by_object(
            (start, end),
            namespace,
            {"cpu_cores": "pod_cpu_cores", "memory_bytes": "pod_memory_bytes"},
            ("pod", "pod"),
            telemetry.POD_USAGE_COLUMNS,
        )

    def container_resources(
        self,
        namespace: str | None = None,
        *,
        at: dt.datetime | None = None,
        restarts_window: dt.timedelta = DEFAULT_RESTARTS_WINDOW,
    ) -> pd.DataFrame:
        """One row per running container (one with cAdvisor usage) at ``at`` (default: now).

        Columns CONTAINER_RESOURCE_COLUMNS. cpu_cores: rate of CPU seconds over the rate window;
        memory_bytes: working set; requests and limits from kube-state-metrics, NaN when unset;
        shares = usage / request or limit (NaN when unset); cpu_throttling_ratio = throttled
        CFS periods / periods over the rate window (NaN without a CPU limit); restarts_window:
        restarts over ``restarts_window`` (Prometheus' extrapolated increase, rounded to whole
        restarts); last_terminated_reason: e.g. "OOMKilled", "" when none.
        """
        at = None if at is None else _aware_utc(at, "at")
        labels = ("namespace", "pod", "container")
        values: dict[str, dict[tuple[str, ...], float]] = {}
        for column, query_name in (
            ("cpu_cores", "container_cpu_cores"),
            ("memory_bytes", "container_memory_bytes"),
            ("cpu_request_cores", "container_cpu_request_cores"),
            ("cpu_limit_cores", "container_cpu_limit_cores"),
            ("memory_request_bytes", "container_memory_request_bytes"),
            ("memory_limit_bytes", "container_memory_limit_bytes"),
            ("cpu_throttling_ratio", "container_cpu_throttling_ratio"),
            ("restarts_window", "container_restarts"),
        ):
            result = self._instant(
                query_name, at, namespace=namespace, restarts_window=restarts_window
            )
            values[column] = _instant_values(result, labels)
        reasons = self._last_terminated_reasons(at, namespace)
        keys = sorted(set(values["cpu_cores"]) | set(values["memory_bytes"]))
        columns: dict[str, list[Any]] = {
            column: [key[position] for key in keys] for position, column in enumerate(labels)
        }
        for column, by_key in values.items():
            columns[column] = [by_key.get(key, math.nan) for key in keys]
        columns["last_terminated_reason"] = [reasons.get(key, "") for key in keys]
        frame = _typed_frame(columns, telemetry.CONTAINER_RESOURCE_COLUMNS)
        frame["cpu_request_share"] = _share(frame["cpu_cores"], frame["cpu_request_cores"])
        frame["cpu_limit_share"] = _share(frame["cpu_cores"], frame["cpu_limit_cores"])
        frame["memory_request_share"] = _share(frame["memory_bytes"], frame["memory_request_bytes"])
        frame["memory_limit_share"] = _share(frame["memory_bytes"], frame["memory_limit_bytes"])
        frame["cpu_throttling_ratio"] = frame["cpu_throttling_ratio"].where(
            frame["cpu_limit_cores"].notna()
        )
        frame["restarts_window"] = frame["restarts_window"].round()
        return frame

    def unhealthy_pods_at(self, moment: dt.datetime) -> pd.DataFrame:
        """The pods unhealthy at ``moment`` (timezone-aware), from kube-state-metrics' history.

        Columns UNHEALTHY_POD_COLUMNS, sorted by namespace and pod. A pod counts when a container
        waits (its reason is the status), its phase is Pending, Failed or Unknown, it is not
        ready (and not Succeeded), or a container restarted in the RECENT_RESTARTS window.
        """
        moment = _aware_utc(moment, "moment")
        pod = ("namespace", "pod")
        statuses: dict[tuple[str, ...], str] = {}
        # Later assignments lose: the first cause in this order names the pod's status.
        for query_name, label in (
            ("pod_waiting_reason", "reason"),
            ("pod_bad_phase", "phase"),
            ("pod_not_ready", None),
        ):
            for series in self._instant(query_name, moment):
                status = str(series.get("metric", {}).get(label, "")) if label else "NotReady"
                statuses.setdefault(_series_labels(series, pod), status or "NotReady")
        labels = ("namespace", "pod", "container")
        counts = _instant_values(
            self._instant("container_restarts", moment, restarts_window=telemetry.RECENT_RESTARTS),
            labels,
        )
        last_reasons = self._last_terminated_reasons(moment, None)
        restarts: dict[tuple[str, ...], int] = {}
        reasons: dict[tuple[str, ...], str] = {}
        for (namespace, name, container), value in sorted(counts.items()):
            key: tuple[str, ...] = (namespace, name)
            restarts[key] = restarts.get(key, 0) + (0 if math.isnan(value) else round(value))
            if last_reasons.get((namespace, name, container)):
                reasons.setdefault(key, last_reasons[(namespace, name, container)])
        for restarted, count in restarts.items():
            if count > 0:
                statuses.setdefault(restarted, "Restarted")
        rows = [
            (*key, status, restarts.get(key, 0), reasons.get(key, ""))
            for key, status in sorted(statuses.items())
        ]
        return telemetry.contract_frame(rows, telemetry.UNHEALTHY_POD_COLUMNS)

    def _last_terminated_reasons(
        self, at: dt.datetime | None, namespace: str | None
    ) -> dict[tuple[str, ...], str]:
        """(namespace, pod, container) -> its last termination reason, e.g. "OOMKilled"."""
        reasons: dict[tuple[str, ...], str] = {}
        for series in self._instant("container_last_terminated_reason", at, namespace=namespace):
            key = _series_labels(series, ("namespace", "pod", "container"))
            reason = str(series.get("metric", {}).get("reason", ""))
            reasons[key] = min(reasons.get(key, reason), reason)  # one, the same every time
        return reasons

    def hpa_replicas(
        self, namespace: str | None, start: dt.datetime, end: dt.datetime
    ) -> pd.DataFrame:
        """One row per HorizontalPodAutoscaler per step: current and desired replicas and its
        spec's minimum and maximum. Columns HPA_COLUMNS; a count missing at a step is NaN."""
        return self._ranges_by_object(
            (start, end),
            namespace,
            {
                "current_replicas": "hpa_current_replicas",
                "desired_replicas": "hpa_desired_replicas",
                "min_replicas": "hpa_min_replicas",
                "max_replicas": "hpa_max_replicas",
            },
            ("horizontalpodautoscaler", "hpa"),
            telemetry.HPA_COLUMNS,
        )

    def _ranges_by_object(
        self,
        window: tuple[dt.datetime, dt.datetime],
        namespace: str | None,
        queries: dict[str, str],
        label_and_column: tuple[str, str],
        columns: list[str],
    ) -> pd.DataFrame:
        """Named range ``queries`` (``{column: catalogue name}``) over ``window`` in
        ``namespace``, one row per namespaced object (its series' label, and its column in
        ``columns``) per step."""
        start, end = _checked_range(*window)
        label, column = label_and_column
        points = {
            name: _range_points(
                self._range(query, start, end, namespace=namespace), ("namespace", label)
            )
            for name, query in queries.items()
        }
        return _range_frame(("namespace", column), points, columns)

    def service_traffic(self, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
        """One row per configured service per step with requests. Columns SERVICE_TRAFFIC_COLUMNS:
        request_rate and error_rate (5xx) in requests/s, error_share = error_rate / request_rate
        (NaN without requests), p95_latency_seconds by histogram_quantile over the buckets'
        rates (NaN without a histogram). A service without 5xx series has error_rate 0."""
        start, end = _checked_range(start, end)
        if self.services is not None and not self.services:
            return _typed_frame({}, telemetry.SERVICE_TRAFFIC_COLUMNS)
        labels = (self.catalogue.http_service_label,)
        points = {
            column: _range_points(
                self._range(query_name, start, end, services=self.services), labels
            )
            for column, query_name in (
                ("request_rate", "service_request_rate"),
                ("error_rate", "service_error_rate"),
                ("p95_latency_seconds", "service_p95_latency_seconds"),
            )
        }
        frame = _range_frame(("service",), points, telemetry.SERVICE_TRAFFIC_COLUMNS)
        frame = frame.loc[frame["request_rate"].notna()].reset_index(drop=True)
        frame["error_rate"] = frame["error_rate"].fillna(0.0)
        frame["error_share"] = _share(frame["error_rate"], frame["request_rate"])
        return frame

    def service_request_counts(
        self, service: str, window: dt.timedelta, at: dt.datetime
    ) -> telemetry.RequestCounts:
        """``service``'s requests and 5xx answers in the ``window`` before ``at`` (increase()
        of the request counter: counter resets are taken care of, and a window longer than
        the data counts what there is). 0 errors when no 5xx series exists."""
        at = _aware_utc(at, "at")
        if window <= dt.timedelta(0):
            raise ValueError(f"window must be positive, not {window}")
        counts = [
            _instant_values(
                self._instant(name, at, services=[service], window=window),
                (self.catalogue.http_service_label,),
            ).get((service,), 0.0)
            for name in ("service_requests", "service_errors")
        ]
        return telemetry.RequestCounts(*counts)

    def firing_alerts(self) -> pd.DataFrame:
        """Every alert Prometheus' alerting rules fire now (pending ones are not yet alerts),
        but those of severity "none" (kube-prometheus' always-firing Watchdog, which says the
        pipeline works, not that anything is wrong) and those labelled with a namespace outside
        INVDASH_KUBE_NAMESPACES. Columns ALERT_COLUMNS, most severe first."""
        answer = self._call("alerts", self._api.alerts)
        rows = []
        for alert in answer:
            labels = {str(k): str(v) for k, v in (alert.get("labels") or {}).items()}
            outside = self.namespaces is not None and labels.get("namespace") not in (
                None,
                *self.namespaces,
            )
            if alert.get("state") != "firing" or labels.get("severity") == "none" or outside:
                continue
            annotations = alert.get("annotations") or {}
            rest = ", ".join(
                f"{name}={value}"
                for name, value in sorted(labels.items())
                if name not in ("alertname", "severity", "alertstate")
            )
            rows.append(
                (
                    labels.get("alertname", ""),
                    labels.get("severity", ""),
                    str(annotations.get("summary", "")),
                    _active_at(alert),
                    rest,
                )
            )
        return telemetry.alert_frame(rows)

    def check_health(self) -> Health:
        """Status "ok" when Prometheus answers a query, else "error" naming the URL and the reason."""
        details = {"url": self.url}
        try:
            result = self._call("health", lambda: self._api.query(HEALTH_QUERY))
            if not result or float(result[0]["value"][1]) != 1.0:
                return Health(
                    "error",
                    f"Prometheus at {self.url}: unexpected answer to {HEALTH_QUERY}",
                    details,
                )
        except PrometheusQueryError as error:
            return Health("error", f"Prometheus at {self.url}: {error.reason}", details)
        except Exception as error:
            return Health("error", f"Prometheus at {self.url}: {describe_failure(error)}", details)
        return Health("ok", f"Prometheus at {self.url} answers queries", details)
