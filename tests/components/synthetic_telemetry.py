"""Long synthetic frames with the documented columns, one sample a minute, with known bursts.

The order volume follows ``InventorySource.order_lines_per_minute`` (ORDER_VOLUME_COLUMNS), the
rest the contracts of ``queries.telemetry``. Every range ends at END; each frame has a 2-minute
burst of BURST starting at BURST_AT (order lines, the order service's 5xx/s, the checkout
workload's CPU cores), and memory and desired replicas jump at the same minutes.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from queries.correlation import ORDERS_AND_TRAFFIC_COLUMNS
from queries.inventory import ORDER_VOLUME_COLUMNS
from queries.telemetry import (
    COLUMN_DTYPES,
    EVENT_COLUMNS,
    HPA_COLUMNS,
    POD_HEALTH_COLUMNS,
    POD_USAGE_COLUMNS,
    SERVICE_TRAFFIC_COLUMNS,
    contract_frame,
)

END = dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC)
BURST_AT = END - dt.timedelta(days=3, minutes=17)
BURST = 500.0
BURST_MEMORY_BYTES = 8e9
BURST_DESIRED_REPLICAS = 9
MINUTE = dt.timedelta(minutes=1)


def window(days: int) -> tuple[dt.datetime, dt.datetime]:
    return END - dt.timedelta(days=days), END


def minutes(days: int) -> pd.DatetimeIndex:
    start, end = window(days)
    return pd.date_range(start, end, freq="min", inclusive="left").as_unit("ns")


def _bursting(times: pd.DatetimeIndex) -> np.ndarray:
    return np.asarray((times >= BURST_AT) & (times < BURST_AT + 2 * MINUTE))


def _daily_wave(times: pd.DatetimeIndex) -> np.ndarray:
    """0..1 over each day, highest at noon: traffic that is not flat, so buckets have extremes."""
    day_share = (times.hour * 60 + times.minute).to_numpy() / 1440
    return np.asarray((1 - np.cos(2 * np.pi * day_share)) / 2)


def _contract(frame: pd.DataFrame | dict[str, object], names: list[str]) -> pd.DataFrame:
    return pd.DataFrame(frame)[names].astype({name: COLUMN_DTYPES[name] for name in names})


def order_volume(days: int) -> pd.DataFrame:
    times = minutes(days)
    lines = np.round(10 + 30 * _daily_wave(times)).astype(np.int64)
    lines[_bursting(times)] = int(BURST)
    return _contract(
        {"timestamp": times, "order_lines": lines, "units": lines * 1.5, "orders": lines // 2},
        ORDER_VOLUME_COLUMNS,
    )


def service_traffic(days: int) -> pd.DataFrame:
    """Two services sampled at each minute; only the order service has 5xx (0.125/s), BURST/s
    in the burst, so the sum over services is exactly BURST there."""
    times = minutes(days)
    wave = _daily_wave(times)
    frames = []
    for service, share, errors in (("order-service", 0.75, 0.125), ("checkout", 0.25, 0.0)):
        requests = share * (40 + 200 * wave)
        error_rate = np.full(len(times), errors)
        if errors:
            error_rate[_bursting(times)] = BURST
        frames.append(
            pd.DataFrame(
                {
                    "timestamp": times,
                    "service": service,
                    "request_rate": requests,
                    "error_rate": error_rate,
                    "error_share": error_rate / requests,
                    "p95_latency_seconds": 0.1 + 0.2 * wave,
                }
            )
        )
    return _contract(pd.concat(frames, ignore_index=True), SERVICE_TRAFFIC_COLUMNS)


def orders_and_traffic(days: int) -> pd.DataFrame:
    """Rows as ``queries.correlation.orders_and_traffic`` makes them of order_volume(days) and
    service_traffic(days) (ORDERS_AND_TRAFFIC_COLUMNS, attrs["step"] one minute; the same
    values but for its first row, the window's start, and its last, without traffic), written
    out: that function takes seconds on weeks of minutes. A row's timestamp is its minute's
    end: it holds the order lines of the minute before and the traffic sampled at that end."""
    ends = minutes(days) + MINUTE
    wave = _daily_wave(ends)
    requests = 40 + 200 * wave
    errors = np.where(_bursting(ends), BURST, 0.125)
    frame = _contract(
        {
            "timestamp": ends,
            "order_lines": order_volume(days)["order_lines"].to_numpy(),
            "request_rate": requests,
            "error_rate": errors,
            "error_share": errors / requests,
            "p95_latency_seconds": 0.1 + 0.2 * wave,
        },
        ["timestamp", "order_lines", "request_rate", "error_rate", "error_share",
         "p95_latency_seconds"],
    )  # fmt: skip
    frame = frame.rename(columns={"order_lines": "order_lines_per_minute"})
    frame["order_lines_per_minute"] = frame["order_lines_per_minute"].astype("float64")
    frame.attrs["step"] = MINUTE
    return frame[ORDERS_AND_TRAFFIC_COLUMNS]


PODS = (("shop", "checkout-0", "checkout"), ("shop", "checkout-1", "checkout"),
        ("shop", "search-0", "search"), ("jobs", "worker-0", "worker"))  # fmt: skip


def pod_health() -> pd.DataFrame:
    return contract_frame(
        [
            (namespace, pod, workload, "Deployment", "n1", "Running", "Running", 1, 1, 0, "",
             3600.0, True)
            for namespace, pod, workload in PODS
        ],
        POD_HEALTH_COLUMNS,
    )  # fmt: skip


def pod_usage(days: int) -> pd.DataFrame:
    """CPU in quarters of a core (sums are exact): checkout-0's burst makes the checkout
    workload's CPU exactly BURST cores; search-0's memory jumps to BURST_MEMORY_BYTES."""
    times = minutes(days)
    bursting = _bursting(times)
    frames = []
    for index, (namespace, pod, _) in enumerate(PODS):
        cpu = 0.25 * (1 + index + np.round(4 * _daily_wave(times)))
        memory = (1 + index) * 1e8 + 5e7 * _daily_wave(times)
        if pod == "checkout-0":
            cpu[bursting] = BURST - 0.25 * (2 + np.round(4 * _daily_wave(times[bursting])))
        if pod == "search-0":
            memory[bursting] = BURST_MEMORY_BYTES
        frames.append(
            pd.DataFrame(
                {
                    "timestamp": times,
                    "namespace": namespace,
                    "pod": pod,
                    "cpu_cores": cpu,
                    "memory_bytes": memory,
                }
            )
        )
    return _contract(pd.concat(frames, ignore_index=True), POD_USAGE_COLUMNS)


def hpa_replicas(days: int) -> pd.DataFrame:
    times = minutes(days)
    desired = np.where(_bursting(times), BURST_DESIRED_REPLICAS, 2)
    return _contract(
        {"timestamp": times, "namespace": "shop", "hpa": "checkout", "current_replicas": 2,
         "desired_replicas": desired, "min_replicas": 2, "max_replicas": BURST_DESIRED_REPLICAS},
        HPA_COLUMNS,
    )  # fmt: skip


def events() -> pd.DataFrame:
    return contract_frame(
        [
            (BURST_AT, "shop", "Pod", "checkout-0", "Warning", "BackOff", "back-off", 3),
            (BURST_AT + 5 * MINUTE, "shop", "HorizontalPodAutoscaler", "checkout", "Normal",
             "SuccessfulRescale", "New size: 9", 1),
        ],
        EVENT_COLUMNS,
    )  # fmt: skip
