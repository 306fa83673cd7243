"""The Cluster page on live sources: the real kubernetes client against the local API server
serving recorded pods, and a real Prometheus serving the recorded cAdvisor and kube-state-metrics
scrapes. Then each source fails in turn and only its own panels go stale."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import kubernetes
import pytest
from dash.testing.composite import DashComposite
from kube_api_server import KubeApiServer, load_fixture_objects
from prometheus_server import (
    PrometheusServer,
    create_blocks,
    exposition_to_families,
    merge_families,
    write_openmetrics,
)
from small_inventory import small_inventory_settings

from dashboard.app import create_app
from dashboard.sources import Sources, inventory_source
from queries.kubernetes import KubernetesSource
from queries.prometheus import PrometheusSource, prometheus_connect

RECORDED = ("nri-k8s-1.34_kubelet_cadvisor_metrics.prom", "nri-k8s-1.34_ksm_metrics.prom")
FAMILIES = (
    "container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
    "kube_pod_container_resource_requests", "kube_pod_container_resource_limits",
    "kube_pod_container_status_restarts_total", "kube_pod_container_status_last_terminated_reason",
)  # fmt: skip
# What `kubectl get pods` prints for recorded pods (worked out in tests/queries/test_kubernetes.py).
EXPECTED_STATUS = {
    "e2e-container-creating": "CrashLoopBackOff",
    "e2e-container-pending": "Pending",
    "e2e-cronjob-29472159-pvnhf": "Completed",
    "e2e-failjob-cdhgp": "Error",
    "coredns-66bc5c9577-d98t2": "Running",
}


@pytest.fixture(scope="module")
def recorded_prometheus(
    fixtures_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrometheusServer]:
    end = time.time() // 15 * 15
    families = []
    for name in RECORDED:
        text = (fixtures_dir / "prometheus" / name).read_text(encoding="utf-8")
        families += exposition_to_families(
            text, end=end, repeats=21, interval_seconds=15, families=FAMILIES
        )
    work = tmp_path_factory.mktemp("live-tsdb")
    blocks = create_blocks(
        write_openmetrics(work / "series.om", merge_families(families)), work / "blocks"
    )
    server = PrometheusServer(blocks)
    yield server
    server.stop()


def test_live_cluster_page_shows_recorded_statuses_and_usage_then_goes_stale_per_source(
    dash_duo: DashComposite,
    fixtures_dir: Path,
    recorded_prometheus: PrometheusServer,
    sqlite_url: str,
) -> None:
    settings = small_inventory_settings(sqlite_url, telemetry="live", refresh_seconds=2)
    objects = load_fixture_objects(fixtures_dir)
    with KubeApiServer(
        pods=objects["nri-k8s-1.34_podlist.yaml"],
        nodes=objects["nri-k8s-1.34_nodelist.yaml"],
        events=objects["k9s_event_pulled_gke.json"],
    ) as api:
        configuration = kubernetes.client.Configuration()
        configuration.host = api.url
        core_v1 = kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(configuration))
        sources = Sources(
            inventory_source(settings),
            KubernetesSource(core_v1, timeout_seconds=2),
            PrometheusSource(prometheus_connect(recorded_prometheus.url, 2)),
        )
        dash_duo.start_server(create_app(settings, sources))
        dash_duo.wait_for_page(url=f"{dash_duo.server_url}/cluster")
        for pod in EXPECTED_STATUS:
            dash_duo.wait_for_element(f'#cl-pod-tiles .pod-name[title$="/{pod}"]', timeout=20)
        # Read every tile in one script call: the page re-renders them on each 2 s refresh.
        pairs = dash_duo.driver.execute_script(
            "return [...document.querySelectorAll('#cl-pod-tiles .pod-tile')].map("
            "t => [t.querySelector('.pod-name').textContent, t.querySelector('.pod-status').textContent]);"
        )
        tiles = dict(pairs)
        for pod, status in EXPECTED_STATUS.items():
            assert tiles[pod].endswith(status), (pod, tiles[pod])
        assert len(tiles) == 25
        assert "DEMO DATA" not in dash_duo.driver.execute_script("return document.body.innerText")
        # coredns: working set 17,866,752 bytes in the recorded cAdvisor scrape.
        dash_duo.wait_for_contains_text("#cl-workload-grid", "coredns", timeout=30)
        dash_duo.wait_for_contains_text("#cl-workload-grid", "17.9MB", timeout=15)
        dash_duo.wait_for_contains_text("#cl-node-tiles", "10 cores", timeout=15)

        api.fail("/api/v1/pods")
        started = time.monotonic()
        dash_duo.wait_for_contains_text("#cl-pods-freshness", "stale since", timeout=15)
        assert (
            time.monotonic() - started < 2 + 2 + 1 + 5
        )  # a refresh, the timeout, one second, slack
        dash_duo.wait_for_contains_text("#cl-pods-freshness", "HTTP 500", timeout=15)
        assert "pod-tile" in dash_duo.driver.page_source  # last good tiles kept, greyed
        dash_duo.wait_for_contains_text("#cl-workloads-freshness", "updated", timeout=15)

        api.forbid("/api/v1/nodes")
        dash_duo.wait_for_contains_text(
            "#cl-nodes-freshness", "cannot list nodes at the cluster scope", timeout=15
        )
        dash_duo.wait_for_contains_text(
            "#cl-nodes-freshness", 'service account "invdash" in "monitoring"', timeout=15
        )

        recorded_prometheus.stop()
        dash_duo.wait_for_contains_text("#cl-workloads-freshness", "stale since", timeout=20)
        dash_duo.wait_for_contains_text("#cl-events-freshness", "updated", timeout=15)
        assert dash_duo.get_logs() == []
