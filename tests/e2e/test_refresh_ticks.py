"""A screen never piles up refreshes on a slow source: while a panel is still loading, the next
refresh tick is skipped (and the header says so), instead of queueing another request."""

from __future__ import annotations

import threading
import time
from typing import Any

import kubernetes
from dash import Dash
from dash.testing.composite import DashComposite
from flask import request
from kube_api_server import KubeApiServer, ready_pod
from selenium.webdriver.support.ui import WebDriverWait
from small_inventory import small_inventory_settings

from dashboard.app import create_app
from dashboard.cache import STALE_INTERVALS
from dashboard.redis_cache import lock_seconds
from dashboard.settings import Settings
from dashboard.sources import Sources, inventory_source
from dashboard.ticks import lost_after_seconds
from queries.kubernetes import KubernetesSource

POD: dict[str, Any] = ready_pod("orders-api-0", "shop/orders-api:1.4")


def _ops_app(settings: Settings, api: KubeApiServer, kube_timeout_seconds: float) -> Dash:
    """The app on the settings' database and the local API server, without Prometheus."""
    configuration = kubernetes.client.Configuration()
    configuration.host = api.url
    core_v1 = kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(configuration))
    kube = KubernetesSource(core_v1, timeout_seconds=kube_timeout_seconds)
    return create_app(settings, Sources(inventory_source(settings), kube, None))


def test_a_slow_source_makes_ticks_skip_instead_of_queueing(
    dash_duo: DashComposite, sqlite_url: str
) -> None:
    settings = small_inventory_settings(sqlite_url, refresh_seconds=1)
    with KubeApiServer(pods=[POD]) as api:
        app = _ops_app(settings, api, kube_timeout_seconds=10)
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
        # 1 s ticks over ~15 s would be 15 requests. The first ticks after the delay began are
        # answered at once from the last entries (the cache hands those out for STALE_INTERVALS
        # intervals while it reloads); after that each answer takes 3 s, so at most one request
        # per 3 s can start (plus the one in flight when the delay began).
        allowed = STALE_INTERVALS + 1 + (time.monotonic() - started) / 3 + 1
        assert len(during) <= allowed, during
        dash_duo.wait_for_contains_text("#skipped-note", "refreshes skipped", timeout=15)

        api.delay("/api/v1/pods", 0)
        dash_duo.wait_for_contains_text("#ops-pods-freshness", "updated", timeout=20)
        dash_duo.wait_for_contains_text("#ops-pod-tiles", "orders-api-0", timeout=15)
    assert dash_duo.get_logs() == []


def test_a_refresh_that_never_gets_an_answer_is_asked_again(
    dash_duo: DashComposite, sqlite_url: str
) -> None:
    """One pods-panel request is held by the server and never answered (as a connection a
    proxy lost): its busy flag stays set, the gate holds the ticks for ``lost_after_seconds``,
    then passes one on, the panel asks again, and the new answer shows the pods of now."""
    settings = small_inventory_settings(
        sqlite_url,
        refresh_seconds=1,
        database_timeout_seconds=0.5,
        kube_timeout_seconds=1,
        prometheus_timeout_seconds=1,
    )
    lost_after = lost_after_seconds(lock_seconds(settings))
    with KubeApiServer(pods=[POD]) as api:
        app = _ops_app(settings, api, kube_timeout_seconds=1)
        hold, release = threading.Event(), threading.Event()
        held: list[float] = []
        asked_after: list[float] = []
        guard = threading.Lock()

        @app.server.before_request
        def _hold_one_pod_panel_request() -> None:
            if not request.path.endswith("/_dash-update-component"):
                return
            body = request.get_json(silent=True) or {}
            if "ops-pod-tiles.children" not in str(body.get("output", "")):
                return
            with guard:
                first = hold.is_set() and not held
                if first:
                    held.append(time.monotonic())
                elif held:
                    asked_after.append(time.monotonic())
            if first:
                release.wait(timeout=300)  # the browser never sees this answer

        try:
            dash_duo.start_server(app)
            dash_duo.wait_for_page(url=f"{dash_duo.server_url}/ops")
            dash_duo.wait_for_contains_text("#ops-pod-tiles", "orders-api-0", timeout=30)

            hold.set()
            WebDriverWait(dash_duo.driver, 20).until(lambda _: held)
            renamed = {**POD, "metadata": {**POD["metadata"], "name": "orders-api-1"}}
            api.pods = [renamed]
            # While the request is out, every tick is held back and the note says so.
            dash_duo.wait_for_contains_text("#skipped-note", "refreshes skipped", timeout=20)
            time.sleep(min(5.0, lost_after / 2))
            with guard:
                assert not asked_after, "asked again before the request could be lost"
            # Then the gate takes it for lost and the panel asks again, and gets its answer.
            dash_duo.wait_for_contains_text(
                "#skipped-note", "got no answer: asked again", timeout=lost_after + 20
            )
            with guard:
                assert asked_after, "the gate said it asked again, but no request came"
                assert asked_after[0] - held[0] >= lost_after - 1, (asked_after, held)
            dash_duo.wait_for_contains_text("#ops-pod-tiles", "orders-api-1", timeout=20)
            dash_duo.wait_for_contains_text("#ops-pods-freshness", "updated", timeout=20)
            # And the screen refreshes on every tick again: the note clears and requests flow.
            with guard:
                count_then = len(asked_after)
            WebDriverWait(dash_duo.driver, 20).until(lambda _: len(asked_after) >= count_then + 3)
        finally:
            release.set()
    assert dash_duo.get_logs() == []
