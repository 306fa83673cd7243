"""The three views on live sources: the real kubernetes client against the local API server, a
real Prometheus over backfilled series with known answers, and the seeded inventory database.
Nothing here is demo data: every number on the page comes from these three."""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Callable, Iterator
from typing import Any

import kubernetes
import pytest
import sqlalchemy as sa
from dash.testing.composite import DashComposite
from kube_api_server import KubeApiServer, rfc3339
from prometheus_server import (
    Family,
    PrometheusServer,
    Series,
    create_blocks,
    merge_families,
    write_openmetrics,
)
from screen_actions import click_time, open_on_a_screen
from small_inventory import add_sales_order
from sqlalchemy.orm import Session

from components.formatting import count
from dashboard.app import create_app
from dashboard.settings import Settings, load_settings
from dashboard.sources import Sources, inventory_source
from demo.seed import seed_database
from queries.kubernetes import KubernetesSource
from queries.prometheus import PrometheusSource, prometheus_connect
from queries.schema import Sku, Warehouse

NOW = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
HOUR_END = NOW.replace(minute=0)  # the KPI review's periods end on the hour
WEEK = dt.timedelta(days=7)
MINUTE = dt.timedelta(minutes=1)
SECOND = dt.timedelta(seconds=1)
CRASH_FROM, CRASH_UNTIL = NOW - 50 * MINUTE, NOW - 30 * MINUTE  # the payments pod crashloops

# Requests per second by service and status code, this week and the week before.
TRAFFIC = {
    ("order-service", "200"): (10.0, 10.0),
    ("order-service", "500"): (0.1, 0.3),
    ("payments", "200"): (5.0, 5.0),
    ("admin", "500"): (50.0, 50.0),  # not a configured service: must not count
}
AVAILABILITY_NOW = 1 - 0.1 / 15.1
AVAILABILITY_BEFORE = 1 - 0.3 / 15.3


def _samples(
    value: Callable[[float], float], since: dt.datetime, every: int = 60
) -> list[tuple[float, float]]:
    first, last = int(since.timestamp()), int(NOW.timestamp())
    return [(float(t), value(float(t))) for t in range(first, last + 1, every)]


def _counter(per_second: Callable[[float], float], since: dt.datetime) -> list[tuple[float, float]]:
    total, out, previous = 0.0, [], None
    for t, rate in _samples(per_second, since):
        total += 0.0 if previous is None else rate * (t - previous)
        previous = t
        out.append((t, total))
    return out


def live_families() -> list[Family]:
    split = (HOUR_END - WEEK).timestamp()
    history = HOUR_END - 2 * WEEK - dt.timedelta(hours=2)
    wave_from = (NOW - dt.timedelta(hours=3)).timestamp()

    def wave(t: float) -> float:
        # Traffic that moves in the last hours, so it can correlate with orders at all.
        return 2 * math.sin((t - wave_from) / 600) if t >= wave_from else 0.0

    requests = Family("http_requests_total", "counter", [
        Series({"service": service, "code": code},
               _counter(lambda t, now=now, before=before, code=code: (
                   (now if t >= split else before) + (wave(t) if code == "200" else 0.0)
               ), history))
        for (service, code), (now, before) in TRAFFIC.items()
    ])  # fmt: skip
    recent = NOW - dt.timedelta(hours=3)
    bucket = "http_request_duration_seconds_bucket"
    latency = Family("http_request_duration_seconds", "histogram", [
        Series({"service": "order-service", "le": le}, _counter(lambda t, r=rate: r, recent),
               sample_name=bucket)
        for le, rate in (("0.1", 6.0), ("0.25", 9.0), ("0.5", 10.1), ("+Inf", 10.1))
    ])  # fmt: skip
    pods = [("shop", "order-service-0", "api"), ("shop", "payments-0", "api")]
    cpu = Family("container_cpu_usage_seconds_total", "counter", [
        Series({"namespace": ns, "pod": pod, "container": c, "image": "shop/app:1"},
               _counter(lambda t: 0.2, recent))
        for ns, pod, c in pods
    ])  # fmt: skip
    memory = Family("container_memory_working_set_bytes", "gauge", [
        Series({"namespace": ns, "pod": pod, "container": c, "image": "shop/app:1"},
               _samples(lambda t: 200e6, recent))
        for ns, pod, c in pods
    ])  # fmt: skip
    crashing = (CRASH_FROM.timestamp(), CRASH_UNTIL.timestamp())
    waiting = Family("kube_pod_container_status_waiting_reason", "gauge", [
        Series({"namespace": "shop", "pod": "payments-0", "container": "api",
                "reason": "CrashLoopBackOff"},
               _samples(lambda t: 1.0 if crashing[0] <= t < crashing[1] else 0.0, recent)),
    ])  # fmt: skip
    hpa = Family("kube_horizontalpodautoscaler_status_current_replicas", "gauge", [
        Series({"namespace": "shop", "horizontalpodautoscaler": "order-service"},
               _samples(lambda t: 2.0, recent)),
    ])  # fmt: skip
    return [requests, latency, cpu, memory, waiting, hpa]


def pod(name: str, *, ready: bool, waiting: str | None = None, restarts: int = 0) -> dict[str, Any]:
    state: dict[str, Any] = {"waiting": {"reason": waiting}} if waiting else {"running": {}}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name, "namespace": "shop", "uid": f"uid-{name}",
            "creationTimestamp": rfc3339(NOW - dt.timedelta(hours=5)),
        },
        "spec": {"containers": [{"name": "api", "image": "shop/app:1"}]},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [{
                "name": "api", "image": "shop/app:1", "imageID": "", "ready": ready,
                "restartCount": restarts, "state": state,
            }],
        },
    }  # fmt: skip


def event(name: str, kind: str, type_: str, reason: str, message: str, ago: int) -> dict[str, Any]:
    seen = rfc3339(NOW - ago * MINUTE)
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{name}.{ago}", "namespace": "shop", "creationTimestamp": seen},
        "involvedObject": {"kind": kind, "name": name, "namespace": "shop"},
        "type": type_, "reason": reason, "message": message, "count": 1,
        "firstTimestamp": seen, "lastTimestamp": seen,
    }  # fmt: skip


PODS = [
    pod("order-service-0", ready=True),
    pod("order-service-1", ready=False, waiting="CrashLoopBackOff", restarts=7),
    pod("payments-0", ready=True, restarts=4),
]
EVENTS = [
    event(
        "order-service-1", "Pod", "Warning", "BackOff", "Back-off restarting failed container", 8
    ),
    event("order-service", "Deployment", "Normal", "ScalingReplicaSet", "Scaled up to 2", 25),
]


def _orders_every_minute_of_the_last_hour(engine: sa.Engine) -> None:
    """Sales orders in each minute of the hour before NOW, 1 to 7 lines a minute.

    The demo's own orders follow its day profile, so at night its last hour can be flat (or
    empty), and the order/traffic correlation on /sre then has nothing to correlate: these make
    the hour vary whatever the clock says.
    """
    with Session(engine) as session, session.begin():
        warehouse_id = session.scalars(sa.select(Warehouse.id).order_by(Warehouse.id)).first()
        sku_ids = session.scalars(sa.select(Sku.id).order_by(Sku.id).limit(7)).all()
        assert warehouse_id is not None
        assert len(sku_ids) == 7
        for minute in range(60):
            add_sales_order(
                session,
                number=f"LIVE-{minute:02d}",
                warehouse_id=warehouse_id,
                ordered_at=(NOW - (60 - minute) * MINUTE + 10 * SECOND).replace(tzinfo=None),
                status="shipped",
                lines=[(sku_id, 1, 1) for sku_id in sku_ids[: 1 + (minute * 3) % 7]],
            )


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Sources]]:
    work = tmp_path_factory.mktemp("views-live")
    url = f"sqlite:///{work}/inventory.sqlite3"
    engine = sa.create_engine(url)
    seed_database(engine, scale="demo", seed=7)
    _orders_every_minute_of_the_last_hour(engine)
    blocks = create_blocks(
        write_openmetrics(work / "series.om", merge_families(live_families())), work / "blocks"
    )
    prometheus = PrometheusServer(blocks)
    settings = load_settings(database_url=url, telemetry="live", refresh_seconds=30)
    try:
        with KubeApiServer(pods=PODS, events=EVENTS) as api:
            configuration = kubernetes.client.Configuration()
            configuration.host = api.url
            core_v1 = kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(configuration))
            yield (
                settings,
                Sources(
                    inventory_source(settings),
                    KubernetesSource(core_v1, timeout_seconds=5),
                    PrometheusSource(
                        prometheus_connect(prometheus.url, 10),
                        services=settings.service_names,
                    ),
                ),
            )
    finally:
        prometheus.stop()


def _open(dash_duo: Any, live: tuple[Settings, Sources], path: str) -> None:
    settings, sources = live
    open_on_a_screen(dash_duo, create_app(settings, sources), path)


def _no_demo_anywhere(dash_duo: Any) -> None:
    # (Not "demo cluster": the own-health panel lists every source this test process has run.)
    text = dash_duo.driver.execute_script("return document.body.innerText")
    assert "DEMO DATA" not in text
    status = dash_duo.find_element("#source-status").text
    assert "demo" not in status, status


def test_ops_on_live_sources_counts_the_api_servers_pods(
    dash_duo: DashComposite, live: tuple[Settings, Sources]
) -> None:
    _open(dash_duo, live, "/ops?kiosk=1")
    dash_duo.wait_for_text_to_equal("#ops-kpi-pods-value", "⚠ 1", timeout=30)
    dash_duo.wait_for_text_to_equal("#ops-kpi-pods-hint", f"of {count(len(PODS))} pods", timeout=15)
    dash_duo.wait_for_contains_text("#ops-pod-tiles", "CrashLoopBackOff", timeout=20)
    dash_duo.wait_for_element("#ops-orders .bars path", timeout=30)
    dash_duo.wait_for_contains_text("#source-status", "Kubernetes API: ok", timeout=30)
    dash_duo.wait_for_contains_text("#source-status", "Prometheus", timeout=15)
    _no_demo_anywhere(dash_duo)
    assert dash_duo.get_logs() == []


def test_sre_on_live_sources_draws_prometheus_traffic_and_lists_pods_unhealthy_then(
    dash_duo: DashComposite, live: tuple[Settings, Sources]
) -> None:
    _open(dash_duo, live, "/sre?range=1h")
    dash_duo.wait_for_element("#sre-figure .scatterlayer .trace", timeout=30)
    dash_duo.wait_for_contains_text("#sre-kpi-correlation-hint", "r =", timeout=30)
    # 1 warning event (BackOff) in the hour; the ScalingReplicaSet event is a notable Normal one.
    dash_duo.wait_for_text_to_equal("#sre-kpi-events-value", "▲ 1", timeout=20)
    requests_per_second = dash_duo.driver.execute_script(
        """
        const gd = document.querySelector('#sre-figure .js-plotly-plot');
        const trace = gd._fullData.find(t => t.name === 'requests / s');
        return trace ? Array.from(trace.y).filter(Number.isFinite) : null;
        """
    )
    assert requests_per_second, "no request-rate trace"
    # order-service and payments: 15.1/s, each 200s swinging by 2/s; admin's 50/s left out.
    # (The median: the series end when this module was imported, and rates fade after that.)
    assert 11 < statistics.median(requests_per_second) < 19.2, requests_per_second
    _no_demo_anywhere(dash_duo)

    moment = CRASH_FROM + 10 * MINUTE
    click_time(dash_duo, "#sre-figure", moment)
    dash_duo.wait_for_contains_text("#sre-clicked", "shop/payments-0: CrashLoopBackOff", timeout=30)
    assert dash_duo.get_logs() == []


def test_exec_on_live_sources_weighs_availability_by_requests(
    dash_duo: DashComposite, live: tuple[Settings, Sources]
) -> None:
    _open(dash_duo, live, "/exec?period=week")
    dash_duo.wait_for_element("#exec-availability .exec-value", timeout=30)
    # Value and change in one script: a refresh re-renders the cards between separate reads.
    value, change = dash_duo.driver.execute_script(
        "const card = document.querySelector('#exec-availability');"
        "return [card.querySelector('.exec-value').getAttribute('data-value'),"
        " card.querySelector('.exec-change').innerText];"
    )
    # One 30-minute step straddles the change between the weeks: within 1e-4 of the exact share.
    assert float(value) == pytest.approx(AVAILABILITY_NOW, abs=1e-4)
    assert change.startswith("▲"), change
    assert "vs previous (98.0" in change or "vs previous (98" in change, change
    dash_duo.wait_for_element("#exec-availability .exec-spark", timeout=15)
    _no_demo_anywhere(dash_duo)
    assert dash_duo.get_logs() == []
