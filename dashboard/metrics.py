"""invdash's own metrics, served at ``/metrics`` in the Prometheus text format.

Under gunicorn (``dashboard.gunicorn_conf`` sets PROMETHEUS_MULTIPROC_DIR before any worker
starts) every worker writes its values to files in that directory and ``/metrics`` adds them up,
so any worker answers for the whole replica. Without it (the development server, tests) the
values live in this process's default registry.

- ``invdash_callback_duration_seconds{output}``: each Dash callback request, by its first output
  (``id.property``, with ``+N`` when it has N more), so every panel's refresh is timed without
  the pages knowing.
- ``invdash_source_query_duration_seconds{source,query}``, ``invdash_source_queries_total``,
  ``invdash_source_errors_total``: every call of a source's public method
  (``dashboard.instrumented_sources``); an error is a call that raised, or a health probe that
  found its source down.
- ``invdash_cache_hits_total{key}``, ``invdash_cache_misses_total{key}``: shared-cache lookups
  by the first segment of their key (``orders``, ``health``, ...; a bounded set); a miss is a
  lookup that ran the loader in this process.
- ``invdash_active_screens``: browsers that asked for a refresh in the last few refresh intervals.
- ``invdash_shared_cache_up{url}``: 1 while Redis serves the cache, 0 while this process falls
  back to its own (absent without INVDASH_CACHE_URL); ``url`` without its password.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Container, Iterable

from flask import Flask, Response, abort, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from werkzeug.exceptions import HTTPException

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CALLBACK_PATH = "_dash-update-component"
UNKNOWN_CALLBACK = "unknown"

CALLBACK_SECONDS = Histogram(
    "invdash_callback_duration_seconds",
    "Time to answer one Dash callback request, by the callback's first output.",
    ["output"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
SOURCE_QUERY_SECONDS = Histogram(
    "invdash_source_query_duration_seconds",
    "Time of one call of a data source's query method.",
    ["source", "query"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
SOURCE_QUERIES = Counter(
    "invdash_source_queries", "Calls of a data source's query methods.", ["source", "query"]
)
SOURCE_ERRORS = Counter(
    "invdash_source_errors",
    "Source calls that raised, and health probes that found the source down.",
    ["source", "query"],
)
CACHE_HITS = Counter("invdash_cache_hits", "Shared-cache lookups answered from the cache.", ["key"])
CACHE_MISSES = Counter(
    "invdash_cache_misses", "Shared-cache lookups that ran the loader in this process.", ["key"]
)
# Every process counts the same screens when they are kept in Redis, and only those it served
# when not: the largest live value is then the best estimate, where a sum would count a screen
# once per worker it reached. "live": a recycled worker's last value goes with it.
ACTIVE_SCREENS = Gauge(
    "invdash_active_screens",
    "Browsers that asked for a refresh in the last few refresh intervals.",
    multiprocess_mode="livemax",
)
# One worker without Redis is enough to send its screens' queries to the sources: show the worst.
# Labelled, so that without INVDASH_CACHE_URL there is no series at all rather than a 0.
SHARED_CACHE_UP = Gauge(
    "invdash_shared_cache_up",
    "1 while Redis serves the shared cache, 0 while this process uses its own cache.",
    ["url"],
    multiprocess_mode="livemin",
)


def multiprocess_dir() -> str | None:
    directory = os.environ.get(MULTIPROC_ENV)
    return directory if directory and os.path.isdir(directory) else None


def replica_registry() -> CollectorRegistry:
    """The registry of this replica's metrics: all workers' when in multiprocess mode."""
    directory = multiprocess_dir()
    if directory is None:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return registry


def collect() -> Iterable[Metric]:
    return replica_registry().collect()


# invdash's business figures (dashboard.business_metrics), beside /metrics on its listener.
BUSINESS_PATH = "/metrics/business"


def register_metrics_route(
    server: Flask,
    before_scrape: Callable[[], object] | None = None,
    metrics_port: int | None = None,
) -> None:
    """``GET /metrics``. ``before_scrape`` refreshes values computed on demand (active screens).

    With ``metrics_port`` (INVDASH_METRICS_PORT, a second listener of gunicorn's), /metrics is
    answered on that port only and nothing else is: a NetworkPolicy can then open the port to
    the monitoring namespace and the dashboard's port to screens. The port is the listener's
    own (gunicorn's SERVER_PORT is the accepting socket's), not the Host header a client sends.
    """

    def on_metrics_port() -> bool:
        return request.environ.get("SERVER_PORT") == str(metrics_port)

    if metrics_port is not None:

        @server.before_request
        def _metrics_port_serves_metrics_only() -> None:
            if on_metrics_port() != (request.path in ("/metrics", BUSINESS_PATH)):
                abort(404)

    @server.route("/metrics")
    def metrics() -> Response:
        if before_scrape is not None:
            before_scrape()
        return Response(generate_latest(replica_registry()), mimetype=CONTENT_TYPE_LATEST)


def callback_label(output: object, known: Container[str]) -> str:
    """The label of a callback request's ``output`` field: its first ``id.property``, ``+N`` for
    N more. Only outputs the app registered are used as labels: the field comes from the client,
    and a label per made-up value would grow the metrics without bound."""
    if not isinstance(output, str) or output not in known:
        return UNKNOWN_CALLBACK
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    first = _short_duplicate_suffix(parts[0])
    return first if len(parts) == 1 else f"{first} +{len(parts) - 1}"


def _short_duplicate_suffix(output: str) -> str:
    # An allow_duplicate output is "id.property@<64 hex digits>"; six tell the callbacks apart.
    name, at, digest = output.partition("@")
    return f"{name}@{digest[:6]}" if at else output


def time_callbacks(server: Flask, known: Container[str], routes_prefix: str = "/") -> None:
    """Time every Dash callback request into CALLBACK_SECONDS, labelled by ``callback_label``."""
    path = f"{routes_prefix}{CALLBACK_PATH}"

    @server.before_request
    def _start_callback_clock() -> None:
        if request.method == "POST" and request.path == path:
            g.invdash_callback_started = time.perf_counter()

    @server.after_request
    def _observe_callback(response: Response) -> Response:
        started: float | None = g.pop("invdash_callback_started", None)
        if started is not None:
            try:
                body = request.get_json(silent=True)
            except (HTTPException, RecursionError):
                body = None  # over the size limit (413), or nested past the decoder's stack
            output = body.get("output") if isinstance(body, dict) else None
            CALLBACK_SECONDS.labels(output=callback_label(output, known)).observe(
                time.perf_counter() - started
            )
        return response
