"""Prometheus as a MetricsSource: a catalogue of named PromQL templates, and the source that runs them.

The templates use kube-prometheus metric names: cAdvisor (``container_*``) for usage and CPU
throttling, kube-state-metrics (``kube_*``) for requests, limits, restarts, termination reasons
and HorizontalPodAutoscalers, and an HTTP request counter and latency histogram for services.

A template names its parameters as ``$name`` (or ``${name}``; ``$$`` is a literal ``$``):

- ``$cadvisor_selector``, ``$kube_state_metrics_selector``, ``$http_selector``: zero or more
  comma-separated label matchers (the configured selector, plus the namespace or service filter).
  Place them last inside the braces: ``metric{resource="cpu", $kube_state_metrics_selector}``
  (PromQL accepts the trailing comma that an empty selector leaves).
- ``$window`` (rate window), ``$restarts_window``: PromQL durations such as ``5m``.
- ``$http_requests_metric``, ``$http_duration_bucket_metric``, ``$status_label``,
  ``$service_label``: the configured HTTP metric and label names.

An override file (TOML) replaces templates by name and sets selectors and HTTP names::

    rate_window = "5m"

    [selectors]
    cadvisor = 'job="kubelet", metrics_path="/metrics/cadvisor"'   # kubernetes-mixin: job="cadvisor"
    container = 'container!="", container!="POD", image!=""'
    kube_state_metrics = 'job="kube-state-metrics"'
    http = 'job="shop"'

    [http]
    requests_metric = "http_requests_total"
    duration_bucket_metric = "http_request_duration_seconds_bucket"
    status_label = "code"
    service_label = "service"

    [queries]
    pod_memory_bytes = 'sum by (namespace, pod) (container_memory_rss{$cadvisor_selector})'

An override must keep the result labels of the template it replaces (``by (namespace, pod)``...).
Values that come from people (namespaces, service names) never reach a query unescaped: they go
through ``promql_string``.
"""

from __future__ import annotations

import ast
import datetime as dt
import http
import json
import math
import re
import socket
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import requests
from prometheus_api_client import PrometheusConnect
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from queries.health import Health, describe_failure
from queries.telemetry import (
    CONTAINER_RESOURCE_COLUMNS,
    DEFAULT_MAX_POINTS,
    HPA_COLUMNS,
    POD_USAGE_COLUMNS,
    RECENT_RESTARTS,
    SERVICE_TRAFFIC_COLUMNS,
    UNHEALTHY_POD_COLUMNS,
    choose_step,
    contract_frame,
)

DEFAULT_CONTAINER_SELECTOR = 'container!="", container!="POD", image!=""'
DEFAULT_RATE_WINDOW = dt.timedelta(minutes=5)
DEFAULT_RESTARTS_WINDOW = dt.timedelta(hours=1)

_BY_CONTAINER = "namespace, pod, container"

DEFAULT_QUERIES: Mapping[str, str] = MappingProxyType(
    {
        "pod_cpu_cores": (
            "sum by (namespace, pod) "
            "(rate(container_cpu_usage_seconds_total{$cadvisor_selector}[$window]))"
        ),
        "pod_memory_bytes": (
            "sum by (namespace, pod) (container_memory_working_set_bytes{$cadvisor_selector})"
        ),
        "container_cpu_cores": (
            f"sum by ({_BY_CONTAINER}) "
            "(rate(container_cpu_usage_seconds_total{$cadvisor_selector}[$window]))"
        ),
        "container_memory_bytes": (
            f"sum by ({_BY_CONTAINER}) (container_memory_working_set_bytes{{$cadvisor_selector}})"
        ),
        "container_cpu_request_cores": (
            f"max by ({_BY_CONTAINER}) "
            '(kube_pod_container_resource_requests{resource="cpu", $kube_state_metrics_selector})'
        ),
        "container_cpu_limit_cores": (
            f"max by ({_BY_CONTAINER}) "
            '(kube_pod_container_resource_limits{resource="cpu", $kube_state_metrics_selector})'
        ),
        "container_memory_request_bytes": (
            f"max by ({_BY_CONTAINER}) "
            '(kube_pod_container_resource_requests{resource="memory", $kube_state_metrics_selector})'
        ),
        "container_memory_limit_bytes": (
            f"max by ({_BY_CONTAINER}) "
            '(kube_pod_container_resource_limits{resource="memory", $kube_state_metrics_selector})'
        ),
        "container_cpu_throttling_ratio": (
            f"sum by ({_BY_CONTAINER}) "
            "(increase(container_cpu_cfs_throttled_periods_total{$cadvisor_selector}[$window]))"
            f" / sum by ({_BY_CONTAINER}) "
            "(increase(container_cpu_cfs_periods_total{$cadvisor_selector}[$window]))"
        ),
        "container_restarts": (
            f"max by ({_BY_CONTAINER}) (increase("
            "kube_pod_container_status_restarts_total{$kube_state_metrics_selector}"
            "[$restarts_window]))"
        ),
        # Older kube-state-metrics export one series per reason with 0 or 1: keep the 1.
        "container_last_terminated_reason": (
            f"max by ({_BY_CONTAINER}, reason) "
            "(kube_pod_container_status_last_terminated_reason{$kube_state_metrics_selector} == 1)"
        ),
        # Pod-health history from kube-state-metrics, for "which pods were unhealthy then".
        "pod_waiting_reason": (
            "max by (namespace, pod, reason) "
            "(kube_pod_container_status_waiting_reason{$kube_state_metrics_selector} == 1)"
        ),
        "pod_bad_phase": (
            "max by (namespace, pod, phase) (kube_pod_status_phase"
            '{phase=~"Pending|Failed|Unknown", $kube_state_metrics_selector} == 1)'
        ),
        # A finished Job pod is not ready and not unhealthy either.
        "pod_not_ready": (
            "max by (namespace, pod) (kube_pod_status_ready"
            '{condition=~"false|unknown", $kube_state_metrics_selector} == 1) '
            "unless on (namespace, pod) (kube_pod_status_phase"
            '{phase="Succeeded", $kube_state_metrics_selector} == 1)'
        ),
        "hpa_current_replicas": (
            "max by (namespace, horizontalpodautoscaler) "
            "(kube_horizontalpodautoscaler_status_current_replicas{$kube_state_metrics_selector})"
        ),
        "hpa_desired_replicas": (
            "max by (namespace, horizontalpodautoscaler) "
            "(kube_horizontalpodautoscaler_status_desired_replicas{$kube_state_metrics_selector})"
        ),
        "service_request_rate": (
            "sum by ($service_label) (rate($http_requests_metric{$http_selector}[$window]))"
        ),
        "service_error_rate": (
            "sum by ($service_label) "
            '(rate($http_requests_metric{$status_label=~"5..", $http_selector}[$window]))'
        ),
        "service_p95_latency_seconds": (
            "histogram_quantile(0.95, sum by (le, $service_label) "
            "(rate($http_duration_bucket_metric{$http_selector}[$window])))"
        ),
    }
)

PLACEHOLDERS = frozenset(
    {
        "cadvisor_selector", "kube_state_metrics_selector", "http_selector", "window",
        "restarts_window", "http_requests_metric", "http_duration_bucket_metric", "status_label",
        "service_label",
    }
)  # fmt: skip

# The query check_health runs: cheap, and it exercises the same API, auth and engine as the panels.
HEALTH_QUERY = "vector(1)"


_PLACEHOLDER = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_]\w*)\}|(?P<bare>[A-Za-z_]\w*)|(?P<dollar>\$))"
)
_LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_METRIC_NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_DURATION = re.compile(r"(?P<number>[0-9]+)(?P<unit>ms|s|m|h|d|w)")
_DURATION_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000,
                      "w": 604_800_000}  # fmt: skip
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = {")": "(", "]": "[", "}": "{"}

_STRING_COLUMNS = frozenset(
    {"namespace", "pod", "container", "hpa", "service", "last_terminated_reason"}
)


class PromQLConfigError(ValueError):
    """A PromQL catalogue setting cannot be used; the message names the query or setting."""


class PrometheusQueryError(Exception):
    """A query Prometheus did not answer; one line naming the query, the server and the cause."""

    def __init__(self, query_name: str, url: str, reason: str) -> None:
        self.query_name = query_name
        self.url = url
        self.reason = " ".join(reason.split())
        super().__init__(f'query "{query_name}" to {url} failed: {self.reason}')


# ---------------------------------------------------------------------------------------------
# PromQL text


def promql_string(value: str) -> str:
    """``value`` as a PromQL double-quoted string literal that matches exactly ``value``.

    Backslash, double quote and control characters are escaped, so no value can end the
    literal early and add PromQL of its own.
    """
    out = ['"']
    for char in value:
        if char == "\\":
            out.append("\\\\")
        elif char == '"':
            out.append('\\"')
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def promql_duration(duration: dt.timedelta) -> str:
    """A PromQL duration such as ``5m`` or ``90s``, in the largest unit that divides it."""
    milliseconds = round(duration.total_seconds() * 1000)
    if milliseconds <= 0:
        raise ValueError(f"a PromQL duration must be positive, not {duration}")
    for unit in ("d", "h", "m", "s"):
        size = _DURATION_UNITS_MS[unit]
        if milliseconds % size == 0:
            return f"{milliseconds // size}{unit}"
    return f"{milliseconds}ms"


def parse_promql_duration(text: str) -> dt.timedelta:
    """``5m``, ``1h30m``, ``90s`` as a timedelta; ValueError for anything else."""
    position, milliseconds = 0, 0
    text = text.strip()
    while position < len(text):
        match = _DURATION.match(text, position)
        if match is None:
            raise ValueError(f"{text!r} is not a PromQL duration such as 5m or 1h")
        milliseconds += int(match["number"]) * _DURATION_UNITS_MS[match["unit"]]
        position = match.end()
    if milliseconds <= 0:
        raise ValueError(f"{text!r} is not a positive PromQL duration")
    return dt.timedelta(milliseconds=milliseconds)


def _position(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"line {line}, column {column}" if "\n" in text else f"column {column}"


def promql_structure_problem(text: str) -> str | None:
    """The first structural fault in PromQL text, or None.

    Not a parser: checks that (), [] and {} balance and nest, that strings ("...", '...',
    `...`) end, and that there is something besides comments. Prometheus reports the rest.
    """
    stack: list[tuple[str, int]] = []
    index, length, meaningful = 0, len(text), False
    while index < length:
        char = text[index]
        if char == "#":
            newline = text.find("\n", index)
            index = length if newline < 0 else newline + 1
            continue
        if char in "\"'`":
            start = index
            index += 1
            while index < length and text[index] != char:
                if char != "`" and text[index] == "\n":
                    break
                index += 2 if char != "`" and text[index] == "\\" else 1
            if index >= length or text[index] != char:
                return f"unterminated string starting at {_position(text, start)}"
            meaningful = True
        elif char in _OPENERS:
            stack.append((char, index))
            meaningful = True
        elif char in _CLOSERS:
            if not stack:
                return f'unbalanced "{char}" at {_position(text, index)}'
            opener, opened_at = stack.pop()
            if _OPENERS[opener] != char:
                return (
                    f'"{char}" at {_position(text, index)} does not close '
                    f'"{opener}" at {_position(text, opened_at)}'
                )
        elif not char.isspace():
            meaningful = True
        index += 1
    if stack:
        opener, opened_at = stack[-1]
        return f'unbalanced "{opener}" at {_position(text, opened_at)}'
    if not meaningful:
        return "empty query"
    return None


def _placeholder_problem(template: str) -> str | None:
    for match in _PLACEHOLDER.finditer(template):
        name = match["braced"] or match["bare"]
        if name is not None and name not in PLACEHOLDERS:
            known = ", ".join(f"${known}" for known in sorted(PLACEHOLDERS))
            return f"unknown placeholder ${name} at {_position(template, match.start())} (known: {known})"
    return None


def _join_matchers(*parts: str) -> str:
    cleaned = (part.strip().strip(",").strip() for part in parts)
    return ", ".join(part for part in cleaned if part)


def _namespace_matcher(namespace: str | Sequence[str] | None) -> str:
    if not namespace:
        return ""
    if isinstance(namespace, str):
        return f"namespace={promql_string(namespace)}"
    # PromQL regexes are anchored at both ends: this matches exactly one of the names.
    pattern = "|".join(re.escape(name) for name in namespace)
    return f"namespace=~{promql_string(pattern)}"


# ---------------------------------------------------------------------------------------------
# The catalogue


@dataclass(frozen=True)
class PromQLCatalogue:
    """Named PromQL templates and the selectors and names they are filled with.

    ``cadvisor_selector`` is empty by default (it matches recordings without a job label); on
    kube-prometheus set ``job="kubelet", metrics_path="/metrics/cadvisor"``, on the
    kubernetes-mixin defaults ``job="cadvisor"``. ``container_selector`` drops the pod cgroup
    (``container=""``) and pause (``POD``, or no image) series that would double the sums.
    Invalid templates or settings raise PromQLConfigError naming the query or setting.
    """

    queries: Mapping[str, str] = field(default_factory=dict, hash=False)
    cadvisor_selector: str = ""
    container_selector: str = DEFAULT_CONTAINER_SELECTOR
    kube_state_metrics_selector: str = ""
    http_selector: str = ""
    http_requests_metric: str = "http_requests_total"
    http_duration_bucket_metric: str = "http_request_duration_seconds_bucket"
    http_status_label: str = "code"
    http_service_label: str = "service"
    rate_window: dt.timedelta = DEFAULT_RATE_WINDOW
    origin: str = field(default="the PromQL catalogue", compare=False, repr=False)

    def __post_init__(self) -> None:
        where = f" in {self.origin}"
        merged = {**DEFAULT_QUERIES, **self.queries}
        for name, template in self.queries.items():
            if name not in DEFAULT_QUERIES:
                known = ", ".join(sorted(DEFAULT_QUERIES))
                raise PromQLConfigError(f'unknown query "{name}"{where} (known: {known})')
            if not isinstance(template, str):
                raise PromQLConfigError(f'query "{name}"{where}: must be a string')
            problem = _placeholder_problem(template) or promql_structure_problem(template)
            if problem:
                raise PromQLConfigError(f'query "{name}"{where}: {problem}')
        object.__setattr__(self, "queries", MappingProxyType(merged))
        for setting, selector in (
            ("cadvisor", self.cadvisor_selector),
            ("container", self.container_selector),
            ("kube_state_metrics", self.kube_state_metrics_selector),
            ("http", self.http_selector),
        ):
            problem = promql_structure_problem(selector) if selector.strip() else None
            if problem:
                raise PromQLConfigError(f'selector "{setting}"{where}: {problem}')
        for setting, value, pattern, kind in (
            ("requests_metric", self.http_requests_metric, _METRIC_NAME, "metric name"),
            ("duration_bucket_metric", self.http_duration_bucket_metric, _METRIC_NAME,
             "metric name"),
            ("status_label", self.http_status_label, _LABEL_NAME, "label name"),
            ("service_label", self.http_service_label, _LABEL_NAME, "label name"),
        ):  # fmt: skip
            if not pattern.fullmatch(value):
                raise PromQLConfigError(
                    f'http setting "{setting}"{where}: {value!r} is not a {kind}'
                )
        if self.rate_window <= dt.timedelta(0):
            raise PromQLConfigError(f'"rate_window"{where}: must be positive')

    @classmethod
    def from_file(cls, path: str | Path) -> PromQLCatalogue:
        """The defaults with a TOML file's ``[queries]``, ``[selectors]`` and ``[http]`` applied."""
        path = Path(path)
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise PromQLConfigError(f"{path}: cannot read: {error.strerror or error}") from error
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise PromQLConfigError(f"{path}: not valid TOML: {error}") from error
        return cls.from_mapping(document, origin=str(path))

    @classmethod
    def from_mapping(cls, document: Mapping[str, Any], origin: str) -> PromQLCatalogue:
        """As ``from_file``, from an already parsed document; ``origin`` names it in errors."""
        tables: dict[str, dict[str, str]] = {}
        for key, value in document.items():
            if key == "rate_window":
                continue
            if key not in ("queries", "selectors", "http"):
                raise PromQLConfigError(
                    f"{origin}: unknown key {key!r} (expected [queries], [selectors], [http] "
                    "or rate_window)"
                )
            if not isinstance(value, dict):
                raise PromQLConfigError(f"{origin}: {key} must be a table ([{key}])")
            for name, text in value.items():
                if not isinstance(text, str):
                    raise PromQLConfigError(f'{key} "{name}" in {origin}: must be a string')
            tables[key] = value
        settings: dict[str, Any] = {"queries": tables.get("queries", {}), "origin": origin}
        for table, names in (
            ("selectors", {"cadvisor": "cadvisor_selector", "container": "container_selector",
                           "kube_state_metrics": "kube_state_metrics_selector",
                           "http": "http_selector"}),
            ("http", {"requests_metric": "http_requests_metric",
                      "duration_bucket_metric": "http_duration_bucket_metric",
                      "status_label": "http_status_label", "service_label": "http_service_label"}),
        ):  # fmt: skip
            for name, text in tables.get(table, {}).items():
                if name not in names:
                    known = ", ".join(sorted(names))
                    raise PromQLConfigError(
                        f'unknown {table} setting "{name}" in {origin} (known: {known})'
                    )
                settings[names[name]] = text
        if "rate_window" in document:
            raw = document["rate_window"]
            try:
                settings["rate_window"] = parse_promql_duration(str(raw))
            except ValueError as error:
                raise PromQLConfigError(f'"rate_window" in {origin}: {error}') from error
        return cls(**settings)

    def render(
        self,
        name: str,
        *,
        namespace: str | Sequence[str] | None = None,
        services: Sequence[str] | None = None,
        window: dt.timedelta | None = None,
        restarts_window: dt.timedelta = DEFAULT_RESTARTS_WINDOW,
    ) -> str:
        """The PromQL for query ``name``. ``namespace`` None or "" means every namespace, a
        list any of those; ``services`` None means every service. Both are escaped, never
        pasted."""
        namespace_matcher = _namespace_matcher(namespace)
        service_matcher = ""
        if services is not None:
            pattern = "|".join(re.escape(service) for service in services)
            service_matcher = f"{self.http_service_label}=~{promql_string(pattern)}"
        values = {
            "cadvisor_selector": _join_matchers(
                self.cadvisor_selector, self.container_selector, namespace_matcher
            ),
            "kube_state_metrics_selector": _join_matchers(
                self.kube_state_metrics_selector, namespace_matcher
            ),
            "http_selector": _join_matchers(self.http_selector, service_matcher),
            "window": promql_duration(window or self.rate_window),
            "restarts_window": promql_duration(restarts_window),
            "http_requests_metric": self.http_requests_metric,
            "http_duration_bucket_metric": self.http_duration_bucket_metric,
            "status_label": self.http_status_label,
            "service_label": self.http_service_label,
        }

        def substitute(match: re.Match[str]) -> str:
            placeholder = match["braced"] or match["bare"]
            return "$" if placeholder is None else values[placeholder]

        return _PLACEHOLDER.sub(substitute, self.queries[name])


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


def prometheus_connect(
    url: str, timeout_seconds: float, bearer_token_file: str | Path | None = None
) -> PrometheusConnect:
    """A PrometheusConnect on ``url`` whose every request gives up after ``timeout_seconds``
    (to connect, and again to answer) and is not retried, so a dead server fails fast."""
    if not math.isfinite(timeout_seconds) or timeout_seconds <= 0:
        raise ValueError(f"timeout_seconds must be a positive number, not {timeout_seconds}")
    auth = None if bearer_token_file is None else _BearerTokenFile(Path(bearer_token_file))
    return PrometheusConnect(
        url=url.rstrip("/"),
        retry=Retry(total=0, raise_on_status=False),
        auth=auth,
        timeout=timeout_seconds,
    )


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


_HTTP_STATUS = re.compile(r"HTTP Status Code (?P<code>\d{3}) \((?P<body>.*)\)\s*$", re.DOTALL)


def _http_failure(message: str) -> str | None:
    """prometheus-api-client's 'HTTP Status Code 503 (b'...')' as 'HTTP 503 Service
    Unavailable: <Prometheus' error, or the body's first line>'."""
    match = _HTTP_STATUS.search(message)
    if match is None:
        return None
    code = int(match["code"])
    try:
        phrase = http.HTTPStatus(code).phrase
    except ValueError:
        phrase = ""
    body_text = match["body"]
    try:
        literal = ast.literal_eval(body_text)
        body_text = (
            literal.decode("utf-8", "replace") if isinstance(literal, bytes) else str(literal)
        )
    except (ValueError, SyntaxError):
        pass
    detail = body_text
    try:
        document = json.loads(body_text)
        if isinstance(document, dict) and document.get("error"):
            detail = str(document["error"])
    except ValueError:
        pass
    lines = [line.strip() for line in detail.splitlines() if line.strip()]
    first = lines[0] if lines else "empty body"
    if len(first) > 200:
        first = first[:197] + "..."
    status = f"HTTP {code} {phrase}".rstrip()
    return f"{status}: {first}"


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
    described = _http_failure(str(error))
    if described:
        return described
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


def _share(used: pd.Series[float], of: pd.Series[float]) -> pd.Series[float]:
    return (used / of).where(of > 0)


# ---------------------------------------------------------------------------------------------
# The source


class PrometheusSource:
    """Usage, requests and limits, HPA replicas and service traffic from Prometheus.

    ``conn`` is a PrometheusConnect (build it with ``prometheus_connect`` so every call has a
    timeout); ``catalogue`` the PromQL templates (defaults: kube-prometheus names);
    ``services`` the services whose HTTP traffic ``service_traffic`` reports (None: every
    service found). Failed queries raise PrometheusQueryError; ``check_health`` never raises.
    """

    name = "Prometheus"
    is_demo = False

    def __init__(
        self,
        conn: PrometheusConnect,
        catalogue: PromQLCatalogue | None = None,
        services: list[str] | None = None,
        *,
        max_points: int = DEFAULT_MAX_POINTS,
        namespaces: list[str] | None = None,
    ) -> None:
        self._conn = conn
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
        return str(self._conn.url)

    def _timeout_seconds(self) -> float | None:
        timeout = getattr(self._conn, "_timeout", None)
        return float(timeout) if isinstance(timeout, int | float) else None

    def _call(self, query_name: str, request: Callable[[], Any]) -> list[dict[str, Any]]:
        try:
            result = request()
            if not isinstance(result, list) or not all(isinstance(item, dict) for item in result):
                raise TypeError(f"expected a list of series, got {str(result)[:80]}")
        except Exception as error:
            reason = failure_reason(error, self._timeout_seconds())
            raise PrometheusQueryError(query_name, self.url, reason) from error
        return result

    def _instant(self, name: str, at: dt.datetime | None, **render: Any) -> list[dict[str, Any]]:
        query = self.catalogue.render(name, **self._scoped(render))
        params = {} if at is None else {"time": f"{at.timestamp():.3f}"}
        return self._call(name, lambda: self._conn.custom_query(query, params=params))

    def _range(
        self, name: str, start: dt.datetime, end: dt.datetime, **render: Any
    ) -> list[dict[str, Any]]:
        """Runs query ``name`` from start to end at the step that keeps within max_points; the
        rate window is at least the step, so no sample falls between two evaluations."""
        step = choose_step(start, end, self.max_points)
        window = max(self.catalogue.rate_window, step)
        query = self.catalogue.render(name, window=window, **self._scoped(render))
        first = _aligned_start(start, end, step)
        step_text = promql_duration(step)
        return self._call(
            name,
            lambda: self._conn.custom_query_range(
                query, start_time=first, end_time=end, step=step_text
            ),
        )

    def pod_usage(
        self, namespace: str | None, start: dt.datetime, end: dt.datetime
    ) -> pd.DataFrame:
        """One row per pod per step from ``start`` to ``end`` (timezone-aware; at most
        ``max_points`` steps) in ``namespace`` (None or "": every namespace).

        Columns POD_USAGE_COLUMNS: cpu_cores is the rate of CPU seconds, memory_bytes the
        working set, each summed over the pod's containers (pod cgroup and pause excluded)."""
        start, end = _checked_range(start, end)
        labels = ("namespace", "pod")
        cpu = self._range("pod_cpu_cores", start, end, namespace=namespace)
        memory = self._range("pod_memory_bytes", start, end, namespace=namespace)
        return _range_frame(
            ("namespace", "pod"),
            {
                "cpu_cores": _range_points(cpu, labels),
                "memory_bytes": _range_points(memory, labels),
            },
            POD_USAGE_COLUMNS,
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
        frame = _typed_frame(columns, CONTAINER_RESOURCE_COLUMNS)
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
            self._instant("container_restarts", moment, restarts_window=RECENT_RESTARTS), labels
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
        return contract_frame(rows, UNHEALTHY_POD_COLUMNS)

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
        """One row per HorizontalPodAutoscaler per step: current and desired replicas.
        Columns HPA_COLUMNS; a count missing at a step is NaN."""
        start, end = _checked_range(start, end)
        labels = ("namespace", "horizontalpodautoscaler")
        current = self._range("hpa_current_replicas", start, end, namespace=namespace)
        desired = self._range("hpa_desired_replicas", start, end, namespace=namespace)
        return _range_frame(
            ("namespace", "hpa"),
            {
                "current_replicas": _range_points(current, labels),
                "desired_replicas": _range_points(desired, labels),
            },
            HPA_COLUMNS,
        )

    def service_traffic(self, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
        """One row per configured service per step with requests. Columns SERVICE_TRAFFIC_COLUMNS:
        request_rate and error_rate (5xx) in requests/s, error_share = error_rate / request_rate
        (NaN without requests), p95_latency_seconds by histogram_quantile over the buckets'
        rates (NaN without a histogram). A service without 5xx series has error_rate 0."""
        start, end = _checked_range(start, end)
        if self.services is not None and not self.services:
            return _typed_frame({}, SERVICE_TRAFFIC_COLUMNS)
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
        frame = _range_frame(("service",), points, SERVICE_TRAFFIC_COLUMNS)
        frame = frame.loc[frame["request_rate"].notna()].reset_index(drop=True)
        frame["error_rate"] = frame["error_rate"].fillna(0.0)
        frame["error_share"] = _share(frame["error_rate"], frame["request_rate"])
        return frame

    def check_health(self) -> Health:
        """Status "ok" when Prometheus answers a query, else "error" naming the URL and the reason."""
        details = {"url": self.url}
        try:
            result = self._call("health", lambda: self._conn.custom_query(HEALTH_QUERY))
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
