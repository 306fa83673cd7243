"""A screen never piles up refreshes on a slow source: while a panel is still loading, the next
refresh tick is skipped (and the header says so), instead of queueing another request."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import kubernetes
import sqlalchemy as sa
from flask import request
from kube_api_server import KubeApiServer
from selenium.webdriver.support.ui import WebDriverWait
from small_inventory import POLICY, build_small_inventory

from dashboard.app import create_app
from dashboard.settings import load_settings
from dashboard.sources import Sources, inventory_source
from queries.kubernetes import KubernetesSource

POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "orders-api-0", "namespace": "shop", "uid": "u-orders-api-0"},
    "spec": {"containers": [{"name": "api", "image": "shop/orders-api:1.4"}]},
    "status": {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [
            {
                "name": "api",
                "image": "shop/orders-api:1.4",
                "imageID": "",
                "ready": True,
                "restartCount": 0,
                "state": {"running": {}},
            }
        ],
    },
}


def test_a_slow_source_makes_ticks_skip_instead_of_queueing(  # type: ignore[no-untyped-def]
    dash_duo, sqlite_url: str
) -> None:
    build_small_inventory(sa.create_engine(sqlite_url), as_of=dt.datetime.now(dt.UTC))
    settings = load_settings(
        database_url=sqlite_url, refresh_seconds=1, demand_window_days=POLICY.demand_window_days
    )
    with KubeApiServer(pods=[POD]) as api:
        configuration = kubernetes.client.Configuration()
        configuration.host = api.url
        core_v1 = kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(configuration))
        sources = Sources(
            inventory_source(settings), KubernetesSource(core_v1, timeout_seconds=10), None
        )
        app = create_app(settings, sources)
        # Watch the pods panel's callback requests as the server receives them.
        arrivals: list[float] = []
        guard = threading.Lock()

        @app.server.before_request
        def _count_pod_panel_requests() -> None:
            if request.path.endswith("/_dash-update-component"):
                body = request.get_json(silent=True) or {}
                if "ops-pod-tiles.children" in str(body.get("output", "")):
                    with guard:
                        arrivals.append(time.monotonic())

        dash_duo.start_server(app)
        dash_duo.wait_for_page(url=f"{dash_duo.server_url}/ops")
        dash_duo.wait_for_contains_text("#ops-pod-tiles", "orders-api-0", timeout=30)

        api.delay("/api/v1/pods", 3)
        started = time.monotonic()
        dash_duo.wait_for_contains_text("#skipped-note", "skipped", timeout=20)
        time.sleep(9)
        # Ticks go on while skipping: at least two requests, however slow this machine is
        # (each waits for the 3 s answer before it, and a loaded browser sends it late).
        WebDriverWait(dash_duo.driver, 20).until(
            lambda _: len([t for t in list(arrivals) if t >= started]) >= 2
        )
        with guard:
            during = [t for t in arrivals if t >= started]
        # 1 s ticks over ~10 s would be 10 requests; each answer takes 3 s, so at most one
        # request per 3 s can start (plus the one in flight when the delay began).
        assert len(during) <= (time.monotonic() - started) / 3 + 1, during
        dash_duo.wait_for_contains_text("#skipped-note", "refreshes skipped", timeout=15)

        api.delay("/api/v1/pods", 0)
        dash_duo.wait_for_contains_text("#ops-pods-freshness", "updated", timeout=20)
        dash_duo.wait_for_contains_text("#ops-pod-tiles", "orders-api-0", timeout=15)
    assert dash_duo.get_logs() == []
