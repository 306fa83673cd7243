"""The app factory: one Dash app wired to its sources, built from one Settings object."""

from __future__ import annotations

from pathlib import Path

from dash import Dash
from flask_caching import Cache

from components import theme
from dashboard import alerting, shell
from dashboard.access import register_access_control
from dashboard.business_metrics import register_business_metrics
from dashboard.cache import CacheBackend, SharedCache
from dashboard.context import DashboardContext
from dashboard.host_cache import host_cache_for
from dashboard.instrumented_sources import instrument_sources
from dashboard.metrics import register_metrics_route, time_callbacks
from dashboard.page_registry import PAGES, page_module
from dashboard.pages import self_health as self_health_page
from dashboard.redis_cache import RedisSharedCache, shared_cache_for
from dashboard.request_guard import register_request_guard
from dashboard.routes import register_not_found, register_readiness
from dashboard.screens import ProcessScreens, ScreenTracker, SharedScreens, track_screens
from dashboard.security_headers import register_security_headers
from dashboard.settings import Settings
from dashboard.sources import Sources, build_sources


def assets_folder() -> Path:
    """The repository's assets/, or the copy packed into an installed wheel."""
    packed = Path(__file__).parent / "_assets"
    return packed if packed.is_dir() else Path(__file__).resolve().parents[1] / "assets"


def create_app(settings: Settings, sources: Sources | None = None) -> Dash:
    """A ready Dash app. It does not touch any source: pages load data on their first refresh."""
    app = Dash(
        __name__,
        title="invdash",
        assets_folder=str(assets_folder()),
        health_endpoint="healthz",
        suppress_callback_exceptions=True,
        update_title="",
        serve_locally=True,
    )
    # Redis for every replica; else a directory for the workers of this server (made by the
    # gunicorn master); else, alone in its process, a cache of its own.
    shared = shared_cache_for(settings)
    flight = shared if shared is not None else host_cache_for(settings)
    cache: CacheBackend = (
        flight
        if flight is not None
        else Cache(app.server, config={"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": 10_000})
    )
    context = DashboardContext(
        settings=settings,
        sources=instrument_sources(sources or build_sources(settings)),
        cache=SharedCache(
            cache, settings.refresh_seconds, flight=flight, revalidate_in_background=True
        ),
        shared_cache=shared,
    )
    # The colours assets/theme.css reads, from the one place that names them.
    app.index_string = app.index_string.replace(
        "{%css%}", "{%css%}\n        <style>" + theme.css_variables() + "</style>", 1
    )
    app.layout = shell.layout(context)
    shell.register_callbacks(app, context)
    for page in PAGES:
        page_module(page).register_callbacks(app, context)
    # The SRE page's panel on invdash itself; the alert rules' panels of several pages.
    self_health_page.register_callbacks(app, context)
    alerting.register_callbacks(app, context)
    register_readiness(app.server, context)
    register_not_found(app.server, app.config.routes_pathname_prefix)
    register_own_metrics(app, shared, settings.refresh_seconds, settings.metrics_port)
    # After the callback timer, so that refused requests are timed and counted too; who asks
    # first, then what they send.
    register_access_control(app.server, settings, app.config.routes_pathname_prefix)
    register_request_guard(app)
    app.server.config["INVDASH_CONTEXT"] = context
    token = settings.metrics_token
    register_business_metrics(app.server, context, token.get_secret_value() if token else None)
    # Dash sets itself up on its first request, and marks that done before it is: a thread of a
    # fresh worker that asks for a script while another is still setting up gets a 500 ("not a
    # registered library") and the page never starts. Set up now, before any request.
    with app.server.app_context():
        app._setup_server()  # type: ignore[no-untyped-call]
    # Last: the policy carries the hashes of every inline script the app now has.
    register_security_headers(app, settings)
    return app


def register_own_metrics(
    app: Dash, shared: RedisSharedCache | None, refresh_seconds: int, metrics_port: int | None
) -> None:
    """``/metrics`` (on ``metrics_port`` only, when given), callback timing and screen
    counting, on every request of this app."""
    prefix = app.config.routes_pathname_prefix
    screens = ScreenTracker(
        SharedScreens(shared) if shared is not None else ProcessScreens(), refresh_seconds
    )
    # First: on the metrics port, anything but /metrics is refused before other hooks see it.
    register_metrics_route(app.server, before_scrape=screens.active, metrics_port=metrics_port)
    time_callbacks(app.server, app.callback_map, prefix)
    track_screens(app.server, screens, prefix)
