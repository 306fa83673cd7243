"""The PromQL catalogue: every query invdash sends to Prometheus, as a named template.

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

import datetime as dt
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

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
        "hpa_min_replicas": (
            "max by (namespace, horizontalpodautoscaler) "
            "(kube_horizontalpodautoscaler_spec_min_replicas{$kube_state_metrics_selector})"
        ),
        "hpa_max_replicas": (
            "max by (namespace, horizontalpodautoscaler) "
            "(kube_horizontalpodautoscaler_spec_max_replicas{$kube_state_metrics_selector})"
        ),
        # A service's requests and 5xx answers over a window (an SLO's period, a burn window).
        "service_requests": (
            "sum by ($service_label) (increase($http_requests_metric{$http_selector}[$window]))"
        ),
        "service_errors": (
            "sum by ($service_label) "
            '(increase($http_requests_metric{$status_label=~"5..", $http_selector}[$window]))'
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


class PromQLConfigError(ValueError):
    """A PromQL catalogue setting cannot be used; the message names the query or setting."""


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
