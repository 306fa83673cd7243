"""A simulated cluster behind both telemetry protocols, for demos and for the tests of the panels.

``DemoCluster`` answers ``ClusterSource`` and ``MetricsSource`` (``queries.telemetry``) with the
same columns, units and dtypes as the live sources, and says ``is_demo = True``.

The cluster
  namespace "shop": Deployment "order-service" (container "app": requests 250m CPU / 256Mi,
  limits 1 CPU / 512Mi) scaled 3..8 by the HorizontalPodAutoscaler "order-service" on CPU
  (target 60% of the request, 5-minute scale-down stabilisation); Deployment "payments" (2
  replicas); CronJob "inventory-sync", whose Job pod runs 02:00-02:20 UTC every night and ends
  Completed (the last three runs are kept, as successfulJobsHistoryLimit does).
  namespace "monitoring": StatefulSet "prometheus" (pod prometheus-0: containers "prometheus" and
  "config-reloader").
  nodes node-a, node-b (3.92 cores) and node-c (7.91 cores).

Traffic and orders come from the same visitors (``demo.visitors``)
  order-service requests/s = (BROWSING_REQUESTS_PER_SECOND + REQUESTS_PER_ORDER_LINE x (the
  usual visitors' order lines per minute, mean of the 10 whole minutes before) / 60) x the
  minute's visitor factor (3 in the hourly burst), where the usual visitors' lines are the
  lines booked in ``order_volume`` (e.g. ``InventorySource.order_lines_per_minute``) divided by
  the minute's visitor factor and by the share of checkouts that went through (a tenth in a
  checkout outage, whose failed checkouts are 5xx answers). Where that callable is missing or
  fails, or the inventory holds no order line in the 2 hours before a minute (a seeded demo database holds
  none after the moment it was seeded), a built-in daily order-rate profile stands in, and
  ``check_health`` says so. payments receives PAYMENTS_CALLS_PER_REQUEST of order-service's
  requests. CPU is CPU_SECONDS_PER_REQUEST per request, so the HPA follows the orders too.

The incident loop: every clock hour (UTC), at these minute:second offsets
  10:00  a burst of visitors: traffic x3 on order-service until 20:00, and orders with it;
         5xx share and p95 latency rise. The HPA's
         desired replicas jump (SuccessfulRescale).
  11:00  current replicas follow, one minute behind (ScalingReplicaSet, SuccessfulCreate); the
         new pods are ContainerCreating for 30 s and Running but not ready until 11:50.
  12:00  one of the three oldest order-service pods starts leaking memory towards its limit.
  14:30  its node reports MemoryPressure (NodeHasInsufficientMemory, EvictionThresholdMet).
  15:00  OOMKilled (OOMKilling on the node; lastState.terminated.reason OOMKilled); restarted at
         15:05 (restarts +1), still leaking. Killed again at 16:00, 17:00, 18:00 and 19:10; the
         kubelet's back-off (10, 20, 40, 80 s) shows CrashLoopBackOff (BackOff), and after each
         restart the readiness probe fails for 30 s (Unhealthy). 19:15-20:30 CrashLoopBackOff.
  20:30  last restart: memory back to normal, node pressure cleared; ready again at 21:00.
  25:00  desired replicas back to the load's (5 minutes without a higher recommendation);
  26:00  current follows: the extra pods are Terminating for 30 s (Killing, SuccessfulDelete).
  35:00  rollout of payments: a new ReplicaSet (new pod-template hash, new image tag); each new
         pod is ContainerCreating 30 s and ready at +50 s, then an old pod is Terminating for
         30 s; done by 37:10 (ScalingReplicaSet, SuccessfulCreate, Pulling, Pulled, Created,
         Started, SuccessfulDelete, Killing).
  Besides the loop: order-service's daily release at 06:00 UTC (the same kind of rollout, so its
  pods' ages and restart counts start afresh every day), inventory-sync nightly at 02:00 UTC,
  prometheus-0 recreated Mondays 03:00 UTC.

Time model: every answer is a function of the time asked about, the seed and the order volume
only. Nothing is kept between calls; the only randomness is a hash of (seed, what, time
bucket). Any past window can be asked for, and the same moment always gives the same answer.
Events live one hour, as on a real API server.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import itertools
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

from demo import visitors
from queries.health import Health, describe_failure
from queries.telemetry import (
    CONTAINER_RESOURCE_COLUMNS,
    EVENT_COLUMNS,
    HPA_COLUMNS,
    NODE_COLUMNS,
    POD_HEALTH_COLUMNS,
    POD_USAGE_COLUMNS,
    RECENT_RESTARTS,
    SERVICE_TRAFFIC_COLUMNS,
    UNHEALTHY_POD_COLUMNS,
    RequestCounts,
    alert_frame,
    choose_step,
    contract_frame,
)

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
OrderVolume = Callable[[dt.datetime, dt.datetime], pd.DataFrame]

MI = 2**20
GI = 2**30
MINUTE = 60
LOOP_SECONDS = 3600
DAY_SECONDS = 86_400

# Traffic.
BROWSING_REQUESTS_PER_SECOND = 6.0
# Each order line stands for the browsing, cart and checkout requests that led to it; 150 puts
# the seeded demo inventory (about 2 order lines a minute by day) visibly into the request rate.
REQUESTS_PER_ORDER_LINE = 150.0
SMOOTHING_MINUTES = 10
STALE_MINUTES = 2 * 60
PAYMENTS_CALLS_PER_REQUEST = 0.08
CPU_SECONDS_PER_REQUEST = 0.03
PAYMENTS_CPU_SECONDS_PER_REQUEST = 0.012
# Built-in order lines per minute by UTC hour, shaped like the seeded demo inventory's day.
ORDER_PROFILE = (
    0.10, 0.08, 0.05, 0.04, 0.05, 0.08, 0.15, 0.30, 0.45, 0.60, 0.62, 0.62,
    0.58, 0.52, 0.50, 0.50, 0.52, 0.50, 0.45, 0.40, 0.35, 0.28, 0.20, 0.13,
)  # fmt: skip

# order-service and its HorizontalPodAutoscaler.
MIN_REPLICAS = 3
MAX_REPLICAS = 8
HPA_TARGET_UTILIZATION = 0.6
SCALE_DOWN_STABILIZATION_MINUTES = 5

# The incident loop, in seconds from the start of each clock hour.
# The visitors' bursts (demo.visitors): the traffic spike of the incident loop.
SPIKE_SECONDS = (visitors.BURST_MINUTES[0] * MINUTE, visitors.BURST_MINUTES[1] * MINUTE)
SPIKE_FACTOR = visitors.BURST_FACTOR
LEAK_STARTS_AT = 12 * MINUTE
# (OOM-killed at, restarted at): the gaps are the kubelet's back-off (5 s is its first restart).
OOM_KILLS = (
    (15 * MINUTE, 15 * MINUTE + 5),
    (16 * MINUTE, 16 * MINUTE + 10),
    (17 * MINUTE, 17 * MINUTE + 20),
    (18 * MINUTE, 18 * MINUTE + 40),
    (19 * MINUTE + 10, 20 * MINUTE + 30),
)
OOM_STATUS_SECONDS = 5  # kubectl shows OOMKilled until the kubelet starts the back-off
READINESS_DELAY_SECONDS = 30
MEMORY_PRESSURE_SECONDS = (14 * MINUTE + 30, 20 * MINUTE + 30)
PAYMENTS_ROLLOUT_AT = 35 * MINUTE
PAYMENTS_REPLICAS = 2

# Pod lifecycle.
CREATING_SECONDS = 30
READY_AFTER_SECONDS = 50
ROLLOUT_STEP_SECONDS = READY_AFTER_SECONDS  # maxSurge 1, maxUnavailable 0
TERMINATION_GRACE_SECONDS = 30
ORDER_SERVICE_RELEASE_AT = 6 * 3600  # of the UTC day
INVENTORY_SYNC_AT = 2 * 3600
INVENTORY_SYNC_SECONDS = 20 * MINUTE
JOB_CREATING_SECONDS = 10
JOB_HISTORY = 3
PROMETHEUS_RECREATED_AT = 3 * 3600  # Mondays
EVENT_TTL_SECONDS = 3600
RESTART_WINDOW_SECONDS = 3600

MAX_POINTS = 1000
# How far before a minute its replicas depend on order volume: the stale-inventory test, the
# smoothing, the stabilisation window and the minute's lag.
_LOOKBACK_MINUTES = STALE_MINUTES + SMOOTHING_MINUTES + SCALE_DOWN_STABILIZATION_MINUTES + 5

NODES = ("node-a", "node-b", "node-c")
NODE_CPU_CORES = {"node-a": 3.92, "node-b": 3.92, "node-c": 7.91}
NODE_MEMORY_BYTES = {"node-a": 15_350_968 * 1024, "node-b": 15_350_968 * 1024}
NODE_MEMORY_BYTES["node-c"] = 31_482_680 * 1024
REGISTRY = "registry.local/shop"
# Kubernetes' alphabet for generated names; ReplicaSet hashes here use the part of it that is
# also hexadecimal, as many real ones look.
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_HASH_ALPHABET = "bcdf2456789"
_MASK64 = 2**64 - 1


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- deterministic noise and names -------------------------------------------------------------


@functools.lru_cache(maxsize=65_536)
def _digest(*parts: object) -> int:
    text = "\x1f".join(str(part) for part in parts)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def _mix(value: int) -> int:
    # splitmix64's finaliser: neighbouring buckets get unrelated values.
    value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9 & _MASK64
    value = (value ^ (value >> 27)) * 0x94D049BB133111EB & _MASK64
    return value ^ (value >> 31)


def _unit(seed: int, key: str, bucket: int) -> float:
    """A uniform number in [0, 1) for (seed, key, bucket)."""
    salted = _digest(seed, key) ^ (bucket * 0x9E3779B97F4A7C15 & _MASK64)
    return (_mix(salted) >> 11) / 2.0**53


def _units(seed: int, key: str, buckets: IntArray) -> FloatArray:
    """``_unit`` over an array of buckets."""
    salt = np.uint64(_digest(seed, key))
    value = (buckets.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) ^ salt
    value = (value ^ (value >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    value = (value ^ (value >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    value = value ^ (value >> np.uint64(31))
    return (value >> np.uint64(11)).astype(np.float64) / 2.0**53


def _token(alphabet: str, length: int, *parts: object) -> str:
    value = _digest(*parts)
    chars = []
    for _ in range(length):
        value, index = divmod(value, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars)


def _uid(seed: int, pod: str, created_s: int) -> str:
    text = f"{_digest(seed, 'uid', pod, created_s):016x}{_digest(seed, 'uid2', pod):016x}"
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-a{text[17:20]}-{text[20:32]}"


def _pod_ip(seed: int, pod: str, node: str) -> str:
    return f"10.8.{NODES.index(node)}.{2 + _digest(seed, 'ip', pod) % 250}"


# --- time ----------------------------------------------------------------------------------------


def _seconds(moment: dt.datetime, what: str) -> int:
    if not isinstance(moment, dt.datetime):
        raise TypeError(f"{what} must be a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (UTC), got the naive {moment}")
    return math.floor(moment.timestamp())


def _release(t: int) -> int:
    """When order-service's daily release that is current at t started."""
    since = (t - ORDER_SERVICE_RELEASE_AT) // DAY_SECONDS * DAY_SECONDS
    return since + ORDER_SERVICE_RELEASE_AT


def _steps(start_s: int, end_s: int) -> list[int]:
    """Step-aligned moments in [start, end], so one moment reads the same in every window."""
    if start_s > end_s:
        raise ValueError("start must not be after end")
    step = int(
        choose_step(
            dt.datetime.fromtimestamp(start_s, dt.UTC),
            dt.datetime.fromtimestamp(end_s, dt.UTC),
            MAX_POINTS,
        ).total_seconds()
    )
    first = -(-start_s // step) * step
    return list(range(first, end_s + 1, step))


def _lerp(low: float, high: float, share: float) -> float:
    return low + (high - low) * min(max(share, 0.0), 1.0)


# --- the workloads' parts ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Resources:
    """A container's requests and limits (cores, bytes; NaN when unset)."""

    cpu_request: float
    cpu_limit: float
    memory_request: float
    memory_limit: float


ORDER_SERVICE = _Resources(0.25, 1.0, 256 * MI, 512 * MI)
PAYMENTS = _Resources(0.1, 0.5, 128 * MI, 256 * MI)
INVENTORY_SYNC = _Resources(0.2, math.nan, 256 * MI, 512 * MI)
PROMETHEUS = _Resources(0.5, math.nan, 2 * GI, 4 * GI)
CONFIG_RELOADER = _Resources(0.01, 0.1, 25 * MI, 50 * MI)


@dataclass(frozen=True)
class _Container:
    name: str
    resources: _Resources
    running: bool
    cpu_cores: float
    memory_bytes: float
    restarts: int = 0
    restarts_window: int = 0
    last_terminated_reason: str = ""
    throttling_ratio: float = math.nan


@dataclass(frozen=True)
class _Pod:
    namespace: str
    name: str
    workload: str
    workload_kind: str
    node: str
    phase: str
    status: str
    ready_containers: int
    created_s: int
    containers: tuple[_Container, ...]

    @property
    def restarts(self) -> int:
        return sum(container.restarts for container in self.containers)

    @property
    def last_termination_reason(self) -> str:
        reasons = (c.last_terminated_reason for c in self.containers)
        return next((reason for reason in reasons if reason), "")

    @property
    def healthy(self) -> bool:
        return self.status == "Completed" or (
            self.status == "Running" and self.ready_containers == len(self.containers)
        )


@dataclass(frozen=True)
class _State:
    """A one-container pod's state as kubectl shows it, and what its container is doing."""

    phase: str
    status: str
    ready: bool
    running: bool
    warming: bool = False  # running, its readiness probe not yet passing
    terminating: bool = False
    restarts: tuple[int, ...] = ()
    kills: tuple[int, ...] = ()


_TERMINATING = _State("Running", "Terminating", ready=False, running=True, terminating=True)


def _fresh(created_s: int, t: int) -> _State:
    age = t - created_s
    if age < CREATING_SECONDS:
        return _State("Pending", "ContainerCreating", ready=False, running=False)
    if age < READY_AFTER_SECONDS:
        return _State("Running", "Running", ready=False, running=True, warming=True)
    return _State("Running", "Running", ready=True, running=True)


@dataclass(frozen=True)
class _SlotPod:
    """The order-service pod holding replica slot ``slot``, born in a release or a scale-up."""

    slot: int
    created_s: int
    release_s: int
    via_rollout: bool


class _Event(NamedTuple):
    at: int
    namespace: str
    kind: str
    name: str
    reason: str
    message: str
    type: str = "Normal"
    repeats: int = 1


def _throttling(seed: int, pod: str, t: int, cpu: float, limit: float) -> float:
    if math.isnan(limit):
        return math.nan
    bursts = 0.004 + 0.02 * _unit(seed, f"throttle/{pod}", t // 15)
    return min(1.0, bursts + max(0.0, cpu / limit - 0.7) / 0.3 * 0.8)


# --- demand and replicas, minute by minute --------------------------------------------------------


def _trailing_sum(values: FloatArray, window: int) -> FloatArray:
    """Sum of the ``window`` values before each position (fewer at the start)."""
    totals = np.concatenate([[0.0], np.cumsum(values)])
    index = np.arange(len(values))
    sums: FloatArray = totals[index] - totals[np.maximum(index - window, 0)]
    return sums


def _profile_lines(seed: int, minutes: IntArray) -> FloatArray:
    hours = (minutes % (24 * 60)) / 60.0
    centres = np.arange(24) + 0.5
    shape = np.interp(hours, centres, np.asarray(ORDER_PROFILE), period=24)
    lines: FloatArray = shape * (0.6 + 0.8 * _units(seed, "order-profile", minutes))
    return lines


def _fetch_order_lines(
    volume: OrderVolume | None, first_minute: int, last_minute: int
) -> tuple[FloatArray | None, str]:
    """Order lines per minute over [first, last] from ``volume``, or None and why not."""
    if volume is None:
        return None, "no inventory order volume given"
    start = dt.datetime.fromtimestamp(first_minute * MINUTE, dt.UTC)
    end = dt.datetime.fromtimestamp((last_minute + 1) * MINUTE, dt.UTC)
    try:
        frame = volume(start, end)
        stamps = pd.to_datetime(frame["timestamp"], utc=True)
        offsets = (stamps - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(minutes=1)
        minutes = offsets.to_numpy(np.int64)
        counts = pd.to_numeric(frame["order_lines"]).to_numpy(np.float64)
    except Exception as error:
        log.debug("order volume unavailable, using the built-in profile: %s", error)
        return None, f"inventory order volume failed: {describe_failure(error)}"
    lines = np.zeros(last_minute - first_minute + 1)
    index = minutes - first_minute
    inside = (index >= 0) & (index < len(lines))
    np.add.at(lines, index[inside], counts[inside])
    return lines, ""


class _Demand:
    """order-service's request rate and its HPA's replicas, minute by minute over a span."""

    def __init__(self, first_s: int, last_s: int, volume: OrderVolume | None, seed: int) -> None:
        self.first_minute = first_s // MINUTE - _LOOKBACK_MINUTES
        last_minute = last_s // MINUTE
        minutes = np.arange(self.first_minute, last_minute + 1, dtype=np.int64)
        profile = _trailing_sum(_profile_lines(seed, minutes), SMOOTHING_MINUTES)
        lines, _ = _fetch_order_lines(volume, self.first_minute, last_minute)
        # The inventory's booked lines per minute over the span (None: the built-in profile).
        self.lines = lines
        smoothed = profile / SMOOTHING_MINUTES
        success = visitors.success_share(minutes)
        burst = visitors.visitor_factor(minutes)
        if lines is not None:
            recent = _trailing_sum(lines, STALE_MINUTES) > 0
            # The usual visitors' attempts to order: while checkout fails only a share got
            # through, and in a burst three times as many visitors ordered.
            tried = _trailing_sum(lines / (success * burst), SMOOTHING_MINUTES)
            smoothed = np.where(recent, tried / SMOOTHING_MINUTES, smoothed)
        # Failed checkouts: each order line tried and not booked, answered with 5xx.
        self.failed_checkouts = smoothed * burst / 60.0 * (1.0 - success)
        self.failed_checkouts *= visitors.CHECKOUT_REQUESTS_PER_ORDER_LINE
        self.spike = visitors.burst_minutes(minutes)
        base = BROWSING_REQUESTS_PER_SECOND + REQUESTS_PER_ORDER_LINE * smoothed / 60.0
        self.request_rate = base * burst
        self.cpu_demand = self.request_rate * CPU_SECONDS_PER_REQUEST
        per_pod = HPA_TARGET_UTILIZATION * ORDER_SERVICE.cpu_request
        # The epsilon keeps exact multiples of the target (0.75 / 0.15) from rounding up.
        raw = np.clip(np.ceil(self.cpu_demand / per_pod - 1e-9), MIN_REPLICAS, MAX_REPLICAS)
        window = SCALE_DOWN_STABILIZATION_MINUTES
        padded = np.concatenate([np.full(window, raw[0]), raw])
        windows = np.lib.stride_tricks.sliding_window_view(padded, window + 1)
        self.desired = windows.max(axis=1).astype(np.int64)
        self.current = np.concatenate([self.desired[:1], self.desired[:-1]])
        before, after = self.current[:-1], self.current[1:]
        self._ups = [minutes[1:][(before <= s) & (after > s)] for s in range(MAX_REPLICAS)]
        self._downs = [minutes[1:][(before > s) & (after <= s)] for s in range(MAX_REPLICAS)]

    def index(self, t: int) -> int:
        j = t // MINUTE - self.first_minute
        if not 0 <= j < len(self.current):
            raise IndexError(f"{t} lies outside the simulated span")
        return j

    def current_at(self, t: int) -> int:
        return int(self.current[self.index(t)])

    def last_up(self, slot: int, low_s: int, high_s: int) -> int | None:
        """When the replicas last rose past ``slot`` within [low, high] (a minute's start)."""
        crossings = self._ups[slot]
        position = int(np.searchsorted(crossings, high_s // MINUTE, side="right")) - 1
        if position < 0 or crossings[position] * MINUTE < low_s:
            return None
        return int(crossings[position]) * MINUTE

    def last_down(self, slot: int, high_s: int) -> int | None:
        """When the replicas last fell to ``slot`` or below, up to high (a minute's start)."""
        crossings = self._downs[slot]
        position = int(np.searchsorted(crossings, high_s // MINUTE, side="right")) - 1
        return None if position < 0 else int(crossings[position]) * MINUTE


# --- the source --------------------------------------------------------------------------------


class DemoCluster:
    """A deterministic simulated cluster: ``ClusterSource`` and ``MetricsSource`` in one.

    ``order_volume(start, end)``: order lines per minute as ``InventorySource.
    order_lines_per_minute`` returns them (columns timestamp, order_lines), or None for the
    built-in profile. ``clock``: the current moment (timezone-aware). ``seed``: the names, the
    leaking pod and the noise. Every datetime argument must be timezone-aware (ValueError).
    """

    name = "demo cluster"
    is_demo = True

    def __init__(
        self,
        order_volume: OrderVolume | None,
        clock: Callable[[], dt.datetime] = now_utc,
        seed: int = 7,
        slo_objective: float = 0.995,
    ) -> None:
        self.order_volume = order_volume
        self.clock = clock
        self.seed = seed
        # The availability objective its error-budget alerts burn against (INVDASH_SLO_OBJECTIVE).
        self.slo_objective = slo_objective

    # --- ClusterSource -------------------------------------------------------------------------

    def pod_health(self) -> pd.DataFrame:
        """One row per pod now, by namespace and name (columns ``POD_HEALTH_COLUMNS``, dtypes as
        ``KubernetesSource.pod_health``). Job pods belong to their Job (workload_kind "Job")."""
        now = self._now()
        rows = [
            (
                p.namespace, p.name, p.workload, p.workload_kind, p.node, p.phase, p.status,
                p.ready_containers, len(p.containers), p.restarts, p.last_termination_reason,
                float(now - p.created_s), p.healthy,
            )
            for p in self._pods_at(now, self._demand(now, now))
        ]  # fmt: skip
        return contract_frame(rows, POD_HEALTH_COLUMNS)

    def events(self, since: dt.datetime) -> pd.DataFrame:
        """Events last seen at or after ``since`` and still alive (one hour), newest first.

        Columns ``EVENT_COLUMNS``: timestamp (datetime64[ns, UTC]), namespace, kind and name of
        the involved object, type ("Normal", "Warning"), reason, message (str), count (int64:
        repeats of an aggregated event such as BackOff).
        """
        since_s = _seconds(since, "since")
        now = self._now()
        low = max(since_s, now - EVENT_TTL_SECONDS)
        if low > now:
            return contract_frame([], EVENT_COLUMNS)
        demand = self._demand(low - LOOP_SECONDS, now)
        found = [event for event in self._events(low, now, demand) if low <= event.at <= now]
        found.sort(key=lambda event: event.at, reverse=True)
        rows = [
            (_timestamp(e.at), e.namespace, e.kind, e.name, e.type, e.reason, e.message, e.repeats)
            for e in found
        ]
        return contract_frame(rows, EVENT_COLUMNS)

    def nodes(self) -> pd.DataFrame:
        """One row per node, by name (columns ``NODE_COLUMNS``): all Ready, no disk or PID
        pressure; MemoryPressure on the leaking pod's node during the incident."""
        now = self._now()
        pressured = self._pressure_node(now, self._demand(now, now))
        rows = [
            (
                node, True, node == pressured, False, False, NODE_CPU_CORES[node],
                float(NODE_MEMORY_BYTES[node]),
            )
            for node in NODES
        ]  # fmt: skip
        return contract_frame(rows, NODE_COLUMNS)

    def check_health(self) -> Health:
        """ok (error only for a clock without a timezone); the message says whether traffic
        follows the inventory's order lines or the built-in daily profile, and why."""
        details = {"seed": str(self.seed)}
        try:
            now = self._now()
            details["loop_minute"] = str(now % LOOP_SECONDS // MINUTE)
            problem, lines = self._recent_order_lines(now)
        except Exception as error:
            return Health("error", f"demo cluster failed: {describe_failure(error)}", details)
        if problem:
            details["traffic"] = "built-in profile"
            message = (
                f"simulated cluster; traffic from the built-in daily order profile ({problem})"
            )
            return Health("ok", message, details)
        details["traffic"] = "inventory order lines"
        hours = STALE_MINUTES // 60
        message = (
            f"simulated cluster; traffic follows inventory order lines ({lines:,} in the last "
            f"{hours} h)"
        )
        return Health("ok", message, details)

    # --- MetricsSource -------------------------------------------------------------------------

    def pod_usage(
        self, namespace: str | None, start: dt.datetime, end: dt.datetime
    ) -> pd.DataFrame:
        """CPU (cores) and memory working set (bytes) per pod with a running container, per
        step (at most 1000 steps, aligned to multiples of the step), in ``namespace`` or all.
        Columns ``POD_USAGE_COLUMNS``; sorted by timestamp, namespace, pod."""
        rows = []
        for t, demand in self._steps(start, end):
            stamp = _timestamp(t)
            for pod in self._pods_at(t, demand):
                running = [c for c in pod.containers if c.running]
                if running and namespace in (None, pod.namespace):
                    cpu = sum(c.cpu_cores for c in running)
                    memory = sum(c.memory_bytes for c in running)
                    rows.append((stamp, pod.namespace, pod.name, cpu, memory))
        return contract_frame(rows, POD_USAGE_COLUMNS)

    def container_resources(self, namespace: str | None = None) -> pd.DataFrame:
        """One row per container of every pod now in phase Running, in ``namespace`` or all, by
        namespace, pod, container; a container down between OOM kills has zero usage.

        Columns ``CONTAINER_RESOURCE_COLUMNS``: usage (cores, bytes), requests and limits (NaN
        when unset), shares (NaN without the request or limit), cpu_throttling_ratio (NaN
        without a CPU limit), restarts_window (int64: restarts in the last hour),
        last_terminated_reason (str, "" when none).
        """
        now = self._now()
        rows = []
        for pod in self._pods_at(now, self._demand(now, now)):
            if pod.phase != "Running" or namespace not in (None, pod.namespace):
                continue
            for c in pod.containers:
                r = c.resources
                rows.append(
                    (
                        pod.namespace, pod.name, c.name, c.cpu_cores, c.memory_bytes,
                        r.cpu_request, r.cpu_limit, r.memory_request, r.memory_limit,
                        c.cpu_cores / r.cpu_request, c.cpu_cores / r.cpu_limit,
                        c.memory_bytes / r.memory_request, c.memory_bytes / r.memory_limit,
                        c.throttling_ratio, c.restarts_window, c.last_terminated_reason,
                    )
                )  # fmt: skip
        return contract_frame(rows, CONTAINER_RESOURCE_COLUMNS)

    def hpa_replicas(
        self, namespace: str | None, start: dt.datetime, end: dt.datetime
    ) -> pd.DataFrame:
        """The order-service HPA's current and desired replicas and its bounds per step (columns
        ``HPA_COLUMNS``, steps as ``pod_usage``); empty for a namespace other than "shop"."""
        rows = []
        for t, demand in self._steps(start, end) if namespace in (None, "shop") else ():
            j = demand.index(t)
            current, desired = int(demand.current[j]), int(demand.desired[j])
            rows.append(
                (_timestamp(t), "shop", "order-service", current, desired, MIN_REPLICAS,
                 MAX_REPLICAS)
            )  # fmt: skip
        return contract_frame(rows, HPA_COLUMNS)

    def service_traffic(self, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
        """Requests/s, 5xx/s, 5xx share and p95 latency (s) of order-service and payments per
        step (columns ``SERVICE_TRAFFIC_COLUMNS``, steps as ``pod_usage``), by time, service."""
        rows = []
        for t, demand in self._steps(start, end):
            stamp = _timestamp(t)
            for service, rate, errors, p95 in self._traffic_at(t, demand):
                rows.append((stamp, service, rate, rate * errors, errors, p95))
        return contract_frame(rows, SERVICE_TRAFFIC_COLUMNS)

    def service_request_counts(
        self, service: str, window: dt.timedelta, at: dt.datetime
    ) -> RequestCounts:
        """``service``'s requests and 5xx answers in the ``window`` before ``at``: its request
        and error rates sampled every ``_count_step_minutes(window)`` minutes (at most about
        1000 samples, at the multiples of a step prime to the hour's 60 minutes, so the samples
        fall on every minute of the incident loop alike), each standing for its step. (0, 0)
        for a service the demo does not run."""
        if window <= dt.timedelta(0):
            raise ValueError(f"window must be positive, not {window}")
        end = _seconds(at, "at")
        step = _count_step_minutes(window) * MINUTE
        # The multiples of the step in (at - window, at]: the same samples for every moment
        # until the next multiple (as Prometheus' range steps are aligned).
        first = (end - int(window.total_seconds())) // step * step + step
        times = list(range(first, end + 1, step))
        demand = self._demand(times[0], end)
        requests = errors = 0.0
        for t in times:
            for name, rate, share, _ in self._traffic_at(t, demand):
                if name == service:
                    requests += rate * step
                    errors += rate * share * step
        return RequestCounts(requests, errors)

    def firing_alerts(self) -> pd.DataFrame:
        """The alerts deploy/prometheus/invdash-rules.yml would fire now on this cluster's
        order service (its business alerts on the inventory's figures are Prometheus' to
        evaluate): a broken checkout, an error-budget burn, the HPA at its maximum. Each
        condition is evaluated minute by minute, with the rule's window and ``for``, on the
        same traffic ``service_traffic`` reports and the inventory's order lines. Columns
        ALERT_COLUMNS."""
        now = self._now() // MINUTE * MINUTE
        # One span of demand (one read of the order volume) for every rule, back as far as
        # the longest window and its lookback reach; a week earlier's for the comparison.
        reach = (ALERT_LOOKBACK_MINUTES + SLOW_BURN.long_minutes) * MINUTE
        demand = self._demand(now - reach, now)
        rows = [
            *_demo_alert(self._broken_checkout_since(now, demand), now, "InvdashBrokenCheckout"),
            *_demo_alert(
                self._burn_since(now, FAST_BURN, demand),
                now,
                "InvdashOrderServiceErrorBudgetFastBurn",
            ),
            *_demo_alert(
                self._burn_since(now, SLOW_BURN, demand),
                now,
                "InvdashOrderServiceErrorBudgetSlowBurn",
            ),
            *_demo_alert(self._at_max_since(now, demand), now, "InvdashOrderServiceAtMaxReplicas"),
        ]
        return alert_frame(rows)

    def _broken_checkout_since(self, now: int, demand: _Demand) -> int | None:
        """When the broken-checkout condition last began to hold, if it holds now and has
        held for the rule's ``for``: order lines per 1,000 requests over the last hour under
        half of a week earlier's, while the hour's requests are at least 80% of its."""
        hour = 60
        span = ALERT_LOOKBACK_MINUTES + hour
        week = 7 * DAY_SECONDS
        ratios, requests = [], []
        for end, of in ((now, demand), (now - week, None)):
            first = end - span * MINUTE
            of = of or self._demand(first, end)
            if of.lines is None:
                return None
            index = np.arange(first // MINUTE, end // MINUTE, dtype=np.int64) - of.first_minute
            rate, lines = of.request_rate[index] * MINUTE, of.lines[index]
            hour_requests, hour_lines = _window_sums(rate, hour), _window_sums(lines, hour)
            ratios.append(1000.0 * hour_lines / np.maximum(hour_requests, 1e-9))
            requests.append(hour_requests)
        holds = (ratios[0] < 0.5 * ratios[1]) & (requests[0] >= 0.8 * requests[1])
        return _held_since(holds, now, BROKEN_CHECKOUT_FOR_MINUTES)

    def _burn_since(self, now: int, burn: _Burn, demand: _Demand) -> int | None:
        """When an error-budget burn alert's two windows last began to exceed its rate."""
        step = burn.step_minutes * MINUTE
        count = (ALERT_LOOKBACK_MINUTES + burn.long_minutes) // burn.step_minutes
        times = list(range(now - count * step, now + 1, step))  # back from now: its last is now
        requests, errors = [], []
        for t in times:
            _, rate, share, _ = self._traffic_at(t, demand)[0]
            requests.append(rate * step)
            errors.append(rate * share * step)
        total, failed = np.asarray(requests), np.asarray(errors)
        threshold = burn.rate * (1.0 - self.slo_objective)

        lookback = len(times) - burn.long_minutes // burn.step_minutes + 1

        def ratio(minutes: int) -> FloatArray:
            n = minutes // burn.step_minutes
            sums = _window_sums(failed, n) / np.maximum(_window_sums(total, n), 1e-9)
            return sums[-lookback:]

        holds = (ratio(burn.long_minutes) > threshold) & (ratio(burn.short_minutes) > threshold)
        return _held_since(holds, now, burn.for_minutes, burn.step_minutes)

    def _at_max_since(self, now: int, demand: _Demand) -> int | None:
        first = now - ALERT_LOOKBACK_MINUTES * MINUTE
        minutes = np.arange(first // MINUTE + 1, now // MINUTE + 1, dtype=np.int64)
        holds = demand.current[minutes - demand.first_minute] >= MAX_REPLICAS
        return _held_since(holds, now, AT_MAX_FOR_MINUTES)

    # --- time and demand -----------------------------------------------------------------------

    def unhealthy_pods_at(self, moment: dt.datetime) -> pd.DataFrame:
        """The pods unhealthy at ``moment`` as ``pod_health`` would have shown them then, plus
        those that restarted in the RECENT_RESTARTS window before (columns
        UNHEALTHY_POD_COLUMNS, sorted by namespace and pod). status: kubectl's, except that a
        Running pod whose containers are not all ready is "NotReady", as from Prometheus."""
        t = _seconds(moment, "moment")
        before = t - int(RECENT_RESTARTS.total_seconds())
        demand = self._demand(before, t)
        earlier = {(p.namespace, p.name): p.restarts for p in self._pods_at(before, demand)}
        rows = []
        for pod in self._pods_at(t, demand):
            restarted = pod.restarts - earlier.get((pod.namespace, pod.name), 0)
            if not pod.healthy or restarted > 0:
                # kube-state-metrics cannot tell "Running, not ready" from the status word.
                status = "NotReady" if pod.status == "Running" else pod.status
                status = status if not pod.healthy else "Restarted"
                rows.append(
                    (pod.namespace, pod.name, status, restarted, pod.last_termination_reason)
                )
        return contract_frame(rows, UNHEALTHY_POD_COLUMNS)

    def _now(self) -> int:
        return _seconds(self.clock(), "the clock's time")

    def _steps(self, start: dt.datetime, end: dt.datetime) -> Iterator[tuple[int, _Demand]]:
        """Each step of ``_window(start, end)`` with the demand over the whole window (computed
        once)."""
        steps = self._window(start, end)
        if steps:
            demand = self._demand(steps[0], steps[-1])
            for t in steps:
                yield t, demand

    def _window(self, start: dt.datetime, end: dt.datetime) -> list[int]:
        return _steps(_seconds(start, "start"), _seconds(end, "end"))

    def _demand(self, first_s: int, last_s: int) -> _Demand:
        # From the day before the release current at first_s: the pods alive at first_s may
        # have been named by it.
        earliest = _release(first_s - 15 * MINUTE) - DAY_SECONDS - 15 * MINUTE
        return _Demand(earliest, last_s, self.order_volume, self.seed)

    def _recent_order_lines(self, now: int) -> tuple[str, int]:
        """("", lines) when traffic at now follows the inventory, else (why not, 0)."""
        if self.order_volume is None:
            return "no inventory order volume given", 0
        last_minute = now // MINUTE - 1
        first_minute = last_minute - STALE_MINUTES + 1
        lines, problem = _fetch_order_lines(self.order_volume, first_minute, last_minute)
        if lines is None:
            return problem, 0
        total = int(lines.sum())
        if total == 0:
            return f"no inventory order lines in the last {STALE_MINUTES // 60} h", 0
        return "", total

    # --- pods ----------------------------------------------------------------------------------

    def _pods_at(self, t: int, demand: _Demand) -> list[_Pod]:
        pods = [
            *self._order_service_pods(t, demand),
            *self._payments_pods(t, demand),
            *self._inventory_sync_pods(t),
            self._prometheus_pod(t),
        ]
        return sorted(pods, key=lambda pod: (pod.namespace, pod.name))

    def _leaking_slot(self, loop: int) -> int:
        return _digest(self.seed, "victim", loop) % MIN_REPLICAS

    def _rs_hash(self, workload: str, generation: int) -> str:
        return _token(_HASH_ALPHABET, 10, self.seed, "replicaset", workload, generation)

    def _slot_pod(self, slot: int, t: int, demand: _Demand) -> _SlotPod | None:
        if demand.current_at(t) <= slot:
            return None
        release = _release(t)
        scaled_up = demand.last_up(slot, release, t)
        if scaled_up is not None:
            return _SlotPod(slot, scaled_up, release, via_rollout=False)
        replaced = release + slot * ROLLOUT_STEP_SECONDS
        if t >= replaced:
            return _SlotPod(slot, replaced, release, via_rollout=True)
        # Not yet replaced by today's release: yesterday's pod.
        return self._slot_pod(slot, release - 1, demand)

    def _slot_names(self, pod: _SlotPod) -> tuple[str, str, str]:
        """(pod name, ReplicaSet hash, node) of an order-service slot pod."""
        rs = self._rs_hash("order-service", pod.release_s // DAY_SECONDS)
        suffix = _token(_NAME_ALPHABET, 5, self.seed, "pod", rs, pod.slot, pod.created_s)
        node = NODES[(pod.slot + _digest(self.seed, "spread", rs)) % len(NODES)]
        return f"order-service-{rs}-{suffix}", rs, node

    def _oom_history(self, pod: _SlotPod, t: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(OOM kill times, restart times) of a slot pod up to t."""
        if pod.slot >= MIN_REPLICAS:
            return (), ()
        kills: list[int] = []
        restarts: list[int] = []
        for loop in range(pod.created_s // LOOP_SECONDS, t // LOOP_SECONDS + 1):
            if self._leaking_slot(loop) != pod.slot:
                continue
            base = loop * LOOP_SECONDS
            for killed, restarted in OOM_KILLS:
                if pod.created_s <= base + killed <= t:
                    kills.append(base + killed)
                    if base + restarted <= t:
                        restarts.append(base + restarted)
        return tuple(kills), tuple(restarts)

    def _order_service_state(self, pod: _SlotPod, retire_s: int | None, t: int) -> _State:
        kills, restarts = self._oom_history(pod, t)
        if retire_s is not None and t >= retire_s:
            state = _TERMINATING
        elif len(kills) > len(restarts):  # killed, not restarted yet
            status = "OOMKilled" if t - kills[-1] < OOM_STATUS_SECONDS else "CrashLoopBackOff"
            state = _State("Running", status, ready=False, running=False)
        elif restarts and t - restarts[-1] < READINESS_DELAY_SECONDS:
            state = _State("Running", "Running", ready=False, running=True, warming=True)
        else:
            state = _fresh(pod.created_s, t)
        return _State(
            state.phase, state.status, state.ready, state.running, state.warming,
            state.terminating, restarts, kills,
        )  # fmt: skip

    def _order_service_entries(self, t: int, demand: _Demand) -> list[tuple[_SlotPod, int | None]]:
        """The slot pods alive at t, each with when it was told to stop (None: not told)."""
        entries: list[tuple[_SlotPod, int | None]] = []
        for slot in range(MAX_REPLICAS):
            pod = self._slot_pod(slot, t, demand)
            if pod is not None:
                entries.append((pod, None))
                retire = pod.created_s + READY_AFTER_SECONDS
                if pod.via_rollout and t < retire + TERMINATION_GRACE_SECONDS:
                    old = self._slot_pod(slot, pod.release_s - 1, demand)
                    if old is not None:
                        entries.append((old, retire))
                continue
            down = demand.last_down(slot, t)
            if down is not None and t < down + TERMINATION_GRACE_SECONDS:
                old = self._slot_pod(slot, down - 1, demand)
                if old is not None:
                    entries.append((old, down))
        return entries

    def _leak_memory(self, t: int, normal: float) -> float:
        phase = t % LOOP_SECONDS
        top = 0.995 * ORDER_SERVICE.memory_limit
        fresh = 190.0 * MI
        first_kill = OOM_KILLS[0][0]
        if LEAK_STARTS_AT <= phase < first_kill:
            return _lerp(normal, top, (phase - LEAK_STARTS_AT) / (first_kill - LEAK_STARTS_AT))
        for (_, restarted), (next_kill, _) in itertools.pairwise(OOM_KILLS):
            if restarted <= phase < next_kill:
                return _lerp(fresh, top, (phase - restarted) / (next_kill - restarted))
        last_restart = OOM_KILLS[-1][1]
        if last_restart <= phase < last_restart + 2 * MINUTE:
            return _lerp(fresh, normal, (phase - last_restart) / (2 * MINUTE))
        return normal

    def _order_service_pods(self, t: int, demand: _Demand) -> list[_Pod]:
        entries = self._order_service_entries(t, demand)
        states = [self._order_service_state(pod, retire, t) for pod, retire in entries]
        ready = max(1, sum(1 for state in states if state.ready))
        j = demand.index(t)
        per_pod_cpu = float(demand.cpu_demand[j]) / ready
        per_pod_rate = float(demand.request_rate[j]) / ready
        leaking = self._leaking_slot(t // LOOP_SECONDS)
        pods = []
        for (slot_pod, _), state in zip(entries, states, strict=True):
            name, _, node = self._slot_names(slot_pod)
            wobble = _unit(self.seed, f"cpu/{name}", t // 15)
            heap = 20 * _unit(self.seed, f"mem/{name}", t // MINUTE)
            memory = (230 + 2.5 * per_pod_rate + heap) * MI
            if not state.running:
                cpu, memory = 0.0, 0.0
            elif state.terminating:
                cpu = 0.01
            elif state.warming:
                cpu, memory = 0.12 + 0.1 * wobble, (190 + 40 * wobble) * MI
            else:
                cpu = per_pod_cpu * (0.9 + 0.2 * wobble) + 0.004
                cpu = min(cpu, 0.99 * ORDER_SERVICE.cpu_limit)
            if state.running and not state.terminating and slot_pod.slot == leaking:
                memory = self._leak_memory(t, memory)
            container = _Container(
                "app", ORDER_SERVICE, state.running, cpu, memory,
                restarts=len(state.restarts),
                restarts_window=sum(1 for r in state.restarts if r > t - RESTART_WINDOW_SECONDS),
                last_terminated_reason="OOMKilled" if state.kills else "",
                throttling_ratio=_throttling(self.seed, name, t, cpu, ORDER_SERVICE.cpu_limit),
            )  # fmt: skip
            pods.append(
                _Pod(
                    "shop", name, "order-service", "Deployment", node, state.phase, state.status,
                    int(state.ready), slot_pod.created_s, (container,),
                )
            )  # fmt: skip
        return pods

    def _payments_rollout(self, t: int) -> tuple[int, int]:
        """(start, generation) of the payments rollout current at t."""
        generation = (t - PAYMENTS_ROLLOUT_AT) // LOOP_SECONDS
        return generation * LOOP_SECONDS + PAYMENTS_ROLLOUT_AT, generation

    def _payments_name(self, generation: int, index: int) -> tuple[str, str]:
        """(pod name, node) of a payments pod."""
        rs = self._rs_hash("payments", generation)
        suffix = _token(_NAME_ALPHABET, 5, self.seed, "pod", rs, index)
        node = NODES[(index + 1 + _digest(self.seed, "spread", rs)) % len(NODES)]
        return f"payments-{rs}-{suffix}", node

    def _payments_pods(self, t: int, demand: _Demand) -> list[_Pod]:
        start, generation = self._payments_rollout(t)
        entries: list[tuple[str, str, int, _State]] = []
        for index in range(PAYMENTS_REPLICAS):
            created = start + index * ROLLOUT_STEP_SECONDS
            if t >= created:
                name, node = self._payments_name(generation, index)
                entries.append((name, node, created, _fresh(created, t)))
            retire = created + READY_AFTER_SECONDS
            if t < retire + TERMINATION_GRACE_SECONDS:
                old_created = created - LOOP_SECONDS
                state = _TERMINATING if t >= retire else _fresh(old_created, t)
                name, node = self._payments_name(generation - 1, index)
                entries.append((name, node, old_created, state))
        ready = max(1, sum(1 for *_, state in entries if state.ready))
        rate = float(demand.request_rate[demand.index(t)]) * PAYMENTS_CALLS_PER_REQUEST
        pods = []
        for name, node, created, state in entries:
            wobble = _unit(self.seed, f"cpu/{name}", t // 15)
            if not state.running:
                cpu, memory = 0.0, 0.0
            elif state.terminating or state.warming:
                cpu, memory = 0.01 + 0.02 * wobble, 120.0 * MI
            else:
                cpu = 0.003 + rate * PAYMENTS_CPU_SECONDS_PER_REQUEST / ready * (0.9 + 0.2 * wobble)
                memory = (140 + 12 * _unit(self.seed, f"mem/{name}", t // MINUTE)) * MI
            throttling = _throttling(self.seed, name, t, cpu, PAYMENTS.cpu_limit)
            container = _Container(
                "app", PAYMENTS, state.running, cpu, memory, throttling_ratio=throttling
            )
            pods.append(
                _Pod(
                    "shop", name, "payments", "Deployment", node, state.phase, state.status,
                    int(state.ready), created, (container,),
                )
            )  # fmt: skip
        return pods

    def _inventory_sync_runs(self, t: int) -> list[int]:
        """Start times of the Jobs kept at t, newest first."""
        latest = (t - INVENTORY_SYNC_AT) // DAY_SECONDS * DAY_SECONDS + INVENTORY_SYNC_AT
        kept = JOB_HISTORY + (1 if t < latest + INVENTORY_SYNC_SECONDS else 0)
        return [latest - k * DAY_SECONDS for k in range(kept)]

    def _inventory_sync_names(self, run_s: int) -> tuple[str, str, str]:
        """(Job name, pod name, node) of the run started at run_s."""
        job = f"inventory-sync-{run_s // MINUTE}"
        pod = f"{job}-{_token(_NAME_ALPHABET, 5, self.seed, 'pod', job)}"
        return job, pod, NODES[_digest(self.seed, "node", job) % len(NODES)]

    def _inventory_sync_pods(self, t: int) -> list[_Pod]:
        pods = []
        for run in self._inventory_sync_runs(t):
            job, name, node = self._inventory_sync_names(run)
            age = t - run
            if age < JOB_CREATING_SECONDS:
                phase, status, ready, running = "Pending", "ContainerCreating", 0, False
            elif age < INVENTORY_SYNC_SECONDS:
                phase, status, ready, running = "Running", "Running", 1, True
            else:
                phase, status, ready, running = "Succeeded", "Completed", 0, False
            cpu = 0.3 + 0.2 * _unit(self.seed, f"cpu/{name}", t // 15)
            memory = (120 + 260 * age / INVENTORY_SYNC_SECONDS) * MI
            container = _Container(
                "sync", INVENTORY_SYNC, running,
                cpu if running else 0.0, memory if running else 0.0,
                last_terminated_reason="Completed" if status == "Completed" else "",
            )  # fmt: skip
            pods.append(
                _Pod("shop", name, job, "Job", node, phase, status, ready, run, (container,))
            )
        return pods

    def _prometheus_pod(self, t: int) -> _Pod:
        day = t // DAY_SECONDS
        monday = day - (day + 3) % 7  # 1970-01-01 was a Thursday
        created = monday * DAY_SECONDS + PROMETHEUS_RECREATED_AT
        if created > t:
            created -= 7 * DAY_SECONDS
        state = _fresh(created, t)
        on = 1.0 if state.running else 0.0
        wobble = _unit(self.seed, "cpu/prometheus-0", t // 15)
        # The head block grows for two hours, then compaction takes CPU for a few minutes.
        head_share = t % 7200 / 7200
        compacting = 0.4 if t % 7200 < 3 * MINUTE else 0.0
        prometheus = _Container(
            "prometheus", PROMETHEUS, state.running,
            on * (0.12 + 0.05 * wobble + compacting), on * (1.1 + 0.6 * head_share) * GI,
        )  # fmt: skip
        reloader = _Container(
            "config-reloader", CONFIG_RELOADER, state.running, on * 0.001,
            on * (11 + wobble) * MI, throttling_ratio=0.0,
        )  # fmt: skip
        return _Pod(
            "monitoring", "prometheus-0", "prometheus", "StatefulSet", "node-c", state.phase,
            state.status, 2 if state.ready else 0, created, (prometheus, reloader),
        )  # fmt: skip

    def _pressure_node(self, t: int, demand: _Demand) -> str | None:
        phase = t % LOOP_SECONDS
        if not MEMORY_PRESSURE_SECONDS[0] <= phase < MEMORY_PRESSURE_SECONDS[1]:
            return None
        pod = self._slot_pod(self._leaking_slot(t // LOOP_SECONDS), t, demand)
        return None if pod is None else self._slot_names(pod)[2]

    # --- traffic -------------------------------------------------------------------------------

    def _traffic_at(self, t: int, demand: _Demand) -> list[tuple[str, float, float, float]]:
        """(service, requests/s, 5xx share, p95 seconds) of each service at t."""
        j = demand.index(t)
        rate = float(demand.request_rate[j])
        spike = bool(demand.spike[j])
        phase = t % LOOP_SECONDS
        # Requests routed to the leaking pod fail while it is down or not yet ready.
        leaker_down = any(k <= phase < r + READINESS_DELAY_SECONDS for k, r in OOM_KILLS)
        ready = sum(1 for p in self._order_service_pods(t, demand) if p.healthy)
        utilisation = float(demand.cpu_demand[j]) / (max(ready, 1) * ORDER_SERVICE.cpu_limit)
        errors = 0.002 + 0.1 * max(0.0, utilisation - 0.8)
        errors += (0.025 if spike else 0.0) + (0.015 if leaker_down else 0.0)
        errors += float(demand.failed_checkouts[j]) / rate
        p95 = 0.08 + 0.01 * _unit(self.seed, "p95/order-service", t // 15)
        p95 *= (2.2 if spike else 1.0) * (1.3 if leaker_down else 1.0)
        p95 *= 1 + 2 * max(0.0, utilisation - 0.6)
        # Connections to a payments pod being stopped fail until its endpoints are gone.
        swap_ends = (PAYMENTS_REPLICAS - 1) * ROLLOUT_STEP_SECONDS + READY_AFTER_SECONDS
        swapping = READY_AFTER_SECONDS <= phase - PAYMENTS_ROLLOUT_AT < swap_ends + 30
        payments_errors = 0.001 + (0.01 if swapping else 0.0)
        payments_p95 = 0.14 + 0.02 * _unit(self.seed, "p95/payments", t // 15)
        payments_p95 *= 1.3 if spike else 1.0
        return [
            ("order-service", rate, min(errors, 1.0), p95),
            ("payments", rate * PAYMENTS_CALLS_PER_REQUEST, payments_errors, payments_p95),
        ]

    # --- events --------------------------------------------------------------------------------

    def _events(self, low: int, high: int, demand: _Demand) -> list[_Event]:
        return [
            *self._scaling_events(low, high, demand),
            *self._release_events(low, high, demand),
            *self._payments_events(low, high),
            *self._incident_events(low, high, demand),
            *self._inventory_sync_events(low, high),
        ]

    def _start_events(
        self, pod: str, node: str, created: int, image: str, pull: bool
    ) -> list[_Event]:
        started = created + CREATING_SECONDS
        if pull:
            took = f"{CREATING_SECONDS - 5 + _digest(pod) % 1000 / 1000:.3f}s"
            pulled = f'Successfully pulled image "{image}" in {took} ({took} including waiting)'
        else:
            pulled = f'Container image "{image}" already present on machine'
        events = [
            _Event(created, "shop", "Pod", pod, "Scheduled",
                   f"Successfully assigned shop/{pod} to {node}"),
            _Event(started - 3, "shop", "Pod", pod, "Pulled", pulled),
            _Event(started - 1, "shop", "Pod", pod, "Created", "Created container: app"),
            _Event(started, "shop", "Pod", pod, "Started", "Started container app"),
        ]  # fmt: skip
        if pull:
            events.append(
                _Event(created + 1, "shop", "Pod", pod, "Pulling", f'Pulling image "{image}"')
            )
        return events

    def _order_service_image(self, release_s: int) -> str:
        day = dt.datetime.fromtimestamp(release_s, dt.UTC)
        return f"{REGISTRY}/order-service:1.{day.timetuple().tm_yday}.0"

    def _scaling_events(self, low: int, high: int, demand: _Demand) -> list[_Event]:
        events: list[_Event] = []
        for minute in range(max(low // MINUTE - 1, demand.first_minute + 1), high // MINUTE + 1):
            j = minute - demand.first_minute
            t = minute * MINUTE
            desired, was_desired = int(demand.desired[j]), int(demand.desired[j - 1])
            if desired != was_desired:
                why = (
                    "cpu resource utilization (percentage of request) above target"
                    if desired > was_desired
                    else "All metrics below target"
                )
                message = f"New size: {desired}; reason: {why}"
                events.append(
                    _Event(
                        t,
                        "shop",
                        "HorizontalPodAutoscaler",
                        "order-service",
                        "SuccessfulRescale",
                        message,
                    )
                )
            current, was = int(demand.current[j]), int(demand.current[j - 1])
            if current == was:
                continue
            rs = self._rs_hash("order-service", _release(t) // DAY_SECONDS)
            direction = "up" if current > was else "down"
            message = f"Scaled {direction} replica set order-service-{rs} from {was} to {current}"
            events.append(
                _Event(t, "shop", "Deployment", "order-service", "ScalingReplicaSet", message)
            )
            for slot in range(min(was, current), max(was, current)):
                pod = self._slot_pod(slot, t if current > was else t - 1, demand)
                if pod is None:
                    continue
                name, pod_rs, node = self._slot_names(pod)
                owner = f"order-service-{pod_rs}"
                if current > was:
                    image = self._order_service_image(pod.release_s)
                    events += [
                        _Event(t, "shop", "ReplicaSet", owner, "SuccessfulCreate",
                               f"Created pod: {name}"),
                        *self._start_events(name, node, t, image, pull=False),
                    ]  # fmt: skip
                else:
                    events += [
                        _Event(t, "shop", "ReplicaSet", owner, "SuccessfulDelete",
                               f"Deleted pod: {name}"),
                        _Event(t, "shop", "Pod", name, "Killing", "Stopping container app"),
                    ]  # fmt: skip
        return events

    def _rollout_events(
        self, workload: str, start: int, replicas: int, pods: list[tuple[str, str, str]],
        rs: tuple[str, str], image: str,
    ) -> list[_Event]:  # fmt: skip
        """A rolling update of ``replicas`` pods; ``pods``: (new pod, its node, old pod) of the
        steps begun so far, ``rs``: the new and the old ReplicaSet hashes."""
        events: list[_Event] = []
        new_rs, old_rs = (f"{workload}-{h}" for h in rs)
        n = replicas
        for index, (new, node, old) in enumerate(pods):
            created = start + index * ROLLOUT_STEP_SECONDS
            retire = created + READY_AFTER_SECONDS
            scaled_up = f"Scaled up replica set {new_rs} from {index} to {index + 1}"
            scaled_down = f"Scaled down replica set {old_rs} from {n - index} to {n - index - 1}"
            events += [
                _Event(created, "shop", "Deployment", workload, "ScalingReplicaSet", scaled_up),
                _Event(created, "shop", "ReplicaSet", new_rs, "SuccessfulCreate",
                       f"Created pod: {new}"),
                *self._start_events(new, node, created, image, pull=True),
                _Event(retire, "shop", "Deployment", workload, "ScalingReplicaSet", scaled_down),
                _Event(retire, "shop", "ReplicaSet", old_rs, "SuccessfulDelete",
                       f"Deleted pod: {old}"),
                _Event(retire, "shop", "Pod", old, "Killing", "Stopping container app"),
            ]  # fmt: skip
        return events

    def _release_events(self, low: int, high: int, demand: _Demand) -> list[_Event]:
        release = _release(high)
        if release + MAX_REPLICAS * ROLLOUT_STEP_SECONDS + READY_AFTER_SECONDS < low:
            return []
        pods = []
        replicas = demand.current_at(release)
        for slot in range(replicas):
            replaced = release + slot * ROLLOUT_STEP_SECONDS
            if replaced > high:  # not yet: nothing to tell
                break
            new = self._slot_pod(slot, replaced, demand)
            old = self._slot_pod(slot, release - 1, demand)
            if new is not None and old is not None:
                name, _, node = self._slot_names(new)
                pods.append((name, node, self._slot_names(old)[0]))
        generation = release // DAY_SECONDS
        rs = (
            self._rs_hash("order-service", generation),
            self._rs_hash("order-service", generation - 1),
        )
        image = self._order_service_image(release)
        return self._rollout_events("order-service", release, replicas, pods, rs, image)

    def _payments_events(self, low: int, high: int) -> list[_Event]:
        events: list[_Event] = []
        start, generation = self._payments_rollout(high)
        while start + PAYMENTS_REPLICAS * ROLLOUT_STEP_SECONDS + READY_AFTER_SECONDS >= low:
            pods = [
                (*self._payments_name(generation, i), self._payments_name(generation - 1, i)[0])
                for i in range(PAYMENTS_REPLICAS)
            ]
            rs = (self._rs_hash("payments", generation), self._rs_hash("payments", generation - 1))
            image = f"{REGISTRY}/payments:2.4.{generation % 1000}"
            events += self._rollout_events("payments", start, PAYMENTS_REPLICAS, pods, rs, image)
            start, generation = start - LOOP_SECONDS, generation - 1
        return events

    def _incident_events(self, low: int, high: int, demand: _Demand) -> list[_Event]:
        events: list[_Event] = []
        # Events live an hour, and a loop's last event comes before its next loop starts.
        for loop in range(low // LOOP_SECONDS, high // LOOP_SECONDS + 1):
            base = loop * LOOP_SECONDS
            if base + MEMORY_PRESSURE_SECONDS[0] > high:
                continue
            pod = self._slot_pod(self._leaking_slot(loop), base + OOM_KILLS[0][0] - 1, demand)
            if pod is not None:
                events += self._leak_events(base, high, pod)
        return events

    def _leak_events(self, base: int, high: int, pod: _SlotPod) -> list[_Event]:
        name, _, node = self._slot_names(pod)
        pressure_on, pressure_off = (base + s for s in MEMORY_PRESSURE_SECONDS)
        events = [
            _Event(pressure_on, "default", "Node", node, "NodeHasInsufficientMemory",
                   f"Node {node} status is now: NodeHasInsufficientMemory"),
            _Event(pressure_on, "default", "Node", node, "EvictionThresholdMet",
                   "Attempting to reclaim memory", "Warning"),
        ]  # fmt: skip
        if pressure_off <= high:
            message = f"Node {node} status is now: NodeHasSufficientMemory"
            events.append(
                _Event(pressure_off, "default", "Node", node, "NodeHasSufficientMemory", message)
            )
        backoffs: list[int] = []
        probes: list[int] = []
        restarts: list[int] = []
        rss_kb = int(0.995 * ORDER_SERVICE.memory_limit) // 1024 - 24516
        for killed, restarted in OOM_KILLS:
            kill, restart = base + killed, base + restarted
            if kill > high:
                break
            pid = 2000 + _digest(self.seed, "pid", kill) % 30000
            message = (
                f"Memory cgroup out of memory: Killed process {pid} (java) total-vm:3402112kB, "
                f"anon-rss:{rss_kb}kB, file-rss:24516kB, shmem-rss:0kB, UID:1000 pgtables:1468kB "
                "oom_score_adj:983"
            )
            events.append(_Event(kill, "default", "Node", node, "OOMKilling", message, "Warning"))
            # The kubelet repeats BackOff while it waits and Unhealthy at each failed probe.
            backoffs += range(kill + OOM_STATUS_SECONDS, min(restart, high + 1), 10)
            if restart <= high:
                restarts.append(restart)
                probes += range(restart + 5, min(restart + READINESS_DELAY_SECONDS, high + 1), 10)
        uid = _uid(self.seed, name, pod.created_s)
        ip = _pod_ip(self.seed, name, node)
        image = self._order_service_image(pod.release_s)
        repeated = [
            (backoffs, "BackOff",
             f"Back-off restarting failed container app in pod {name}_shop({uid})", "Warning"),
            (probes, "Unhealthy", f'Readiness probe failed: Get "http://{ip}:8080/ready": dial tcp '
             f"{ip}:8080: connect: connection refused", "Warning"),
            (restarts, "Pulled", f'Container image "{image}" already present on machine', "Normal"),
            (restarts, "Created", "Created container: app", "Normal"),
            (restarts, "Started", "Started container app", "Normal"),
        ]  # fmt: skip
        for times, reason, message, kind in repeated:
            if times:
                events.append(
                    _Event(times[-1], "shop", "Pod", name, reason, message, kind, len(times))
                )
        return events

    def _inventory_sync_events(self, low: int, high: int) -> list[_Event]:
        events: list[_Event] = []
        image = f"{REGISTRY}/inventory-sync:3.1.0"
        for run in self._inventory_sync_runs(high)[:2]:
            done = run + INVENTORY_SYNC_SECONDS
            if done + 1 < low:
                continue
            job, pod, node = self._inventory_sync_names(run)
            events += [
                _Event(run, "shop", "CronJob", "inventory-sync", "SuccessfulCreate",
                       f"Created job {job}"),
                _Event(run, "shop", "Job", job, "SuccessfulCreate", f"Created pod: {pod}"),
                _Event(run, "shop", "Pod", pod, "Scheduled",
                       f"Successfully assigned shop/{pod} to {node}"),
                _Event(run + 7, "shop", "Pod", pod, "Pulled",
                       f'Container image "{image}" already present on machine'),
                _Event(run + 9, "shop", "Pod", pod, "Created", "Created container: sync"),
                _Event(run + JOB_CREATING_SECONDS, "shop", "Pod", pod, "Started",
                       "Started container sync"),
            ]  # fmt: skip
            if done <= high:
                oldest, _, _ = self._inventory_sync_names(run - JOB_HISTORY * DAY_SECONDS)
                events += [
                    _Event(done, "shop", "Job", job, "Completed", "Job completed"),
                    _Event(done + 1, "shop", "CronJob", "inventory-sync", "SawCompletedJob",
                           f"Saw completed job: {job}, condition: Complete"),
                    _Event(done + 1, "shop", "CronJob", "inventory-sync", "SuccessfulDelete",
                           f"Deleted job {oldest}"),
                ]  # fmt: skip
        return events


# --- frames --------------------------------------------------------------------------------------


class _Burn(NamedTuple):
    """A multiwindow burn-rate alert of the rules file: both windows above rate x budget."""

    rate: float
    long_minutes: int
    short_minutes: int
    for_minutes: int
    step_minutes: int  # how finely the demo evaluates it


FAST_BURN = _Burn(14.4, 60, 5, 2, 1)
SLOW_BURN = _Burn(6.0, 360, 30, 15, 5)
BROKEN_CHECKOUT_FOR_MINUTES = 15
AT_MAX_FOR_MINUTES = 10
# How far back a firing alert's start is looked for (an older start reads as this long ago).
ALERT_LOOKBACK_MINUTES = 3 * 60
# The rules' severities and summaries (deploy/prometheus/invdash-rules.yml).
_DEMO_ALERTS = {
    "InvdashBrokenCheckout": ("critical", "Orders fell by more than half while traffic holds"),
    "InvdashOrderServiceErrorBudgetFastBurn": (
        "critical", "The order service burns its error budget 14 times too fast",
    ),
    "InvdashOrderServiceErrorBudgetSlowBurn": (
        "warning", "The order service burns its error budget 6 times too fast",
    ),
    "InvdashOrderServiceAtMaxReplicas": (
        "warning", "order-service has been at its maximum replicas for 10 min",
    ),
}  # fmt: skip


def _count_step_minutes(window: dt.timedelta) -> int:
    """The sampling step of a count over ``window``: at least 1 minute and window / 1000, and
    prime to 60, so that the samples cycle through every minute of the hourly loop."""
    minutes = max(1, math.ceil(window.total_seconds() / MINUTE / 1000))
    while math.gcd(minutes, 60) != 1:
        minutes += 1
    return minutes


def _window_sums(values: FloatArray, n: int) -> FloatArray:
    """The sums of ``n`` consecutive values ending at each position from the n-th on."""
    totals = np.concatenate([[0.0], np.cumsum(values)])
    sums: FloatArray = totals[n:] - totals[:-n]
    return sums


def _held_since(
    holds: npt.NDArray[np.bool_], now: int, for_minutes: int, step_minutes: int = 1
) -> int | None:
    """When the run of true values ending at the last one (the step ending at ``now``)
    began, if it is at least ``for_minutes`` long; None otherwise."""
    if not len(holds) or not holds[-1]:
        return None
    false_at = np.flatnonzero(~holds)
    run = len(holds) - (int(false_at[-1]) + 1 if len(false_at) else 0)
    if (run - 1) * step_minutes < for_minutes:
        return None
    return now - (run - 1) * step_minutes * MINUTE


def _demo_alert(since: int | None, now: int, name: str) -> list[tuple[object, ...]]:
    if since is None:
        return []
    severity, summary = _DEMO_ALERTS[name]
    labels = "" if name.startswith("InvdashBroken") else "namespace=shop, service=order-service"
    return [(name, severity, summary, _timestamp(since), labels)]


def _timestamp(t: int) -> pd.Timestamp:
    return pd.Timestamp(t * 1_000_000_000, tz="UTC")
