"""Every read a page makes of a source, through the shared cache: one function per snapshot,
its cache key written here and nowhere else, so two panels that show the same data share one
entry (one query per refresh interval for every screen) and no key is spelt twice.

``fetch_*`` loads when the entry is due (``SharedCache.fetch``: one process loads, the others
wait for it); ``last_*`` never loads, it reads what the last refresh stored, so a panel that
only needs another source's rows for context (pod owners, say) never waits on that source.
A source that is not configured answers NOT_CONFIGURED.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable
from typing import TypeVar

import pandas as pd

from dashboard.cache import STALE_INTERVALS, Fetched
from dashboard.context import DashboardContext
from queries.daily_review import PERIOD_DAYS, Period
from queries.forecast_store import StoredForecast
from queries.inventory import InventorySnapshot
from queries.kpis import ExecutiveKpiSource
from queries.slo import BURN_WINDOW, SLO_PERIOD, SloStatus
from queries.telemetry import (
    CONTAINER_RESOURCE_COLUMNS,
    EVENT_COLUMNS,
    POD_HEALTH_COLUMNS,
    ClusterSource,
    MetricsSource,
)

T = TypeVar("T")

NOT_CONFIGURED: Fetched[pd.DataFrame] = Fetched(None, None, "not configured", None)

PODS = "cluster:pods"
CLUSTER_EVENTS = "cluster:events"
NODES = "cluster:nodes"
CONTAINER_RESOURCES = "metrics:resources"
RECENT_USAGE = "metrics:usage"


def _from_cluster(
    context: DashboardContext, key: str, load: Callable[[ClusterSource], pd.DataFrame]
) -> Fetched[pd.DataFrame]:
    source = context.sources.cluster
    return NOT_CONFIGURED if source is None else context.cache.fetch(key, lambda: load(source))


def _from_metrics(
    context: DashboardContext,
    key: str,
    load: Callable[[MetricsSource], pd.DataFrame],
    *,
    keep_last_good: bool = True,
    every_seconds: int | None = None,
) -> Fetched[pd.DataFrame]:
    source = context.sources.metrics
    if source is None:
        return NOT_CONFIGURED
    return context.cache.fetch(
        key, lambda: load(source), keep_last_good=keep_last_good, every_seconds=every_seconds
    )


# --- the inventory database ------------------------------------------------------------------


def inventory_snapshot(context: DashboardContext) -> Fetched[InventorySnapshot]:
    """Positions, lots and warehouses as of now (``InventorySource.snapshot``)."""
    return context.inventory_snapshot()


def order_volume(
    context: DashboardContext, range_key: Hashable, start: dt.datetime, end: dt.datetime
) -> Fetched[pd.DataFrame]:
    """Order lines per minute from ``start`` to ``end``; ``range_key`` names the view's range
    (a preset's minutes, shared by /ops and /sre, or a custom range's text)."""
    return context.cache.fetch(
        f"orders:{range_key}", lambda: context.inventory.order_lines_per_minute(start, end)
    )


def order_volume_a_week_ago(context: DashboardContext, now: dt.datetime) -> Fetched[pd.DataFrame]:
    """Order lines per minute over the hour before ``now`` a week earlier."""
    week, hour = dt.timedelta(days=7), dt.timedelta(hours=1)
    return context.cache.fetch(
        "orders:last-week-hour",
        lambda: context.inventory.order_lines_per_minute(now - week - hour, now - week),
    )


def sku_detail(
    context: DashboardContext, sku: str, as_of: dt.datetime
) -> tuple[Fetched[pd.DataFrame], Fetched[pd.DataFrame]]:
    """The SKU detail's daily demand history and open purchase orders, as of ``as_of`` (the
    snapshot's); kept no longer than their interval (a detail is opened, not watched)."""
    inventory = context.inventory
    loads = {
        f"sku:history:{sku}": lambda: inventory.sku_demand_history(sku, as_of),
        f"sku:orders:{sku}": lambda: inventory.open_purchase_orders(sku, as_of),
    }
    history, orders = (
        context.cache.fetch(key, load, keep_last_good=False) for key, load in loads.items()
    )
    return history, orders


def sku_forecast(context: DashboardContext, sku: str) -> Fetched[StoredForecast | None]:
    """The SKU detail's demand forecast (made once a day by ``invdash rollup``)."""
    return context.cache.fetch(
        f"sku:forecast:{sku}", lambda: context.inventory.sku_forecast(sku), keep_last_good=False
    )


def forecast_accuracy(
    context: DashboardContext, every_seconds: int
) -> Fetched[tuple[pd.DataFrame, pd.DataFrame]]:
    """The forecasts' accuracy over time and the stale SKUs (``InventorySource.
    forecast_accuracy``), loaded once in ``every_seconds`` (a run is made once a day)."""

    def load() -> tuple[pd.DataFrame, pd.DataFrame]:
        found = context.inventory.forecast_accuracy()
        if found is None:
            raise LookupError("no roll-up store: INVDASH_ROLLUP_DATABASE_URL is not set")
        return found

    return context.cache.fetch("exec:forecast", load, every_seconds=every_seconds)


def kpi_review(
    context: DashboardContext,
    source: ExecutiveKpiSource,
    period: Period,
    now: dt.datetime,
    every_seconds: int,
) -> tuple[Fetched[pd.DataFrame], Fetched[pd.DataFrame], Fetched[dt.datetime | None]]:
    """The KPI review of ``period`` against the one before, its ABC classes, and when the data
    starts; each loaded once in ``every_seconds`` (daily figures move slowly)."""
    review = context.cache.fetch(
        f"exec:{period}", lambda: source.period_review(now, period), every_seconds=every_seconds
    )
    abc = context.cache.fetch(
        f"exec:abc:{period}",
        lambda: source.abc_breakdown(now, PERIOD_DAYS[period]),
        every_seconds=every_seconds,
    )
    first = context.cache.fetch(
        "exec:first-order", source.first_order_at, every_seconds=every_seconds
    )
    return review, abc, first


# --- Kubernetes ------------------------------------------------------------------------------


def fetch_pods(context: DashboardContext) -> Fetched[pd.DataFrame]:
    """Every pod's health (``ClusterSource.pod_health``)."""
    return _from_cluster(context, PODS, lambda source: source.pod_health())


def last_pods(context: DashboardContext) -> pd.DataFrame:
    return context.cached_frame(PODS, POD_HEALTH_COLUMNS)


def last_pods_entry(context: DashboardContext) -> Fetched[pd.DataFrame] | None:
    """The entry itself (when it was loaded, its failure), for a rendering's cache parts."""
    return context.cache.peek(PODS)


def fetch_cluster_events(context: DashboardContext, since: dt.datetime) -> Fetched[pd.DataFrame]:
    """The events since ``since`` on the Cluster page."""
    return _from_cluster(context, CLUSTER_EVENTS, lambda source: source.events(since))


def last_cluster_events(context: DashboardContext) -> pd.DataFrame:
    return context.cached_frame(CLUSTER_EVENTS, EVENT_COLUMNS)


def fetch_events_in_range(
    context: DashboardContext, range_key: Hashable, since: dt.datetime
) -> Fetched[pd.DataFrame]:
    """The events since the start of a view's range (``range_key`` as for ``order_volume``)."""
    return _from_cluster(context, f"events:{range_key}", lambda source: source.events(since))


def last_events_in_range(context: DashboardContext, range_key: Hashable) -> pd.DataFrame:
    return context.cached_frame(f"events:{range_key}", EVENT_COLUMNS)


def fetch_nodes(context: DashboardContext) -> Fetched[pd.DataFrame]:
    return _from_cluster(context, NODES, lambda source: source.nodes())


# --- Prometheus ------------------------------------------------------------------------------


def fetch_container_resources(context: DashboardContext) -> Fetched[pd.DataFrame]:
    """Each container's usage against its requests and limits, now."""
    return _from_metrics(context, CONTAINER_RESOURCES, lambda source: source.container_resources())


def last_container_resources(context: DashboardContext) -> pd.DataFrame:
    return context.cached_frame(CONTAINER_RESOURCES, CONTAINER_RESOURCE_COLUMNS)


def fetch_recent_usage(
    context: DashboardContext, start: dt.datetime, end: dt.datetime
) -> Fetched[pd.DataFrame]:
    """Every pod's CPU and memory over the telemetry window (the Cluster page's charts)."""
    return _from_metrics(context, RECENT_USAGE, lambda source: source.pod_usage(None, start, end))


def fetch_pod_usage(
    context: DashboardContext, range_key: Hashable, start: dt.datetime, end: dt.datetime
) -> Fetched[pd.DataFrame]:
    """Every pod's CPU and memory over a view's range."""
    return _from_metrics(
        context, f"usage:{range_key}", lambda source: source.pod_usage(None, start, end)
    )


def fetch_hpa_replicas(
    context: DashboardContext, range_key: Hashable, start: dt.datetime, end: dt.datetime
) -> Fetched[pd.DataFrame]:
    return _from_metrics(
        context, f"hpa:{range_key}", lambda source: source.hpa_replicas(None, start, end)
    )


def fetch_service_traffic(
    context: DashboardContext, range_key: Hashable, start: dt.datetime, end: dt.datetime
) -> Fetched[pd.DataFrame]:
    """The services' requests, errors and latency over a view's range."""
    return _from_metrics(
        context, f"traffic:{range_key}", lambda source: source.service_traffic(start, end)
    )


def fetch_unhealthy_pods_at(
    context: DashboardContext, moment: pd.Timestamp
) -> Fetched[pd.DataFrame]:
    """The pods that were unhealthy at ``moment`` (to the 15 s a scrape resolves)."""
    then = moment.to_pydatetime()
    return _from_metrics(
        context,
        f"unhealthy-at:{moment.floor('15s').isoformat()}",
        lambda source: source.unhealthy_pods_at(then),
        keep_last_good=False,
    )


ALERTS = "metrics:alerts"
LATEST_HPAS = "metrics:hpa-latest"
# The newest HPA rows are looked for this far back (a few scrapes).
LATEST_HPA_WINDOW = dt.timedelta(minutes=5)


def fetch_alerts(context: DashboardContext) -> Fetched[pd.DataFrame]:
    """The alerts firing now (``MetricsSource.firing_alerts``)."""
    return _from_metrics(context, ALERTS, lambda source: source.firing_alerts())


# The SLO's 30 days move slowly: their counts reload this often; the burn window's every refresh.
SLO_PERIOD_SECONDS = 300


def fetch_slo(context: DashboardContext, now: dt.datetime) -> Fetched[SloStatus]:
    """The order service's SLO as of ``now``: the period's requests (reloaded every
    SLO_PERIOD_SECONDS, or every refresh when that is longer) and the last hour's."""
    source = context.sources.metrics
    if source is None:
        return Fetched(None, None, "not configured", None)
    service = context.settings.slo_service
    every = max(SLO_PERIOD_SECONDS, context.settings.refresh_seconds)
    period = context.cache.fetch(
        "metrics:slo:period",
        lambda: source.service_request_counts(service, SLO_PERIOD, now),
        every_seconds=every,
    )
    burn = context.cache.fetch(
        "metrics:slo:burn", lambda: source.service_request_counts(service, BURN_WINDOW, now)
    )
    if period.value is None or burn.value is None:
        failed = period if period.value is None else burn
        return Fetched(None, None, failed.error, failed.error_since)
    status = SloStatus(
        service, context.settings.slo_objective, SLO_PERIOD, period.value, burn.value
    )
    # The burn window's reading dates the figures (the period's is meant to be older); a
    # failure of either makes them stale.
    stale = burn if burn.error is not None else period
    return Fetched(status, burn.fetched_at, stale.error, stale.error_since)


def fetch_latest_hpas(context: DashboardContext, now: dt.datetime) -> Fetched[pd.DataFrame]:
    """Every HPA's replicas and bounds over the last few minutes (the newest row is now's)."""
    return _from_metrics(
        context,
        LATEST_HPAS,
        lambda source: source.hpa_replicas(None, now - LATEST_HPA_WINDOW, now),
    )


def fetch_review_traffic(
    context: DashboardContext,
    period: Period,
    start: dt.datetime,
    end: dt.datetime,
    every_seconds: int,
) -> Fetched[pd.DataFrame] | None:
    """The services' traffic over a KPI review's two periods; None without Prometheus."""
    if context.sources.metrics is None:
        return None
    return _from_metrics(
        context,
        f"exec:traffic:{period}",
        lambda source: source.service_traffic(start, end),
        every_seconds=every_seconds,
    )


# --- renderings shared by every process --------------------------------------------------------


# A rendering of a snapshot outlives it by this many intervals: a screen handed the last
# interval's snapshot while the next one loads finds its rendering made.
RENDERING_INTERVALS = STALE_INTERVALS + 1


def shared_rendering(
    context: DashboardContext, name: str, parts: tuple[Hashable, ...], build: Callable[[], T]
) -> T | None:
    """``build()``, made once for every process and screen asking with the same ``parts``
    (a snapshot's time and the view's filters): the costly renderings of one snapshot, kept
    a few intervals whatever the interval (``SharedCache.lasting``; no last-good copy). None
    when ``build`` failed."""
    key = ":".join((name, *(str(part) for part in parts)))
    seconds = RENDERING_INTERVALS * context.cache.interval_seconds
    return context.cache.lasting(key, build, seconds).value
