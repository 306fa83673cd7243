"""Which sources a configuration means: the inventory database, and live or demo telemetry."""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.demo import demo_telemetry
from dashboard.settings import Settings
from queries.database import UNUSABLE_URL_ERRORS, create_inventory_engine, unusable_url_message
from queries.health import Source
from queries.inventory import InventoryPolicy, InventorySource
from queries.kube_config import kubernetes_client_from_environment
from queries.kubernetes import KubernetesSource
from queries.prometheus import PrometheusSource, prometheus_connect
from queries.promql import PromQLCatalogue
from queries.rollup_store import RollupStore
from queries.telemetry import ClusterSource, MetricsSource


class ConfigurationError(Exception):
    """The settings ask for something that cannot be had; the message names the setting."""


@dataclass(frozen=True)
class Sources:
    inventory: InventorySource
    cluster: ClusterSource | None
    metrics: MetricsSource | None

    @property
    def all(self) -> list[Source]:
        """Every distinct source, once (the demo cluster is both cluster and metrics)."""
        found: list[Source] = [self.inventory]
        for source in (self.cluster, self.metrics):
            if source is not None and all(source is not known for known in found):
                found.append(source)
        return found


def inventory_policy(settings: Settings) -> InventoryPolicy:
    return InventoryPolicy(
        holding_cost_rate=settings.holding_cost_rate,
        service_level=settings.service_level,
        demand_window_days=settings.demand_window_days,
        risk_threshold=settings.risk_threshold,
    )


def rollup_store(settings: Settings, timeout_seconds: float | None = None) -> RollupStore | None:
    """The roll-up store the settings name, None without one (``Settings.rollup_url``).
    Its statements time out as the database's unless ``timeout_seconds`` says otherwise."""
    if settings.rollup_url is None:
        return None
    try:
        engine = create_inventory_engine(
            settings.rollup_url, timeout_seconds or settings.database_timeout_seconds
        )
    except UNUSABLE_URL_ERRORS as error:
        raise ConfigurationError(
            unusable_url_message("INVDASH_ROLLUP_DATABASE_URL", error)
        ) from None
    return RollupStore(engine)


def inventory_source(settings: Settings) -> InventorySource:
    engine = create_inventory_engine(settings.database_url, settings.database_timeout_seconds)
    return InventorySource(engine, inventory_policy(settings), rollup_store(settings))


def load_catalogue(settings: Settings) -> PromQLCatalogue:
    """The PromQL catalogue with the settings file's overrides; PromQLConfigError names a bad query."""
    if settings.prometheus_queries_file is None:
        return PromQLCatalogue()
    return PromQLCatalogue.from_file(settings.prometheus_queries_file)


def build_sources(settings: Settings) -> Sources:
    """Sources for these settings. With INVDASH_TELEMETRY=auto and neither a cluster nor
    Prometheus configured, the demo cluster stands in for both, so every panel shows."""
    inventory = inventory_source(settings)
    if settings.telemetry == "off":
        return Sources(inventory, None, None)
    if settings.telemetry == "demo":
        demo = demo_telemetry(inventory.order_lines_per_minute, settings.slo_objective)
        return Sources(inventory, demo, demo)
    core_v1 = kubernetes_client_from_environment()
    cluster: ClusterSource | None = None
    if core_v1 is not None:
        cluster = KubernetesSource(
            core_v1,
            namespaces=settings.namespaces,
            label_selector=settings.kube_label_selector,
            timeout_seconds=settings.kube_timeout_seconds,
            service_account=settings.kube_service_account,
        )
    metrics: MetricsSource | None = None
    if settings.prometheus_url:
        connection = prometheus_connect(
            settings.prometheus_url,
            settings.prometheus_timeout_seconds,
            bearer_token_file=settings.prometheus_token_file,
        )
        metrics = PrometheusSource(
            connection,
            load_catalogue(settings),
            settings.service_names,
            namespaces=settings.namespaces,
        )
    if cluster is None and metrics is None:
        if settings.telemetry == "live":
            raise ConfigurationError(
                "INVDASH_TELEMETRY=live but no cluster (in-cluster service account, KUBECONFIG or "
                "~/.kube/config) and no INVDASH_PROMETHEUS_URL is configured"
            )
        demo = demo_telemetry(inventory.order_lines_per_minute, settings.slo_objective)
        return Sources(inventory, demo, demo)
    return Sources(inventory, cluster, metrics)
