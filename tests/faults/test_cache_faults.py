"""Redis, the shared cache, stopped while a screen refreshes, then started again on the same
port: served over real HTTP and asked as a screen asks. Every answer is a 200 within Redis's
command timeout plus 1 s; every panel keeps updating from the process's own cache; the status
strip says the shared cache fell back and why; and once Redis answers again the strip says so
within two refresh intervals, with no one touching the screen."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from redis_server import RedisServer
from refreshing_screen import fresh, serving
from small_inventory import POLICY, build_small_inventory

from dashboard.app import create_app
from dashboard.redis_cache import COMMAND_TIMEOUT_SECONDS, MIN_RETRY_SECONDS
from dashboard.settings import load_settings

REFRESH = 3  # two intervals outlast the fallback's retry period (MIN_RETRY_SECONDS)
CALLBACKS = {
    "strip": "source-status.children",
    "stock": "ops-scope.children",
    "pods": "ops-kpi-pods-value.children",
}


def shared_cache_badge(text: str) -> str:
    """The status strip's words on the shared cache."""
    start = text.index("Shared cache")
    return text[start : text.index('"', start)]


def test_redis_stopped_while_a_screen_refreshes_then_started_again(tmp_path: Path) -> None:
    assert 2 * REFRESH > MIN_RETRY_SECONDS
    url = f"sqlite:///{tmp_path / 'inventory.sqlite3'}"
    build_small_inventory(sa.create_engine(url))
    with RedisServer() as redis:
        settings = load_settings(
            database_url=url,
            refresh_seconds=REFRESH,
            demand_window_days=POLICY.demand_window_days,
            telemetry="demo",
            demo_orders="off",
            cache_url=redis.url,
        )
        app = create_app(settings)
        with serving(
            app, CALLBACKS, REFRESH, COMMAND_TIMEOUT_SECONDS + 1.0, beside=("stock", "pods")
        ) as screen:
            text, _ = screen.refresh_until("strip", lambda t: "Shared cache" in t, intervals=4)
            assert "fell back" not in shared_cache_badge(text), text

            redis.stop()
            text, _ = screen.refresh_until(
                "strip", lambda t: "fell back" in shared_cache_badge(t), intervals=4
            )
            assert "per-process caches" in shared_cache_badge(text)
            # Nothing is stale: the panels' sources answer, through each process's own cache.
            for name in ("stock", "pods"):
                _, panel = screen.ask(name)
                assert fresh(panel), (name, panel[:2000])

            assert redis.start()
            _, seconds = screen.refresh_until(
                "strip", lambda t: "fell back" not in shared_cache_badge(t), intervals=2 + 1
            )
            assert seconds <= 2 * REFRESH + 2 * (COMMAND_TIMEOUT_SECONDS + 1.0)
            _, stock = screen.ask("stock")
            assert fresh(stock)
