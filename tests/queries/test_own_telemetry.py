"""invdash's own health from its metrics: rates, percentiles and ratios over a window, computed
from a real prometheus-client registry the way Prometheus's rate() and histogram_quantile() do."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from queries.own_telemetry import (
    CACHE_COLUMNS,
    CALLBACK_COLUMNS,
    SAMPLE_COLUMNS,
    SOURCE_STATS_COLUMNS,
    QueryTotals,
    active_screens,
    cache_hit_ratio,
    callback_latency,
    histogram_quantile,
    query_totals,
    samples_frame,
    source_query_stats,
    window_increase,
)


class OwnMetrics:
    """The invdash_* families in a registry of their own, so the numbers are the test's."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.queries = Counter(
            "invdash_source_queries", "", ["source", "query"], registry=self.registry
        )
        self.errors = Counter(
            "invdash_source_errors", "", ["source", "query"], registry=self.registry
        )
        self.query_seconds = Histogram(
            "invdash_source_query_duration_seconds",
            "",
            ["source", "query"],
            buckets=(0.1, 0.5, 1.0),
            registry=self.registry,
        )
        self.callback_seconds = Histogram(
            "invdash_callback_duration_seconds",
            "",
            ["output"],
            buckets=(0.1, 0.5, 1.0),
            registry=self.registry,
        )
        self.hits = Counter("invdash_cache_hits", "", ["key"], registry=self.registry)
        self.misses = Counter("invdash_cache_misses", "", ["key"], registry=self.registry)
        self.screens = Gauge("invdash_active_screens", "", registry=self.registry)
        Counter("unrelated_total", "", registry=self.registry).inc()

    def query(self, source: str, query: str, seconds: float, failed: bool = False) -> None:
        self.queries.labels(source, query).inc()
        self.query_seconds.labels(source, query).observe(seconds)
        if failed:
            self.errors.labels(source, query).inc()

    def samples(self) -> pd.DataFrame:
        return samples_frame(self.registry.collect())


@pytest.fixture
def metrics() -> OwnMetrics:
    return OwnMetrics()


def test_samples_frame_has_the_own_families_only_with_labels_as_columns(
    metrics: OwnMetrics,
) -> None:
    metrics.query("inventory database", "snapshot", 0.2)
    samples = metrics.samples()
    assert list(samples.columns) == SAMPLE_COLUMNS
    assert samples["name"].str.startswith("invdash_").all()
    assert not samples["name"].str.endswith("_created").any()
    total = samples[samples["name"] == "invdash_source_queries_total"]
    assert total[["source", "query", "output", "key", "le", "value"]].values.tolist() == [
        ["inventory database", "snapshot", "", "", "", 1.0]
    ]
    assert set(samples.loc[samples["name"].str.endswith("_bucket"), "le"]) == {
        "0.1",
        "0.5",
        "1.0",
        "+Inf",
    }


def test_histogram_quantile_interpolates_within_the_bucket_like_prometheus() -> None:
    # 10 observations: 2 up to 0.1 s, 6 more up to 0.5 s, 2 more up to 1 s.
    buckets = pd.DataFrame({"le": ["0.1", "0.5", "1.0", "+Inf"], "value": [2.0, 8.0, 10.0, 10.0]})
    # rank 9.5 falls in (0.5, 1]: 0.5 + 0.5 * (9.5 - 8) / (10 - 8) = 0.875
    assert histogram_quantile(0.95, buckets) == pytest.approx(0.875)
    # rank 5 falls in (0.1, 0.5]: 0.1 + 0.4 * (5 - 2) / 6 = 0.3
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.3)


def test_histogram_quantile_in_the_inf_bucket_is_the_highest_finite_bound() -> None:
    buckets = pd.DataFrame({"le": ["0.1", "1.0", "+Inf"], "value": [1.0, 1.0, 4.0]})
    assert histogram_quantile(0.95, buckets) == 1.0


def test_histogram_quantile_without_observations_is_nan() -> None:
    buckets = pd.DataFrame({"le": ["0.1", "+Inf"], "value": [0.0, 0.0]})
    assert math.isnan(histogram_quantile(0.95, buckets))
    assert math.isnan(histogram_quantile(0.95, buckets.iloc[0:0]))


def test_source_stats_count_only_what_happened_in_the_window(metrics: OwnMetrics) -> None:
    metrics.query("inventory database", "snapshot", 0.05)  # before the window
    earlier = metrics.samples()
    for seconds in (0.05, 0.05, 0.3, 0.7):
        metrics.query("inventory database", "snapshot", seconds)
    metrics.query("Prometheus", "service_traffic", 2.0, failed=True)  # new in the window
    stats = source_query_stats(window_increase(earlier, metrics.samples()), window_seconds=120)

    assert list(stats.columns) == SOURCE_STATS_COLUMNS
    assert stats[["source", "query", "queries", "errors"]].values.tolist() == [
        ["Prometheus", "service_traffic", 1.0, 1.0],
        ["inventory database", "snapshot", 4.0, 0.0],
    ]
    snapshot = stats.iloc[1]
    assert snapshot["queries_per_minute"] == pytest.approx(2.0)
    assert snapshot["errors_per_minute"] == 0.0
    assert snapshot["mean_seconds"] == pytest.approx(1.1 / 4)
    # buckets in the window: 2 <= 0.1, 3 <= 0.5, 4 <= 1; rank 3.8 -> 0.5 + 0.5 * 0.8 = 0.9
    assert snapshot["p95_seconds"] == pytest.approx(0.9)
    assert stats.iloc[0]["errors_per_minute"] == pytest.approx(0.5)
    assert stats.iloc[0]["p95_seconds"] == 1.0  # beyond the last finite bucket


def test_query_totals_add_every_query_and_name_the_failing_sources(metrics: OwnMetrics) -> None:
    earlier = metrics.samples()
    for _ in range(4):
        metrics.query("inventory database", "snapshot", 0.05)
    metrics.query("inventory database", "order_volume", 0.01)
    metrics.query("Prometheus", "service_traffic", 2.0, failed=True)
    stats = source_query_stats(window_increase(earlier, metrics.samples()), window_seconds=120)
    totals = query_totals(stats)
    # 6 calls in 2 minutes, 1 of them failed.
    assert totals == QueryTotals(6.0, 3.0, 0.5, ["Prometheus"])
    assert query_totals(stats.iloc[:0]) == QueryTotals(0.0, 0.0, 0.0, [])


def test_a_counter_that_went_down_counts_from_zero(metrics: OwnMetrics) -> None:
    before = OwnMetrics()
    for _ in range(5):
        before.query("inventory database", "snapshot", 0.1)
    metrics.query("inventory database", "snapshot", 0.1)  # the process restarted: 1 < 5
    increase = window_increase(before.samples(), metrics.samples())
    total = increase.loc[increase["name"] == "invdash_source_queries_total", "value"]
    assert total.tolist() == [1.0]


def test_callback_latency_is_per_output_slowest_first(metrics: OwnMetrics) -> None:
    earlier = metrics.samples()
    for seconds in (0.05, 0.05):
        metrics.callback_seconds.labels("source-status.children").observe(seconds)
    metrics.callback_seconds.labels("sre-figure.figure +10").observe(0.8)
    latency = callback_latency(window_increase(earlier, metrics.samples()))
    assert list(latency.columns) == CALLBACK_COLUMNS
    assert latency["output"].tolist() == ["sre-figure.figure +10", "source-status.children"]
    assert latency["calls"].tolist() == [1.0, 2.0]
    # one call in (0.5, 1]: rank 0.95 -> 0.5 + 0.5 * 0.95 = 0.975; two in (0, 0.1]: 0.1 * 1.9 / 2
    assert latency["p95_seconds"].tolist() == pytest.approx([0.975, 0.095])


def test_cache_hit_ratio_per_key_kind_and_overall(metrics: OwnMetrics) -> None:
    earlier = metrics.samples()
    metrics.hits.labels("orders").inc(9)
    metrics.misses.labels("orders").inc(1)
    metrics.misses.labels("health").inc(2)
    ratio = cache_hit_ratio(window_increase(earlier, metrics.samples()))
    assert list(ratio.columns) == CACHE_COLUMNS
    assert ratio.values.tolist() == [
        ["health", 0.0, 2.0, 0.0],
        ["orders", 9.0, 1.0, 0.9],
        ["all", 9.0, 3.0, 0.75],
    ]


def test_no_lookups_give_no_ratio(metrics: OwnMetrics) -> None:
    ratio = cache_hit_ratio(window_increase(metrics.samples(), metrics.samples()))
    assert ratio["key"].tolist() == ["all"]
    assert math.isnan(ratio["hit_ratio"].iloc[0])


def test_active_screens_reads_the_gauge(metrics: OwnMetrics) -> None:
    metrics.screens.set(7)
    assert active_screens(metrics.samples()) == 7.0
    assert math.isnan(active_screens(OwnMetrics().samples().iloc[0:0]))
