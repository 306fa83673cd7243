"""``GET /metrics/business``: the business figures Prometheus alerts on, behind a bearer token.

``/metrics`` stays open (Prometheus scrapes it without a user) and carries invdash's own health
only. The business figures (stock value, orders) are answered here only to
``Authorization: Bearer <INVDASH_METRICS_TOKEN>`` (a ServiceMonitor's ``bearerTokenSecret``, a
stock Prometheus's ``authorization.credentials_file``), and not at all without the setting
(404). A scrape reads the sources through the shared cache as a screen does, at most one load
per refresh interval whatever scrapes or screens ask, so an alert and a wall screen agree.

Series (labels bounded by the warehouses, the horizons and the sources; never one per SKU):
  invdash_business_inventory_value{warehouse}       stock on hand at unit cost
  invdash_business_skus_at_risk{warehouse}          SKUs above the stockout-risk threshold
  invdash_business_expiring_value{within_days}      stock in lots expiring within 30/60/90 days
  invdash_business_orders_per_minute                the mean of the newest 5 whole minutes
  invdash_business_order_lines_per_1000_requests    over the last hour, of the order services
  invdash_source_last_good_age_seconds{source}      since the last good read of each source
                                                    (inventory, cluster, metrics)
  invdash_refresh_interval_seconds, invdash_slo_objective: the settings the rules compare with
A figure whose source has never answered is absent (the age says which source).
"""

from __future__ import annotations

import datetime as dt
import hmac
import math
from collections.abc import Iterator

from flask import Flask, Response, abort, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from dashboard import fetches
from dashboard.context import INVENTORY_SNAPSHOT, DashboardContext
from dashboard.metrics import BUSINESS_PATH
from queries.business import (
    EXPIRY_HORIZONS,
    ORDER_RATE_MINUTES,
    expiring_values,
    orders_per_minute,
    warehouse_gauges,
)
from queries.correlation import orders_and_traffic, orders_per_thousand_requests
from queries.days import aware_utc

HOUR = dt.timedelta(hours=1)
# The entry that dates each source's last good read (what its panels show first).
SOURCE_ENTRIES = {"inventory": INVENTORY_SNAPSHOT, "cluster": fetches.PODS,
                  "metrics": fetches.CONTAINER_RESOURCES}  # fmt: skip


class BusinessCollector(Collector):
    """The series of the module's docstring, read from ``context`` at each scrape."""

    def __init__(self, context: DashboardContext) -> None:
        self.context = context

    def collect(self) -> Iterator[Metric]:
        yield from self._stock()
        yield from self._orders()
        yield self._ages()
        settings = self.context.settings
        yield GaugeMetricFamily(
            "invdash_refresh_interval_seconds",
            "How often the screens refresh and the sources are read (INVDASH_REFRESH_SECONDS).",
            value=settings.refresh_seconds,
        )
        yield GaugeMetricFamily(
            "invdash_slo_objective",
            "The order service's availability objective over 30 days (INVDASH_SLO_OBJECTIVE).",
            value=settings.slo_objective,
        )

    def _stock(self) -> Iterator[Metric]:
        snapshot = fetches.inventory_snapshot(self.context).value
        if snapshot is None:
            return
        value = GaugeMetricFamily(
            "invdash_business_inventory_value",
            "Stock on hand at unit cost, per warehouse.",
            labels=["warehouse"],
        )
        at_risk = GaugeMetricFamily(
            "invdash_business_skus_at_risk",
            "SKUs whose position in the warehouse is above the stockout-risk threshold.",
            labels=["warehouse"],
        )
        for gauges in warehouse_gauges(snapshot.positions, snapshot.warehouses):
            value.add_metric([gauges.warehouse_code], gauges.inventory_value)
            at_risk.add_metric([gauges.warehouse_code], gauges.skus_at_risk)
        expiring = GaugeMetricFamily(
            "invdash_business_expiring_value",
            f"Stock at unit cost in lots expiring within {'/'.join(map(str, EXPIRY_HORIZONS))} "
            "days from today (expired lots not counted).",
            labels=["within_days"],
        )
        for days, amount in expiring_values(snapshot.lots).items():
            expiring.add_metric([str(days)], amount)
        yield from (value, at_risk, expiring)

    def _orders(self) -> Iterator[Metric]:
        context = self.context
        end = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
        # The keys /ops and /sre read for their default hour: one load for screens and scrapes.
        volume = fetches.order_volume(context, 60, end - HOUR, end).value
        if volume is None:
            return
        yield GaugeMetricFamily(
            "invdash_business_orders_per_minute",
            f"Sales orders a minute, the mean of the newest {ORDER_RATE_MINUTES} whole minutes.",
            value=orders_per_minute(volume),
        )
        traffic = fetches.fetch_service_traffic(context, 60, end - HOUR, end).value
        if traffic is None:
            return
        combined = orders_and_traffic(volume, traffic, context.settings.service_names)
        ratio = orders_per_thousand_requests(combined)
        if not math.isnan(ratio):
            yield GaugeMetricFamily(
                "invdash_business_order_lines_per_1000_requests",
                "Order lines per 1,000 requests of the order services over the last hour.",
                value=ratio,
            )

    def _ages(self) -> Metric:
        ages = GaugeMetricFamily(
            "invdash_source_last_good_age_seconds",
            "Seconds since each source's last good read (absent: never read).",
            labels=["source"],
        )
        now = dt.datetime.now(dt.UTC)
        configured = {
            "inventory": self.context.sources.inventory,
            "cluster": self.context.sources.cluster,
            "metrics": self.context.sources.metrics,
        }
        for kind, key in SOURCE_ENTRIES.items():
            source = configured[kind]
            entry = self.context.cache.peek(key)
            if source is None or entry is None or entry.fetched_at is None:
                continue
            # (an entry another version stored in a shared cache may be naive UTC)
            ages.add_metric([kind], (now - aware_utc(entry.fetched_at)).total_seconds())
        return ages


def register_business_metrics(server: Flask, context: DashboardContext, token: str | None) -> None:
    """``GET /metrics/business`` for a request bearing ``token``; 404 without a token set."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BusinessCollector(context))
    expected = None if token is None else f"Bearer {token}".encode()

    @server.route(BUSINESS_PATH)
    def business_metrics() -> Response:
        if expected is None:
            abort(404)
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return Response(
                "a bearer token is needed (INVDASH_METRICS_TOKEN)\n",
                status=401,
                mimetype="text/plain",
                headers={"WWW-Authenticate": 'Bearer realm="invdash business metrics"'},
            )
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
