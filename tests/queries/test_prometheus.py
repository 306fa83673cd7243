"""PrometheusSource against a real Prometheus serving series this file writes, and recorded dumps.

The session's Prometheus holds (all ending at END, the start of the current minute):

- a synthetic cluster, every 15 s for the two hours before END (below: SHOP, PAYMENTS, the HPAs,
  the HTTP services), built so that every expected number is exact; and
- the recorded cAdvisor and kube-state-metrics scrapes of a minikube 1.34 cluster
  (``fixtures/prometheus/nri-k8s-1.34_*.prom``), repeated every 15 s for five minutes up to
  END with their recorded values (see ``exposition_to_families``).

Rates are over 5 minutes; with samples on the 15 s grid and queries on it, Prometheus does not
extrapolate, so a counter growing by 7.5 every 15 s has a rate of exactly 0.5.
"""

from __future__ import annotations

import datetime as dt
import math
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from local_service import QuietHandler, free_port, http_server
from prometheus_server import (
    Family,
    PrometheusServer,
    Series,
    create_blocks,
    exposition_to_families,
    merge_families,
    write_openmetrics,
)

from queries.prometheus import PrometheusQueryError, PrometheusSource, prometheus_connect
from queries.promql import (
    DEFAULT_QUERIES,
    PromQLCatalogue,
    PromQLConfigError,
    promql_string,
    promql_structure_problem,
)
from queries.telemetry import (
    ALERT_COLUMNS,
    CONTAINER_RESOURCE_COLUMNS,
    HPA_COLUMNS,
    POD_USAGE_COLUMNS,
    SERVICE_TRAFFIC_COLUMNS,
    UNHEALTHY_POD_COLUMNS,
    choose_step,
)

MI = 2**20
SCRAPE = 15  # seconds between synthetic samples
HISTORY = 2 * 3600  # seconds of synthetic history before END
END = dt.datetime.fromtimestamp(time.time() // 60 * 60, dt.UTC)
STEPS = range(int(END.timestamp()) - HISTORY, int(END.timestamp()) + 1, SCRAPE)
MINUTE = dt.timedelta(minutes=1)

WEB = "web-7d9c5b8f6d-x2k4p"
WEB_2 = "web-7d9c5b8f6d-q8m2z"
HOSTILE = '"} or vector(1) #'
EVIL_NAMESPACE = 'evil"} or namespace=~".+'  # exists: only its own pod may come back

RECORDED_FAMILIES = (
    "container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
    "container_cpu_cfs_periods_total", "container_cpu_cfs_throttled_periods_total",
    "kube_pod_container_resource_requests", "kube_pod_container_resource_limits",
    "kube_pod_container_status_restarts_total", "kube_pod_container_status_last_terminated_reason",
    "kube_horizontalpodautoscaler_status_current_replicas",
    "kube_horizontalpodautoscaler_status_desired_replicas",
    "kube_horizontalpodautoscaler_spec_min_replicas",
    "kube_horizontalpodautoscaler_spec_max_replicas",
    "kube_pod_status_phase", "kube_pod_status_ready", "kube_pod_container_status_waiting_reason",
)  # fmt: skip
RECORDED_REPEATS = 21  # five minutes of 15 s scrapes, so a 5m rate has a full window


def at(offset: dt.timedelta) -> float:
    return (END + offset).timestamp()


def counter(per_scrape: float) -> list[tuple[float, float]]:
    """A counter growing by ``per_scrape`` every 15 s: rate = per_scrape / 15 per second."""
    return [(t, per_scrape * k) for k, t in enumerate(STEPS)]


def gauge(value: float | Callable[[float], float]) -> list[tuple[float, float]]:
    return [(t, value(t) if callable(value) else value) for t in STEPS]


def step_after(before: float, after: float, change: dt.timedelta) -> Callable[[float], float]:
    """``before`` until END + change, then ``after`` (from that sample on)."""
    return lambda t: after if t >= at(change) else before


def cadvisor(namespace: str, pod: str, container: str, image: str) -> dict[str, str]:
    return {"namespace": namespace, "pod": pod, "container": container, "image": image}


def ksm(namespace: str, pod: str, container: str, **extra: str) -> dict[str, str]:
    return {"namespace": namespace, "pod": pod, "container": container, **extra}


def synthetic_families() -> list[Family]:
    web_app = cadvisor("shop", WEB, "app", "shop/web:1.4")
    web_sidecar = cadvisor("shop", WEB, "sidecar", "envoyproxy/envoy:v1.31")
    web_cgroup = cadvisor("shop", WEB, "", "")  # the pod's own cgroup: the sum of the others
    web_pause = cadvisor("shop", WEB, "POD", "registry.k8s.io/pause:3.9")  # dockershim pause
    web_pause_containerd = cadvisor("shop", WEB, "", "registry.k8s.io/pause:3.10")
    web2_app = cadvisor("shop", WEB_2, "app", "shop/web:1.4")
    api = cadvisor("payments", "api-0", "api", "payments/api:2.0")
    evil = cadvisor(EVIL_NAMESPACE, "evil-0", "main", "evil:1")
    cpu = Family("container_cpu_usage_seconds_total", "counter", [
        Series(web_app, counter(7.5)),  # 0.5 cores
        Series(web_sidecar, counter(1.5)),  # 0.1 cores
        Series(web_cgroup, counter(100)),
        Series(web_pause, counter(0.15)),
        Series(web_pause_containerd, counter(0.15)),
        Series(web2_app, counter(3.75)),  # 0.25 cores
        Series(api, counter(1.875)),  # 0.125 cores
        Series(evil, counter(15)),  # 1 core
    ])  # fmt: skip
    memory = Family("container_memory_working_set_bytes", "gauge", [
        Series(web_app, gauge(step_after(200 * MI, 300 * MI, -10 * MINUTE))),
        Series(web_sidecar, gauge(50 * MI)),
        Series(web_cgroup, gauge(10 * 1024 * MI)),
        Series(web_pause, gauge(1 * MI)),
        Series(web_pause_containerd, gauge(1 * MI)),
        Series(web2_app, gauge(100 * MI)),
        Series(api, gauge(64 * MI)),
        Series(evil, gauge(1 * MI)),
    ])  # fmt: skip
    periods = Family("container_cpu_cfs_periods_total", "counter", [
        Series(web_app, counter(150)),  # 100 ms CFS periods
        Series(web_sidecar, counter(150)),
    ])  # fmt: skip
    throttled = Family("container_cpu_cfs_throttled_periods_total", "counter", [
        Series(web_app, counter(30)),  # 30 of 150: 0.2
        Series(web_sidecar, counter(15)),  # no CPU limit: not reported
    ])  # fmt: skip
    requests = Family("kube_pod_container_resource_requests", "gauge", [
        Series(ksm("shop", WEB, "app", resource="cpu", unit="core"), gauge(0.25)),
        Series(ksm("shop", WEB, "app", resource="memory", unit="byte"), gauge(256 * MI)),
        Series(ksm("shop", WEB, "app", resource="ephemeral_storage", unit="byte"), gauge(1e9)),
    ])  # fmt: skip
    limits = Family("kube_pod_container_resource_limits", "gauge", [
        Series(ksm("shop", WEB, "app", resource="cpu", unit="core"), gauge(1)),
        Series(ksm("shop", WEB, "app", resource="memory", unit="byte"), gauge(512 * MI)),
    ])  # fmt: skip
    restarts = Family("kube_pod_container_status_restarts_total", "counter", [
        # 2 until 50 minutes ago, then one more 50, 30 and 10 minutes ago: 3 in the last hour
        Series(ksm("shop", WEB, "app"), gauge(
            lambda t: 2 + sum(t >= at(-m * MINUTE) for m in (50, 30, 10))
        )),
        Series(ksm("shop", WEB, "sidecar"), gauge(0)),
    ])  # fmt: skip
    reasons = Family("kube_pod_container_status_last_terminated_reason", "gauge", [
        Series(ksm("shop", WEB, "app", reason="OOMKilled"), gauge(1)),
        Series(ksm("shop", WEB, "app", reason="Error"), gauge(0)),  # old kube-state-metrics
    ])  # fmt: skip
    hpa_current = Family("kube_horizontalpodautoscaler_status_current_replicas", "gauge", [
        Series({"namespace": "shop", "horizontalpodautoscaler": "web"},
               gauge(step_after(2, 4, -20 * MINUTE))),
        Series({"namespace": "payments", "horizontalpodautoscaler": "api"}, gauge(1)),
    ])  # fmt: skip
    hpa_desired = Family("kube_horizontalpodautoscaler_status_desired_replicas", "gauge", [
        Series({"namespace": "shop", "horizontalpodautoscaler": "web"},
               gauge(step_after(2, 4, -22 * MINUTE))),
        Series({"namespace": "payments", "horizontalpodautoscaler": "api"}, gauge(1)),
    ])  # fmt: skip
    hpa_min = Family("kube_horizontalpodautoscaler_spec_min_replicas", "gauge", [
        Series({"namespace": "shop", "horizontalpodautoscaler": "web"}, gauge(2)),
        Series({"namespace": "payments", "horizontalpodautoscaler": "api"}, gauge(1)),
    ])  # fmt: skip
    hpa_max = Family("kube_horizontalpodautoscaler_spec_max_replicas", "gauge", [
        Series({"namespace": "shop", "horizontalpodautoscaler": "web"}, gauge(4)),
        Series({"namespace": "payments", "horizontalpodautoscaler": "api"}, gauge(3)),
    ])  # fmt: skip
    http_requests = Family("http_requests_total", "counter", [
        Series({"service": "checkout", "code": "200"}, counter(135)),  # 9/s
        Series({"service": "checkout", "code": "404"}, counter(30)),  # 2/s
        Series({"service": "checkout", "code": "503"}, counter(15)),  # 1/s
        Series({"service": "search", "code": "200"}, counter(75)),  # 5/s, never an error
        Series({"service": "admin", "code": "500"}, counter(15)),  # not a configured service
    ])  # fmt: skip
    bucket = "http_request_duration_seconds_bucket"
    http_latency = Family("http_request_duration_seconds", "histogram", [
        Series({"service": "checkout", "le": le}, counter(per_scrape), sample_name=bucket)
        for le, per_scrape in CHECKOUT_BUCKETS_PER_SCRAPE
    ] + [
        Series({"service": "checkout"}, counter(180), sample_name="http_request_duration_seconds_count"),
        Series({"service": "checkout"}, counter(45), sample_name="http_request_duration_seconds_sum"),
    ])  # fmt: skip

    # Pod-health history: api-0 waits in CrashLoopBackOff from 15 minutes ago; web-pending is
    # Pending (not ready) until 40 minutes ago; report-1 is a finished Job pod, never unhealthy.
    def pod(namespace: str, name: str, **extra: str) -> dict[str, str]:
        return {"namespace": namespace, "pod": name, **extra}

    waiting = Family("kube_pod_container_status_waiting_reason", "gauge", [
        Series(ksm("payments", "api-0", "api", reason="CrashLoopBackOff"),
               gauge(step_after(0, 1, -15 * MINUTE))),
    ])  # fmt: skip
    phase = Family("kube_pod_status_phase", "gauge", [
        Series(pod("shop", "web-pending", phase="Pending"), gauge(step_after(1, 0, -40 * MINUTE))),
        Series(pod("shop", "web-pending", phase="Running"), gauge(step_after(0, 1, -40 * MINUTE))),
        Series(pod("shop", "report-1", phase="Succeeded"), gauge(1)),
        Series(pod("payments", "api-0", phase="Running"), gauge(1)),
    ])  # fmt: skip
    ready = Family("kube_pod_status_ready", "gauge", [
        Series(pod("shop", "web-pending", condition="false"), gauge(step_after(1, 0, -40 * MINUTE))),
        Series(pod("shop", "web-pending", condition="true"), gauge(step_after(0, 1, -40 * MINUTE))),
        Series(pod("shop", "report-1", condition="false"), gauge(1)),
        Series(pod("payments", "api-0", condition="false"), gauge(step_after(0, 1, -15 * MINUTE))),
    ])  # fmt: skip
    probe = Family("invdash_escape_probe", "gauge", [
        Series({"value": value}, gauge(1)) for value in ESCAPE_PROBE_VALUES
    ])  # fmt: skip
    return [cpu, memory, periods, throttled, requests, limits, restarts, reasons, hpa_current,
            hpa_desired, hpa_min, hpa_max, http_requests, http_latency, probe, waiting, phase, ready]  # fmt: skip


# Alerting rules the session's Prometheus evaluates every second: two fire at once, one waits
# an hour in pending, one never holds.
ALERT_RULES = """
groups:
  - name: invdash-test
    interval: 1s
    rules:
      - alert: CheckoutDown
        expr: vector(1)
        labels: {severity: critical, team: shop}
        annotations: {summary: Checkout answers 503}
      - alert: DiskFilling
        expr: vector(2)
        labels: {severity: warning}
        annotations: {summary: "Disk {{ $value }}% full"}
      - alert: StillPending
        expr: vector(1)
        for: 1h
        labels: {severity: critical}
      - alert: NeverHolds
        expr: vector(1) == 0
      - alert: Watchdog
        expr: vector(1)
        labels: {severity: none}
      - alert: OtherTeamsNamespace
        expr: vector(1)
        labels: {severity: critical, namespace: elsewhere}
"""

# Cumulative bucket counts added every 15 s: 3/s under 50 ms, 7/s under 100 ms, 10/s under
# 250 ms, all 12/s under 500 ms.
CHECKOUT_BUCKETS_PER_SCRAPE = [
    ("0.05", 45), ("0.1", 105), ("0.25", 150), ("0.5", 180), ("1", 180), ("+Inf", 180),
]  # fmt: skip
ESCAPE_PROBE_VALUES = ['a"b', "back\\slash", "new\nline", HOSTILE, "tab\tend", '\\"', "plain"]


def prometheus_bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus' histogram_quantile (bucketQuantile) for cumulative (upper bound, rate)
    buckets: linear interpolation inside the bucket holding rank q * total, in its float order."""
    rank = q * buckets[-1][1]
    index = next(i for i, (_, count) in enumerate(buckets) if count >= rank)
    bucket_start, bucket_end, count = 0.0, buckets[index][0], buckets[index][1]
    if index > 0:
        bucket_start = buckets[index - 1][0]
        count -= buckets[index - 1][1]
        rank -= buckets[index - 1][1]
    return bucket_start + (bucket_end - bucket_start) * (rank / count)


@dataclass(frozen=True)
class ServedPrometheus:
    url: str
    with_recordings: bool
    startup_seconds: float


@pytest.fixture(scope="session")
def prometheus(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedPrometheus]:
    """One Prometheus for the session over the synthetic series and, when the recorded fixtures
    are present, the recorded scrapes (tests that need those ask for ``fixtures_dir`` and skip)."""
    families = synthetic_families()
    fixtures: Path | None
    try:
        fixtures = request.getfixturevalue("fixtures_dir")
    except pytest.skip.Exception:
        fixtures = None
    if fixtures is not None:
        recordings = fixtures / "prometheus"
        for name in ("nri-k8s-1.34_kubelet_cadvisor_metrics.prom", "nri-k8s-1.34_ksm_metrics.prom"):
            families += exposition_to_families(
                (recordings / name).read_text(encoding="utf-8"),
                end=END.timestamp(),
                repeats=RECORDED_REPEATS,
                interval_seconds=SCRAPE,
                families=RECORDED_FAMILIES,
            )
    work = tmp_path_factory.mktemp("prometheus-tsdb")
    series_file = write_openmetrics(work / "series.om", merge_families(families))
    try:
        blocks = create_blocks(series_file, work / "blocks")
        server = PrometheusServer(blocks, rules=ALERT_RULES)
    except (FileNotFoundError, RuntimeError) as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield ServedPrometheus(server.url, fixtures is not None, server.startup_seconds)
    finally:
        server.stop()


SERVICES = ["checkout", "search", "not-deployed"]


@pytest.fixture
def source(prometheus: ServedPrometheus) -> PrometheusSource:
    return PrometheusSource(prometheus_connect(prometheus.url, 5.0), services=SERVICES)


def rows(frame: pd.DataFrame, **labels: str) -> pd.DataFrame:
    keep = pd.Series(True, index=frame.index)
    for column, value in labels.items():
        keep &= frame[column] == value
    return frame.loc[keep]


def only_row(frame: pd.DataFrame, **labels: str) -> pd.Series:
    found = rows(frame, **labels)
    assert len(found) == 1, f"expected one row for {labels}, found {len(found)}"
    return found.iloc[0]


def value_at(frame: pd.DataFrame, column: str, offset: dt.timedelta, **labels: str) -> float:
    found = rows(frame, **labels)
    return float(found.loc[found["timestamp"] == pd.Timestamp(END + offset), column].item())


# --- pod_usage --------------------------------------------------------------------------------


def test_pod_usage_is_rate_of_cpu_seconds_and_working_set_summed_over_containers(
    source: PrometheusSource,
) -> None:
    usage = source.pod_usage("shop", END - 30 * MINUTE, END)

    web = rows(usage, namespace="shop", pod=WEB)
    assert len(web) == 121  # every 15 s for 30 minutes, both ends included
    # app 0.5 + sidecar 0.1; the pod cgroup and both kinds of pause container are left out
    assert set(web["cpu_cores"]) == {0.5 + 0.1}
    assert value_at(usage, "memory_bytes", -15 * MINUTE, pod=WEB) == 200 * MI + 50 * MI
    assert value_at(usage, "memory_bytes", -10 * MINUTE, pod=WEB) == 300 * MI + 50 * MI
    assert value_at(usage, "memory_bytes", 0 * MINUTE, pod=WEB) == 300 * MI + 50 * MI
    assert set(rows(usage, pod=WEB_2)["cpu_cores"]) == {0.25}
    assert set(rows(usage, pod=WEB_2)["memory_bytes"]) == {100 * MI}
    assert set(usage["namespace"]) == {"shop"}


def test_pod_usage_frame_has_the_contract_columns_and_utc_timestamps(
    source: PrometheusSource,
) -> None:
    usage = source.pod_usage(None, END - 5 * MINUTE, END)

    assert list(usage.columns) == POD_USAGE_COLUMNS
    assert str(usage["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert usage["timestamp"].max() == pd.Timestamp(END)
    assert usage["cpu_cores"].dtype == "float64"
    assert {"shop", "payments"} <= set(usage["namespace"])
    assert (
        only_row(usage.loc[usage["timestamp"] == pd.Timestamp(END)], pod="api-0")["cpu_cores"]
        == 0.125
    )


def test_configured_namespaces_hold_every_pod_and_hpa_query_on_a_real_prometheus(
    prometheus: ServedPrometheus, source: PrometheusSource
) -> None:
    """INVDASH_KUBE_NAMESPACES=shop narrows Prometheus as it narrows the Kubernetes source:
    a query for every namespace asks for the configured ones only."""
    everything = source.pod_usage(None, END - 5 * MINUTE, END)
    assert {"shop", "payments"} <= set(everything["namespace"])
    scoped = PrometheusSource(
        prometheus_connect(prometheus.url, 5.0), services=SERVICES, namespaces=["shop"]
    )
    usage = scoped.pod_usage(None, END - 5 * MINUTE, END)
    assert set(usage["namespace"]) == {"shop"}
    assert not usage.empty
    resources = scoped.container_resources(None, at=END)
    assert set(resources["namespace"]) == {"shop"}
    assert set(scoped.hpa_replicas(None, END - 5 * MINUTE, END)["namespace"]) <= {"shop"}
    both = PrometheusSource(
        prometheus_connect(prometheus.url, 5.0), namespaces=["shop", "payments"]
    )
    assert set(both.pod_usage(None, END - 5 * MINUTE, END)["namespace"]) == {"shop", "payments"}
    # One namespace asked within them is that one; one outside them is refused, never widened.
    assert set(both.pod_usage("payments", END - 5 * MINUTE, END)["namespace"]) == {"payments"}
    with pytest.raises(ValueError, match="outside INVDASH_KUBE_NAMESPACES"):
        scoped.pod_usage("payments", END - 5 * MINUTE, END)


def test_a_list_of_namespaces_renders_as_one_anchored_regex_of_escaped_names() -> None:
    query = PromQLCatalogue().render("pod_memory_bytes", namespace=["shop", "payments-v2"])
    assert 'namespace=~"shop|payments\\\\-v2"' in query


def test_pod_usage_accepts_any_timezone_and_rejects_naive_datetimes(
    source: PrometheusSource,
) -> None:
    plus_two = dt.timezone(dt.timedelta(hours=2))
    usage = source.pod_usage("payments", (END - 5 * MINUTE).astimezone(plus_two), END)
    assert len(usage) == 21

    naive = END.replace(tzinfo=None)
    with pytest.raises(ValueError, match="timezone-aware"):
        source.pod_usage("shop", naive - 5 * MINUTE, naive)


def test_pod_usage_without_data_is_an_empty_frame_with_the_columns(
    source: PrometheusSource,
) -> None:
    long_ago = END - dt.timedelta(days=400)
    usage = source.pod_usage("shop", long_ago - 5 * MINUTE, long_ago)

    assert usage.empty
    assert list(usage.columns) == POD_USAGE_COLUMNS
    assert str(usage["timestamp"].dtype) == "datetime64[ns, UTC]"


def test_range_queries_never_exceed_1000_points_per_series(
    prometheus: ServedPrometheus,
) -> None:
    source = PrometheusSource(prometheus_connect(prometheus.url, 5.0), services=SERVICES)
    week = source.pod_usage("shop", END - dt.timedelta(days=7), END)
    assert set(week.groupby("pod")["timestamp"].diff().dropna()) == {pd.Timedelta(minutes=15)}
    assert week.groupby("pod").size().max() <= 1000

    coarse = PrometheusSource(prometheus_connect(prometheus.url, 5.0), max_points=100)
    two_hours = coarse.pod_usage("shop", END - 2 * dt.timedelta(hours=1), END)
    # every 2 minutes, on multiples of 2 minutes: 60 or 61 evaluations in two hours
    first, last = int(END.timestamp()) - 7200, int(END.timestamp())
    on_the_step = range(-(-first // 120) * 120, last + 1, 120)
    assert two_hours.groupby("pod").size().max() == len(on_the_step)
    assert set(two_hours["timestamp"]) == {pd.Timestamp(t, unit="s", tz="UTC") for t in on_the_step}
    traffic = coarse.service_traffic(END - 2 * dt.timedelta(hours=1), END)
    assert traffic.groupby("service").size().max() <= 100


# --- container_resources ----------------------------------------------------------------------


def test_container_resources_joins_usage_requests_limits_throttling_and_restarts(
    source: PrometheusSource,
) -> None:
    resources = source.container_resources("shop", at=END)

    assert list(resources.columns) == CONTAINER_RESOURCE_COLUMNS
    assert sorted(zip(resources["pod"], resources["container"], strict=True)) == [
        (WEB_2, "app"), (WEB, "app"), (WEB, "sidecar"),
    ]  # fmt: skip
    app = only_row(resources, pod=WEB, container="app")
    assert app["cpu_cores"] == 0.5
    assert app["memory_bytes"] == 300 * MI
    assert app["cpu_request_cores"] == 0.25
    assert app["cpu_limit_cores"] == 1.0
    assert app["memory_request_bytes"] == 256 * MI
    assert app["memory_limit_bytes"] == 512 * MI
    assert app["cpu_request_share"] == 2.0
    assert app["cpu_limit_share"] == 0.5
    assert app["memory_request_share"] == 300 / 256
    assert app["memory_limit_share"] == 300 / 512
    assert app["cpu_throttling_ratio"] == 0.2
    assert app["restarts_window"] == 3
    assert app["last_terminated_reason"] == "OOMKilled"


def test_container_without_requests_limits_or_terminations_has_nan_and_empty_reason(
    source: PrometheusSource,
) -> None:
    resources = source.container_resources("shop", at=END)

    sidecar = only_row(resources, pod=WEB, container="sidecar")
    assert sidecar["cpu_cores"] == 0.1
    assert sidecar["memory_bytes"] == 50 * MI
    for column in (
        "cpu_request_cores", "cpu_limit_cores", "memory_request_bytes", "memory_limit_bytes",
        "cpu_request_share", "cpu_limit_share", "memory_request_share", "memory_limit_share",
        # its CFS series say 0.1, but without a CPU limit there is no throttling to speak of
        "cpu_throttling_ratio",
    ):  # fmt: skip
        assert math.isnan(sidecar[column]), column
    assert sidecar["restarts_window"] == 0
    assert sidecar["last_terminated_reason"] == ""
    assert math.isnan(only_row(resources, pod=WEB_2)["restarts_window"])  # no kube-state-metrics


def test_container_resources_default_to_now(source: PrometheusSource) -> None:
    resources = source.container_resources()

    app = only_row(resources, namespace="shop", pod=WEB, container="app")
    assert app["memory_bytes"] == 300 * MI
    assert app["cpu_request_cores"] == 0.25
    # The series stop at END, a little before now: Prometheus extrapolates the rate over the
    # part of the 5 minute window that has samples, so it is below 0.5 but not 0 (how far
    # below depends on how long after END this runs).
    assert 0 < app["cpu_cores"] <= 0.5
    assert app["restarts_window"] == 3
    assert {"shop", "payments"} <= set(resources["namespace"])


def test_container_resources_restart_window_is_a_parameter(source: PrometheusSource) -> None:
    last_20_minutes = source.container_resources(
        "shop", at=END, restarts_window=dt.timedelta(minutes=20)
    )
    assert only_row(last_20_minutes, pod=WEB, container="app")["restarts_window"] == 1


# --- hpa_replicas -----------------------------------------------------------------------------


def test_hpa_replicas_follow_current_and_desired_counts(source: PrometheusSource) -> None:
    hpas = source.hpa_replicas(None, END - 30 * MINUTE, END)

    assert list(hpas.columns) == HPA_COLUMNS
    web = {"namespace": "shop", "hpa": "web"}
    replicas = [
        (value_at(hpas, "current_replicas", -m * MINUTE, **web),
         value_at(hpas, "desired_replicas", -m * MINUTE, **web))
        for m in (25, 21, 20, 0)
    ]  # fmt: skip
    assert replicas == [(2, 2), (2, 4), (4, 4), (4, 4)]
    assert set(rows(hpas, namespace="payments", hpa="api")["current_replicas"]) == {1}
    assert (value_at(hpas, "min_replicas", 0 * MINUTE, **web),
            value_at(hpas, "max_replicas", 0 * MINUTE, **web)) == (2, 4)  # fmt: skip
    assert set(source.hpa_replicas("payments", END - MINUTE, END)["hpa"]) == {"api"}


# --- service_traffic --------------------------------------------------------------------------


def test_service_traffic_rates_error_share_and_p95_latency(source: PrometheusSource) -> None:
    traffic = source.service_traffic(END - 10 * MINUTE, END)

    assert list(traffic.columns) == SERVICE_TRAFFIC_COLUMNS
    assert set(traffic["service"]) == {"checkout", "search"}  # admin is not configured
    checkout = rows(traffic, service="checkout")
    assert len(checkout) == 41
    assert set(checkout["request_rate"]) == {12.0}
    assert set(checkout["error_rate"]) == {1.0}  # 503s only: 404s are not errors
    assert set(checkout["error_share"]) == {1.0 / 12.0}
    cumulative = [
        (float(le), per_scrape / SCRAPE) for le, per_scrape in CHECKOUT_BUCKETS_PER_SCRAPE
    ]
    expected_p95 = prometheus_bucket_quantile(0.95, cumulative)
    assert expected_p95 == pytest.approx(0.425)  # 11.4 of 12/s: 70% into the 250-500 ms bucket
    assert set(checkout["p95_latency_seconds"]) == {expected_p95}

    search = rows(traffic, service="search")
    assert set(search["request_rate"]) == {5.0}
    assert set(search["error_rate"]) == {0.0}
    assert set(search["error_share"]) == {0.0}
    assert search["p95_latency_seconds"].isna().all()


def test_service_request_counts_are_the_increase_of_requests_and_5xx_over_the_window(
    source: PrometheusSource,
) -> None:
    checkout = source.service_request_counts("checkout", 10 * MINUTE, END)
    assert checkout.requests == pytest.approx(12.0 * 600, rel=0.03)  # 12/s for 10 minutes
    assert checkout.errors == pytest.approx(1.0 * 600, rel=0.03)  # the 503s; 404s are not errors
    # A window longer than the data counts what there is (2 hours of history).
    day = source.service_request_counts("checkout", dt.timedelta(days=30), END)
    assert day.requests == pytest.approx(12.0 * HISTORY, rel=0.03)

    search = source.service_request_counts("search", 10 * MINUTE, END)
    assert search.errors == 0.0  # no 5xx series at all
    assert source.service_request_counts("not-deployed", 10 * MINUTE, END) == (0.0, 0.0)
    with pytest.raises(ValueError, match="window must be positive"):
        source.service_request_counts("checkout", dt.timedelta(0), END)


def test_firing_alerts_come_from_the_alerting_rules_most_severe_first(
    prometheus: ServedPrometheus, source: PrometheusSource
) -> None:
    deadline = time.monotonic() + 20
    alerts = source.firing_alerts()
    while len(alerts) < 3 and time.monotonic() < deadline:  # the first evaluations
        time.sleep(0.2)
        alerts = source.firing_alerts()

    assert list(alerts.columns) == ALERT_COLUMNS
    # Not the pending one, not the Watchdog (severity none); every namespace is watched here.
    assert list(alerts["alertname"]) == ["CheckoutDown", "OtherTeamsNamespace", "DiskFilling"]
    assert list(alerts["severity"]) == ["critical", "critical", "warning"]
    assert list(alerts["summary"]) == ["Checkout answers 503", "", "Disk 2% full"]
    assert list(alerts["labels"]) == ["team=shop", "namespace=elsewhere", ""]
    # Held to INVDASH_KUBE_NAMESPACES, an alert of another namespace is not invdash's to show.
    scoped = PrometheusSource(prometheus_connect(prometheus.url, 5.0), namespaces=["shop"])
    assert list(scoped.firing_alerts()["alertname"]) == ["CheckoutDown", "DiskFilling"]
    assert str(alerts["active_since"].dtype) == "datetime64[ns, UTC]"
    now = pd.Timestamp.now(tz="UTC")
    assert (alerts["active_since"] <= now).all()
    assert (alerts["active_since"] >= now - dt.timedelta(hours=1)).all()


def test_firing_alerts_of_a_server_that_is_gone_raise_the_query_error() -> None:
    gone = PrometheusSource(prometheus_connect(f"http://127.0.0.1:{free_port()}", 2.0))
    with pytest.raises(PrometheusQueryError, match="alerts"):
        gone.firing_alerts()


def test_service_traffic_without_configured_services_is_every_service_or_none(
    prometheus: ServedPrometheus,
) -> None:
    connection = prometheus_connect(prometheus.url, 5.0)
    every = PrometheusSource(connection, services=None).service_traffic(END - MINUTE, END)
    assert {"checkout", "search", "admin"} <= set(every["service"])
    assert set(rows(every, service="admin")["error_share"]) == {1.0}

    none = PrometheusSource(connection, services=[]).service_traffic(END - MINUTE, END)
    assert none.empty
    assert list(none.columns) == SERVICE_TRAFFIC_COLUMNS


# --- recorded cAdvisor and kube-state-metrics scrapes -----------------------------------------

RECORDED_KUBE_SYSTEM_CONTAINERS = [
    ("coredns-66bc5c9577-d98t2", "coredns"),
    ("etcd-datagen-1-34", "etcd"),
    ("kindnet-zqk2n", "kindnet-cni"),
    ("kube-apiserver-datagen-1-34", "kube-apiserver"),
    ("kube-controller-manager-datagen-1-34", "kube-controller-manager"),
    ("kube-proxy-nz2nc", "kube-proxy"),
    ("kube-scheduler-datagen-1-34", "kube-scheduler"),
    ("metrics-server-85b7d694d7-dqckt", "metrics-server"),
    ("storage-provisioner", "storage-provisioner"),
]


def test_recorded_control_plane_requests_limits_and_working_sets(
    source: PrometheusSource, fixtures_dir: Path
) -> None:
    resources = source.container_resources("kube-system", at=END)

    # One row per running container: no pod cgroup rows, no pause containers.
    assert sorted(zip(resources["pod"], resources["container"], strict=True)) == (
        RECORDED_KUBE_SYSTEM_CONTAINERS
    )
    # The values exactly as in nri-k8s-1.34_kubelet_cadvisor_metrics.prom and _ksm_metrics.prom:
    coredns = only_row(resources, pod="coredns-66bc5c9577-d98t2", container="coredns")
    assert coredns["memory_bytes"] == 1.7866752e07  # container_memory_working_set_bytes
    assert coredns["cpu_request_cores"] == 0.1  # kube_pod_container_resource_requests
    assert coredns["memory_request_bytes"] == 7.340032e07
    assert coredns["memory_limit_bytes"] == 1.7825792e08  # kube_pod_container_resource_limits
    assert math.isnan(coredns["cpu_limit_cores"])
    assert coredns["memory_limit_share"] == 1.7866752e07 / 1.7825792e08
    etcd = only_row(resources, pod="etcd-datagen-1-34", container="etcd")
    assert etcd["memory_bytes"] == 3.8391808e07
    assert etcd["cpu_request_cores"] == 0.1
    assert etcd["memory_request_bytes"] == 1.048576e08
    assert math.isnan(etcd["memory_limit_bytes"])
    apiserver = only_row(resources, pod="kube-apiserver-datagen-1-34")
    assert apiserver["memory_bytes"] == 2.2976512e08
    assert apiserver["cpu_request_cores"] == 0.25
    kindnet = only_row(resources, pod="kindnet-zqk2n")
    assert (kindnet["cpu_limit_cores"], kindnet["memory_limit_bytes"]) == (0.1, 5.24288e07)
    # One scrape repeated has no rate: counters stand still.
    assert set(resources["cpu_cores"]) == {0.0}
    assert set(resources["restarts_window"]) == {0.0}


def test_recorded_pod_usage_sums_containers_only(
    source: PrometheusSource, fixtures_dir: Path
) -> None:
    usage = source.pod_usage("kube-system", END - 2 * MINUTE, END)

    latest = usage.loc[usage["timestamp"] == pd.Timestamp(END)]
    # The pod cgroup says 1.8116608e+07 and the pause container 200704: neither is counted.
    assert only_row(latest, pod="coredns-66bc5c9577-d98t2")["memory_bytes"] == 1.7866752e07
    assert only_row(latest, pod="kube-apiserver-datagen-1-34")["memory_bytes"] == 2.2976512e08
    assert len(latest) == len(RECORDED_KUBE_SYSTEM_CONTAINERS)


def unhealthy(frame: pd.DataFrame, namespace: str) -> dict[str, tuple[str, int, str]]:
    rows = frame[frame["namespace"] == namespace]
    return {
        row.pod: (row.status, row.restarts, row.last_terminated_reason)
        for row in rows.itertuples(index=False)
    }


def test_unhealthy_pods_at_a_moment_come_from_the_kube_state_metrics_history(
    source: PrometheusSource,
) -> None:
    def at_minus(minutes: int) -> dict[str, tuple[str, int, str]]:
        frame = source.unhealthy_pods_at(END - minutes * MINUTE)
        assert list(frame.columns) == UNHEALTHY_POD_COLUMNS
        return unhealthy(frame, "shop") | unhealthy(frame, "payments")

    assert at_minus(0) == {"api-0": ("CrashLoopBackOff", 0, "")}
    # Web restarted (OOMKilled) 10 minutes ago: inside the 5-minute window seen from -9.
    assert at_minus(9) == {
        "api-0": ("CrashLoopBackOff", 0, ""),
        WEB: ("Restarted", 1, "OOMKilled"),
    }
    assert at_minus(20) == {}
    # Pending and not ready: the phase names it; the finished Job pod is never listed.
    assert at_minus(44) == {"web-pending": ("Pending", 0, "")}


def test_recorded_unhealthy_pods_are_the_ones_kubectl_shows_unhealthy(
    source: PrometheusSource, fixtures_dir: Path
) -> None:
    found = unhealthy(source.unhealthy_pods_at(END), "scraper")

    assert found == {
        "e2e-container-creating": ("CrashLoopBackOff", 0, "Completed"),
        "e2e-container-pending": ("Pending", 0, ""),
        **{
            f"e2e-failjob-{suffix}": ("Failed", 0, "")
            for suffix in ("cdhgp", "nkct8", "qrtpp", "sgmz9")
        },
    }  # the completed CronJob pod (not ready, Succeeded) is not unhealthy


def test_recorded_hpa(source: PrometheusSource, fixtures_dir: Path) -> None:
    hpas = source.hpa_replicas("scraper", END - MINUTE, END)

    assert set(hpas["hpa"]) == {"e2e-hpa"}
    assert set(hpas["current_replicas"]) == {1.0}
    assert set(hpas["desired_replicas"]) == {0.0}
    assert (set(hpas["min_replicas"]), set(hpas["max_replicas"])) == ({1.0}, {10.0})


# --- escaping ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("shop", '"shop"'),
        ('a"b', '"a\\"b"'),
        ("back\\slash", '"back\\\\slash"'),
        ("new\nline", '"new\\nline"'),
        (HOSTILE, '"\\"} or vector(1) #"'),
        ('\\"', '"\\\\\\""'),
        ("nul\x00", '"nul\\x00"'),
    ],
)
def test_promql_string_escapes_backslash_quote_and_newline(value: str, literal: str) -> None:
    assert promql_string(value) == literal
    assert promql_structure_problem(f"up{{namespace={promql_string(value)}}}") is None


def test_escaped_label_values_match_exactly_on_a_real_prometheus(
    prometheus: ServedPrometheus,
) -> None:
    connection = prometheus_connect(prometheus.url, 5.0)
    for value in ESCAPE_PROBE_VALUES:
        result = connection.query(f"invdash_escape_probe{{value={promql_string(value)}}}", END)
        assert [series["metric"]["value"] for series in result] == [value]


@pytest.mark.parametrize("namespace", [HOSTILE, 'shop" or "1"="1', "shop\\", "shop\n"])
def test_hostile_namespace_returns_no_rows_and_no_error(
    source: PrometheusSource, namespace: str
) -> None:
    assert source.pod_usage(namespace, END - MINUTE, END).empty
    assert source.container_resources(namespace, at=END).empty
    assert source.hpa_replicas(namespace, END - MINUTE, END).empty


def test_a_namespace_named_like_an_injection_matches_only_itself(
    source: PrometheusSource,
) -> None:
    usage = source.pod_usage(EVIL_NAMESPACE, END - MINUTE, END)
    assert set(usage["pod"]) == {"evil-0"}
    assert set(usage["cpu_cores"]) == {1.0}


def test_rendered_queries_hold_the_namespace_as_one_string_literal() -> None:
    query = PromQLCatalogue().render("pod_memory_bytes", namespace=HOSTILE)
    assert query == (
        "sum by (namespace, pod) (container_memory_working_set_bytes"
        '{container!="", container!="POD", image!="", namespace="\\"} or vector(1) #"})'
    )


# --- choose_step ------------------------------------------------------------------------------

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("span", "step"),
    [
        (dt.timedelta(0), dt.timedelta(seconds=15)),
        (dt.timedelta(hours=1), dt.timedelta(seconds=15)),
        (dt.timedelta(seconds=15 * 999), dt.timedelta(seconds=15)),  # exactly 1000 points
        (dt.timedelta(seconds=15 * 999 + 1), dt.timedelta(seconds=30)),
        (dt.timedelta(hours=6), dt.timedelta(seconds=30)),
        (dt.timedelta(days=1), dt.timedelta(minutes=2)),
        (dt.timedelta(days=7), dt.timedelta(minutes=15)),
        (dt.timedelta(days=30), dt.timedelta(hours=1)),
        (dt.timedelta(days=365), dt.timedelta(hours=12)),
        (dt.timedelta(days=730), dt.timedelta(days=1)),
        (dt.timedelta(days=1000), dt.timedelta(days=2)),
    ],
)
def test_choose_step_is_the_smallest_nice_step_within_1000_points(
    span: dt.timedelta, step: dt.timedelta
) -> None:
    assert choose_step(T0, T0 + span) == step


def test_choose_step_keeps_every_span_within_max_points() -> None:
    nice = [15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400]
    for seconds in range(0, 40 * 86400, 3607):
        for max_points in (2, 100, 1000):
            step = choose_step(T0, T0 + dt.timedelta(seconds=seconds), max_points)
            assert seconds / step.total_seconds() + 1 <= max_points
            smaller = [s for s in nice if s < step.total_seconds()]
            if smaller:
                assert seconds / smaller[-1] + 1 > max_points


def test_choose_step_rejects_reversed_ranges_and_too_few_points() -> None:
    with pytest.raises(ValueError, match="before start"):
        choose_step(T0, T0 - MINUTE)
    with pytest.raises(ValueError, match="at least 2"):
        choose_step(T0, T0 + MINUTE, max_points=1)


# --- the catalogue ----------------------------------------------------------------------------


def test_default_catalogue_is_valid_and_names_every_query() -> None:
    catalogue = PromQLCatalogue()
    assert set(catalogue.queries) == set(DEFAULT_QUERIES)
    for name in DEFAULT_QUERIES:
        assert promql_structure_problem(catalogue.render(name, namespace="shop")) is None


def test_override_file_replaces_a_query_and_sets_selectors(
    prometheus: ServedPrometheus, tmp_path: Path
) -> None:
    overrides = tmp_path / "queries.toml"
    overrides.write_text(
        "[queries]\n"
        "pod_memory_bytes = '''\n"
        "  # twice the working set, to tell the override apart\n"
        "  2 * sum by (namespace, pod) (container_memory_working_set_bytes{$cadvisor_selector})\n"
        "'''\n",
        encoding="utf-8",
    )
    catalogue = PromQLCatalogue.from_file(overrides)
    usage = PrometheusSource(prometheus_connect(prometheus.url, 5.0), catalogue).pod_usage(
        "payments", END - MINUTE, END
    )
    assert set(usage["memory_bytes"]) == {2 * 64 * MI}
    assert set(usage["cpu_cores"]) == {0.125}  # the other queries stay the defaults


def test_cadvisor_selector_is_a_setting(prometheus: ServedPrometheus, tmp_path: Path) -> None:
    kube_prometheus = tmp_path / "kube-prometheus.toml"
    kube_prometheus.write_text(
        '[selectors]\ncadvisor = \'job="kubelet", metrics_path="/metrics/cadvisor"\'\n',
        encoding="utf-8",
    )
    catalogue = PromQLCatalogue.from_file(kube_prometheus)
    assert catalogue.render("pod_memory_bytes", namespace="shop") == (
        'sum by (namespace, pod) (container_memory_working_set_bytes{job="kubelet", '
        'metrics_path="/metrics/cadvisor", container!="", container!="POD", image!="", '
        'namespace="shop"})'
    )
    # The recorded and synthetic series carry no job label: nothing matches.
    source = PrometheusSource(prometheus_connect(prometheus.url, 5.0), catalogue)
    assert source.pod_usage("shop", END - MINUTE, END).empty


def test_http_names_are_settings(tmp_path: Path) -> None:
    settings = tmp_path / "http.toml"
    settings.write_text(
        'rate_window = "2m"\n'
        "[http]\n"
        'requests_metric = "nginx_ingress_controller_requests"\n'
        'status_label = "status"\n'
        'service_label = "ingress"\n'
        "[selectors]\n"
        "http = 'namespace=\"shop\"'\n",
        encoding="utf-8",
    )
    catalogue = PromQLCatalogue.from_file(settings)
    assert catalogue.render("service_error_rate", services=["checkout", "a.b"]) == (
        "sum by (ingress) (rate(nginx_ingress_controller_requests"
        '{status=~"5..", namespace="shop", ingress=~"checkout|a\\\\.b"}[2m]))'
    )


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            "[queries]\npod_cpu_cores = 'sum by (namespace, pod (rate(x[5m]))'\n",
            'query "pod_cpu_cores" in {path}: unbalanced "(" at column 8',
        ),
        (
            "[queries]\npod_cpu_cores = 'sum(rate(x[5m])))'\n",
            'query "pod_cpu_cores" in {path}: unbalanced ")" at column 17',
        ),
        (
            "[queries]\nhpa_current_replicas = 'max(x{namespace=\"a})'\n",
            'query "hpa_current_replicas" in {path}: unterminated string starting at column 17',
        ),
        (
            "[queries]\nhpa_desired_replicas = 'max(x{a=\"b\")}'\n",
            'query "hpa_desired_replicas" in {path}: ")" at column 12 does not close "{" at '
            "column 6",
        ),
        (
            "[queries]\ncontainer_restarts = '  # only a comment'\n",
            'query "container_restarts" in {path}: empty query',
        ),
        (
            "[queries]\npod_memory_bytes = 'sum(x{$namespace})'\n",
            'query "pod_memory_bytes" in {path}: unknown placeholder $namespace at column 7',
        ),
        (
            "[queries]\npod_cpu = 'sum(x)'\n",
            'unknown query "pod_cpu" in {path}',
        ),
        (
            "[selectors]\ncadvisor = 'job=\"kubelet'\n",
            'selector "cadvisor" in {path}: unterminated string starting at column 5',
        ),
        (
            "[http]\nstatus_label = 'status-code'\n",
            "http setting \"status_label\" in {path}: 'status-code' is not a label name",
        ),
        ("[query]\n", "{path}: unknown key 'query'"),
        ("[queries\n", "{path}: not valid TOML"),
    ],
)
def test_malformed_override_file_raises_naming_the_query(
    tmp_path: Path, toml: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(PromQLConfigError) as raised:
        PromQLCatalogue.from_file(path)
    assert str(raised.value).startswith(message.replace("{path}", str(path)))
    assert "\n" not in str(raised.value)


def test_multiline_override_reports_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[queries]\npod_cpu_cores = '''\nsum(\n  rate(x[5m]\n)'''\n", encoding="utf-8")
    with pytest.raises(PromQLConfigError, match=r'unbalanced "\(" at line 1, column 4'):
        PromQLCatalogue.from_file(path)


def test_prometheus_parse_error_is_a_one_line_query_error(
    prometheus: ServedPrometheus,
) -> None:
    # Balanced, so the structural check passes; Prometheus itself rejects it.
    catalogue = PromQLCatalogue(queries={"pod_memory_bytes": "sum by (namespace pod) (up)"})
    source = PrometheusSource(prometheus_connect(prometheus.url, 5.0), catalogue)
    with pytest.raises(PrometheusQueryError) as raised:
        source.pod_usage("shop", END - MINUTE, END)
    message = str(raised.value)
    assert message.startswith(f'query "pod_memory_bytes" to {prometheus.url} failed: HTTP 400')
    assert "parse error" in message
    assert "\n" not in message


# --- failures: down, hanging, 5xx; health -----------------------------------------------------


def test_check_health_of_a_serving_prometheus(source: PrometheusSource) -> None:
    health = source.check_health()
    assert health.ok
    assert source.url in health.message


def test_prometheus_that_is_down_fails_fast_with_a_readable_message() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    source = PrometheusSource(prometheus_connect(url, 5.0))

    started = time.monotonic()
    with pytest.raises(PrometheusQueryError) as raised:
        source.pod_usage("shop", END - MINUTE, END)
    assert time.monotonic() - started < 1.0
    assert str(raised.value) == f'query "pod_cpu_cores" to {url} failed: connection refused'

    health = source.check_health()
    assert not health.ok
    assert health.message == f"Prometheus at {url}: connection refused"


@pytest.fixture
def hanging_server() -> Iterator[str]:
    """A TCP server that accepts connections and never answers."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=2)
        for connection in accepted:
            connection.close()
        listener.close()


def test_hanging_prometheus_fails_within_the_timeout(hanging_server: str) -> None:
    timeout = 1.0
    source = PrometheusSource(prometheus_connect(hanging_server, timeout))

    started = time.monotonic()
    with pytest.raises(PrometheusQueryError) as raised:
        source.container_resources("shop")
    assert time.monotonic() - started < timeout + 1.0
    assert str(raised.value) == (
        f'query "container_cpu_cores" to {hanging_server} failed: no answer within 1 s'
    )

    started = time.monotonic()
    health = source.check_health()
    assert time.monotonic() - started < timeout + 1.0
    assert health.message == f"Prometheus at {hanging_server}: no answer within 1 s"


@dataclass
class Recorded:
    url: str
    requests: list[tuple[str, str | None]]


@pytest.fixture
def unavailable_server() -> Iterator[Recorded]:
    """An HTTP server answering every request with 503 and an HTML body; records each request's
    path and Authorization header."""
    seen: list[tuple[str, str | None]] = []

    class Unavailable(QuietHandler):
        def do_GET(self) -> None:
            seen.append((self.path, self.headers.get("Authorization")))
            body = b"<html>\n<h1>503 Service Unavailable</h1>\nNo server is available\n</html>\n"
            self.send_response(503)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with http_server(Unavailable) as url:
        yield Recorded(url, seen)


def test_5xx_is_a_query_error_sent_once_with_the_bearer_token(
    unavailable_server: Recorded, tmp_path: Path
) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret-token\n", encoding="utf-8")
    url = unavailable_server.url
    source = PrometheusSource(prometheus_connect(url, 2.0, bearer_token_file=token), services=["a"])

    with pytest.raises(PrometheusQueryError) as raised:
        source.service_traffic(END - MINUTE, END)
    assert str(raised.value) == (
        f'query "service_request_rate" to {url} failed: HTTP 503 Service Unavailable: <html>'
    )
    assert len(unavailable_server.requests) == 1  # no retries
    path, authorization = unavailable_server.requests[0]
    assert path.startswith("/api/v1/query_range?")
    assert authorization == "Bearer s3cret-token"

    health = source.check_health()
    assert health.status == "error"
    assert health.message == f"Prometheus at {url}: HTTP 503 Service Unavailable: <html>"
    assert health.details == {"url": url}


def test_unreadable_token_file_is_a_readable_health_error(
    unavailable_server: Recorded, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-token"
    source = PrometheusSource(prometheus_connect(unavailable_server.url, 2.0, missing))

    health = source.check_health()
    assert not health.ok
    assert f"cannot read bearer token file {missing}" in health.message
    assert unavailable_server.requests == []


# --- the test server's own converter ----------------------------------------------------------


def test_exposition_converter_shifts_millisecond_timestamps_to_seconds_and_repeats(
    tmp_path: Path,
) -> None:
    recorded = (
        "# HELP up a help text\n"
        "# TYPE up gauge\n"
        'up{job="a",path="x\\"y"} 1 1768329614523\n'
        'up{job="b"} 0 1768329604523\n'
        "# TYPE builds_total counter\n"
        "builds_total 7\n"
    )
    families = exposition_to_families(recorded, end=1_000_000.0, repeats=2, interval_seconds=15)
    written = write_openmetrics(tmp_path / "x.om", families).read_text(encoding="utf-8")

    assert written == (
        "# TYPE up gauge\n"
        'up{job="b"} 0 999975.000\n'
        'up{job="a",path="x\\"y"} 1 999985.000\n'
        'up{job="b"} 0 999990.000\n'
        'up{job="a",path="x\\"y"} 1 1000000.000\n'
        "# TYPE builds_total counter\n"
        "builds_total 7 999985.000\n"
        "builds_total 7 1000000.000\n"
        "# EOF\n"
    )


def test_a_prometheus_behind_a_redirect_answers_from_where_it_is_sent(
    prometheus: ServedPrometheus,
) -> None:
    """An address that redirects (a proxy's path prefix, http to https) is followed: only the
    final answer is judged, as the library itself judged it."""

    class Moved(QuietHandler):
        def do_GET(self) -> None:
            self.send_response(307)
            self.send_header("Location", prometheus.url + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

    with http_server(Moved) as moved:
        source = PrometheusSource(prometheus_connect(moved, 5.0), services=SERVICES)
        assert source.check_health().status == "ok"
        direct = PrometheusSource(prometheus_connect(prometheus.url, 5.0), services=SERVICES)
        pd.testing.assert_frame_equal(
            source.service_traffic(END - MINUTE, END), direct.service_traffic(END - MINUTE, END)
        )
