"""invdash's own health from its metrics: query rates, errors and latency per source, cache hit
ratio, callback latency per panel, active screens.

The input is prometheus-client's collection of the ``invdash_*`` families (``dashboard.metrics``)
taken twice, some time apart; rates and percentiles are over what happened in between, the way
Prometheus computes ``rate()`` and ``histogram_quantile()``, so the page and a Grafana panel on
the scraped series agree.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
from prometheus_client.metrics_core import Metric

PREFIX = "invdash_"
LABELS = ["source", "query", "output", "key", "le"]
# samples_frame(): one row per sample. name: the sample's name (``..._total``, ``..._bucket``);
# source, query, output, key: its labels ("" when it has none of that name); le: a histogram
# bucket's upper bound as exposed ("0.5", "+Inf"; "" for other samples); value: float.
SAMPLE_COLUMNS = ["name", *LABELS, "value"]

QUERIES = "invdash_source_queries_total"
ERRORS = "invdash_source_errors_total"
QUERY_SECONDS = "invdash_source_query_duration_seconds"
CALLBACK_SECONDS = "invdash_callback_duration_seconds"
HITS = "invdash_cache_hits_total"
MISSES = "invdash_cache_misses_total"
SCREENS = "invdash_active_screens"

# source_query_stats(): one row per (source, query) seen so far, by source then query.
#   queries, errors: calls in the window; *_per_minute: those over the window's length;
#   mean_seconds, p95_seconds: of the window's calls (NaN without calls).
SOURCE_STATS_COLUMNS = [
    "source", "query", "queries", "errors", "queries_per_minute", "errors_per_minute",
    "mean_seconds", "p95_seconds",
]  # fmt: skip
# callback_latency(): one row per callback (its first output) called in the window, slowest
# p95 first.
CALLBACK_COLUMNS = ["output", "calls", "mean_seconds", "p95_seconds"]
# cache_hit_ratio(): one row per key kind with lookups in the window, then "all";
# hit_ratio = hits / (hits + misses).
CACHE_COLUMNS = ["key", "hits", "misses", "hit_ratio"]


def samples_frame(families: Iterable[Metric]) -> pd.DataFrame:
    """The samples of invdash's own families, as SAMPLE_COLUMNS (``_created`` samples left out:
    they are timestamps, not counts)."""
    rows = [
        (sample.name, *(sample.labels.get(label, "") for label in LABELS), float(sample.value))
        for family in families
        if family.name.startswith(PREFIX)
        for sample in family.samples
        if not sample.name.endswith("_created")
    ]
    frame = pd.DataFrame(rows, columns=SAMPLE_COLUMNS)
    return frame.astype({**dict.fromkeys(SAMPLE_COLUMNS[:-1], "str"), "value": "float64"})


def window_increase(earlier: pd.DataFrame, later: pd.DataFrame) -> pd.DataFrame:
    """How much each sample of ``later`` grew since ``earlier`` (SAMPLE_COLUMNS). A series new
    since then counts from zero, and so does one that went down (its process restarted)."""
    keys = SAMPLE_COLUMNS[:-1]
    merged = later.merge(earlier, on=keys, how="left", suffixes=("", "_before"))
    before = merged["value_before"].fillna(0.0)
    grown = merged["value"] - before
    merged["value"] = grown.where(grown >= 0, merged["value"])
    return merged[SAMPLE_COLUMNS].reset_index(drop=True)


def histogram_quantile(quantile: float, buckets: pd.DataFrame) -> float:
    """Prometheus's histogram_quantile over one histogram's cumulative ``le``/``value`` rows:
    linear within the bucket holding the rank, the highest finite bound when the rank falls in
    +Inf, NaN without observations."""
    if buckets.empty:
        return math.nan
    ordered = sorted(
        (float(le), float(count)) for le, count in zip(buckets["le"], buckets["value"], strict=True)
    )
    total = ordered[-1][1]
    if total <= 0:
        return math.nan
    rank = quantile * total
    lower_bound, lower_count = 0.0, 0.0
    for upper_bound, count in ordered:
        if count >= rank:
            if math.isinf(upper_bound):
                return lower_bound
            if count == lower_count:
                return upper_bound
            return lower_bound + (upper_bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = upper_bound, count
    return lower_bound


def _by_labels(increase: pd.DataFrame, name: str, by: list[str]) -> dict[tuple[str, ...], float]:
    """The summed increase of sample ``name`` per combination of the ``by`` labels."""
    sums = increase[increase["name"] == name].groupby(by, sort=True)["value"].sum()
    return {
        tuple(str(k) for k in (key if isinstance(key, tuple) else (key,))): float(value)
        for key, value in sums.items()
    }


def _histogram_stats(
    increase: pd.DataFrame, histogram: str, by: list[str]
) -> dict[tuple[str, ...], tuple[float, float, float]]:
    """(calls, mean seconds, p95 seconds) of a histogram's window, per label combination."""
    counts = _by_labels(increase, f"{histogram}_count", by)
    sums = _by_labels(increase, f"{histogram}_sum", by)
    buckets = increase[increase["name"] == f"{histogram}_bucket"]
    stats: dict[tuple[str, ...], tuple[float, float, float]] = {}
    for key, calls in counts.items():
        mask = (buckets[by] == pd.Series(key, index=by)).all(axis=1)
        mean = sums.get(key, 0.0) / calls if calls else math.nan
        stats[key] = (calls, mean, histogram_quantile(0.95, buckets[mask]))
    return stats


def source_query_stats(increase: pd.DataFrame, window_seconds: float) -> pd.DataFrame:
    """SOURCE_STATS_COLUMNS from a window_increase() over ``window_seconds``."""
    by = ["source", "query"]
    queries = _by_labels(increase, QUERIES, by)
    errors = _by_labels(increase, ERRORS, by)
    latency = _histogram_stats(increase, QUERY_SECONDS, by)
    minutes = window_seconds / 60 if window_seconds > 0 else math.nan
    rows = []
    for (source, query), calls in queries.items():
        failed = errors.get((source, query), 0.0)
        _, mean, p95 = latency.get((source, query), (0.0, math.nan, math.nan))
        rows.append((source, query, calls, failed, calls / minutes, failed / minutes, mean, p95))
    frame = pd.DataFrame(rows, columns=SOURCE_STATS_COLUMNS)
    return frame.astype(
        {"source": "str", "query": "str"} | dict.fromkeys(SOURCE_STATS_COLUMNS[2:], "float64")
    )


@dataclass(frozen=True)
class QueryTotals:
    """Every source query of a ``source_query_stats`` frame together."""

    calls: float
    calls_per_minute: float
    errors_per_minute: float
    failing_sources: list[str]  # the sources with a failed query, in the frame's order


def query_totals(stats: pd.DataFrame) -> QueryTotals:
    return QueryTotals(
        float(stats["queries"].sum()),
        float(stats["queries_per_minute"].sum()),
        float(stats["errors_per_minute"].sum()),
        [str(source) for source in stats.loc[stats["errors"] > 0, "source"].unique()],
    )


def callback_latency(increase: pd.DataFrame) -> pd.DataFrame:
    """CALLBACK_COLUMNS from a window_increase()."""
    stats = _histogram_stats(increase, CALLBACK_SECONDS, ["output"])
    rows = [(key[0], *values) for key, values in stats.items() if values[0] > 0]
    frame = pd.DataFrame(rows, columns=CALLBACK_COLUMNS).astype(
        {"output": "str", "calls": "float64", "mean_seconds": "float64", "p95_seconds": "float64"}
    )
    return frame.sort_values("p95_seconds", ascending=False, kind="stable").reset_index(drop=True)


def cache_hit_ratio(increase: pd.DataFrame) -> pd.DataFrame:
    """CACHE_COLUMNS from a window_increase()."""
    hits = increase[increase["name"] == HITS].groupby("key")["value"].sum()
    misses = increase[increase["name"] == MISSES].groupby("key")["value"].sum()
    frame = pd.DataFrame({"hits": hits, "misses": misses}).fillna(0.0)
    frame = frame[(frame["hits"] + frame["misses"]) > 0].sort_index()
    frame.loc["all"] = frame.sum() if not frame.empty else [0.0, 0.0]
    looked_up = frame["hits"] + frame["misses"]
    frame["hit_ratio"] = (frame["hits"] / looked_up).where(looked_up > 0)
    frame = frame.rename_axis("key").reset_index()
    return frame[CACHE_COLUMNS].astype(
        {"key": "str", "hits": "float64", "misses": "float64", "hit_ratio": "float64"}
    )


def active_screens(samples: pd.DataFrame) -> float:
    """The active-screens gauge in a samples_frame(); NaN when it is absent."""
    values = samples.loc[samples["name"] == SCREENS, "value"]
    return float(values.max()) if not values.empty else math.nan
