"""Faults of the telemetry sources with real processes: Prometheus killed and started again,
Prometheus blackholed (a socket that accepts and never answers), the Kubernetes API answering
500 or 403 or hanging. The app is served over real HTTP on 127.0.0.1 and asked as a screen asks,
a refresh every interval. For each fault: every callback answers 200 within the source's
timeout plus 1 s; the affected panels keep their last good data and say it is stale and why;
the inventory panels keep updating; the trivial callback stays fast (no worker blocked); and
the panels are fresh again within two refresh intervals of the source coming back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import kubernetes
import pytest
import sqlalchemy as sa
from kube_api_server import KubeApiServer, ready_pod
from local_service import free_port
from prometheus_server import Family, PrometheusServer, Series, create_blocks, write_openmetrics
from refreshing_screen import Screen, fresh, newest_fetch, serving, stale, stale_reason
from small_inventory import POLICY, build_small_inventory

from dashboard.app import create_app
from dashboard.settings import Settings, load_settings
from dashboard.sources import Sources, inventory_source
from queries.kubernetes import KubernetesSource
from queries.prometheus import PrometheusSource, prometheus_connect

REFRESH = 2  # seconds: short, so that each phase takes a few seconds
TIMEOUT = 1.0  # each telemetry source's timeout
# An answer may take the source's timeout, plus 1 s (the bound).
ANSWER_BOUND = TIMEOUT + 1.0
CALLBACKS = {
    "sre": "sre-figure.figure",  # Prometheus (traffic) and the Kubernetes API (events)
    "pods": "ops-kpi-pods-value.children",  # the Kubernetes API
    "stock": "ops-scope.children",  # the inventory database only
    "trivial": "exec-abc-grid.exportDataAsCsv",
}
BESIDE = ("stock", "trivial")  # refreshed beside each asked panel: they must keep answering

POD = ready_pod("order-service-0", "shop/order-service:2.1", labels={"app": "order-service"})


class Blackhole:
    """A TCP proxy to ``target`` that can stop answering: in ``hole`` mode it accepts every
    connection and never reads or writes, as a dead route or a hung server does."""

    def __init__(self, target: str) -> None:
        host, port = target.removeprefix("http://").rsplit(":", 1)
        self._target = (host, int(port))
        self.hole = False
        self._listener = socket.create_server(("127.0.0.1", free_port()))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.hole:
                self._held.append(client)  # open, silent
                continue
            threading.Thread(target=self._pipe_both, args=(client,), daemon=True).start()

    def _pipe_both(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self._target, timeout=5)
        except OSError:
            client.close()
            return
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        """Forward until either end closes; in hole mode, swallow (a kept-alive connection
        made before the hole goes silent too, as on a dead route)."""
        try:
            while data := source.recv(65536):
                if not self.hole:
                    sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        for held in self._held:
            held.close()


def traffic_families(now: dt.datetime) -> list[Family]:
    """An hour of order-service requests, so the last good data has something in it."""
    start = now.timestamp() - 3600
    points = [(start + 15 * i, 10.0 * 15 * i) for i in range(241)]
    labels = {"service": "order-service", "namespace": "shop", "code": "200"}
    return [Family("http_requests", "counter", [Series(labels, points)])]


@dataclass
class Served:
    screen: Screen
    prometheus: PrometheusServer
    blackhole: Blackhole
    api: KubeApiServer


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    work = tmp_path_factory.mktemp("faults")
    url = f"sqlite:///{work / 'inventory.sqlite3'}"
    build_small_inventory(sa.create_engine(url), as_of=dt.datetime.now(dt.UTC))
    blocks = create_blocks(
        write_openmetrics(work / "series.om", traffic_families(dt.datetime.now(dt.UTC))),
        work / "blocks",
    )
    settings: Settings = load_settings(
        database_url=url,
        refresh_seconds=REFRESH,
        demand_window_days=POLICY.demand_window_days,
        prometheus_timeout_seconds=TIMEOUT,
        kube_timeout_seconds=TIMEOUT,
        services="order-service",
    )
    prometheus = PrometheusServer(blocks)
    blackhole = Blackhole(prometheus.url)
    try:
        with KubeApiServer(pods=[POD]) as api:
            configuration = kubernetes.client.Configuration()
            configuration.host = api.url
            core_v1 = kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(configuration))
            sources = Sources(
                inventory_source(settings),
                KubernetesSource(core_v1, timeout_seconds=TIMEOUT),
                PrometheusSource(
                    prometheus_connect(blackhole.url, TIMEOUT), services=["order-service"]
                ),
            )
            with serving(
                create_app(settings, sources), CALLBACKS, REFRESH, ANSWER_BOUND, BESIDE
            ) as screen:
                yield Served(screen, prometheus, blackhole, api)
    finally:
        blackhole.close()
        prometheus.stop()


def test_healthy_sources_fill_every_panel(served: Served) -> None:
    served.screen.refresh_until("sre", fresh, intervals=10)
    served.screen.refresh_until("pods", lambda text: "order-service-0" in text, intervals=10)


def test_prometheus_killed_then_started_again(served: Served) -> None:
    served.screen.refresh_until("sre", fresh, intervals=10)
    _, before = served.screen.ask("stock")
    served.prometheus.kill()
    text, _ = served.screen.refresh_until("sre", stale("Prometheus"), intervals=6)
    assert "order lines" in text  # the figure is still drawn, with the last good data
    # The inventory panels go on updating meanwhile.
    served.screen.refresh_until("stock", lambda text: newest_fetch(text) > newest_fetch(before), 3)
    served.prometheus.start_again()
    _, seconds = served.screen.refresh_until("sre", fresh, intervals=2 + 1)
    assert seconds <= 2 * REFRESH + ANSWER_BOUND


def test_prometheus_blackholed_then_answering_again(served: Served) -> None:
    served.screen.refresh_until("sre", fresh, intervals=10)
    served.blackhole.hole = True
    try:
        text, _ = served.screen.refresh_until("sre", stale("Prometheus"), intervals=8)
        reason = stale_reason(text)
        assert reason is not None, text[-3000:]
        assert "no answer within 1 s" in reason, reason
        served.screen.ask("trivial")  # no worker is left blocked
    finally:
        served.blackhole.hole = False
    _, seconds = served.screen.refresh_until("sre", fresh, intervals=2 + 2)
    assert seconds <= 2 * REFRESH + 2 * ANSWER_BOUND


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (lambda api: api.fail("/api/v1/pods"), "etcdserver"),
        (lambda api: api.forbid("/api/v1/pods"), "forbidden"),
        (lambda api: api.delay("/api/v1/pods", 30), "timed out"),
    ],
    ids=["500", "403", "hanging"],
)
def test_the_kubernetes_api_failing_keeps_the_last_pods_and_says_why(
    served: Served, fault: Callable[[KubeApiServer], None], reason: str
) -> None:
    served.screen.refresh_until("pods", lambda text: "order-service-0" in text and fresh(text), 10)
    fault(served.api)
    try:
        text, _ = served.screen.refresh_until("pods", lambda t: "Stale data" in t, intervals=8)
        assert "order-service-0" in text  # the last good pods stay on the screen
        assert reason in text.lower(), text[:3000]
    finally:
        served.api.heal("/api/v1/pods")
    _, seconds = served.screen.refresh_until("pods", fresh, intervals=2 + 2)
    assert seconds <= 2 * REFRESH + 2 * ANSWER_BOUND

    for name in CALLBACKS:
        assert "Traceback" not in served.screen.ask(name)[1]
