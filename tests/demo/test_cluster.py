"""The demo cluster: telemetry contracts, determinism, traffic from the inventory, incident loop.

Times below are offsets into one loop: the hour from 15:00 UTC on Friday 2026-11-27 (clear of the
demo's checkout outages, 12:40 to 13:55 and 20:40 to 21:55 that day). The order
volume is given by the test: ``every_other_minute`` is four order lines on even minutes (three
times as many in the hourly burst of visitors, whose orders come with them: 2 a minute of the
usual visitors), so order-service sees 6 + 150 x 2 / 60 = 11 requests/s, 0.33 cores: 3
replicas; the x3 burst makes 33 requests/s, 0.99 cores: 7 replicas.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pandas as pd
import pytest
import sqlalchemy as sa

from demo import visitors
from demo.cluster import (
    BROWSING_REQUESTS_PER_SECOND,
    PAYMENTS_CALLS_PER_REQUEST,
    REQUESTS_PER_ORDER_LINE,
    DemoCluster,
)
from demo.seed import Scale, seed_database
from queries import telemetry
from queries.inventory import InventorySource
from queries.workloads import guess_workload, workload_resources

HOUR = dt.datetime(2026, 11, 27, 15, 0, tzinfo=dt.UTC)
MI = 2**20
STALE_MINUTES_SPAN = 20  # the minutes before a moment whose lines its traffic reads
KUBECTL_STATUSES = {
    "Running", "Pending", "ContainerCreating", "CrashLoopBackOff", "OOMKilled", "Terminating",
    "Completed", "Error", "NotReady", "Unknown", "Evicted", "ImagePullBackOff", "ErrImagePull",
}  # fmt: skip
STRING = "str"
TIMESTAMP = "datetime64[ns, UTC]"


def at(minute: int, second: int = 0, hour: dt.datetime = HOUR) -> dt.datetime:
    return hour + dt.timedelta(minutes=minute, seconds=second)


def volume_frame(
    start: dt.datetime, end: dt.datetime, lines: Callable[[pd.Timestamp], int]
) -> pd.DataFrame:
    minutes = pd.date_range(pd.Timestamp(start).ceil("min"), end, freq="min", inclusive="left")
    counts = [lines(minute) for minute in minutes]
    return pd.DataFrame(
        {"timestamp": minutes, "order_lines": pd.Series(counts, dtype="int64"),
         "units": pd.Series(counts, dtype="float64")}
    )  # fmt: skip


def burst(minute: pd.Timestamp) -> int:
    """Order lines in ``minute`` for each of the usual visitors' lines: 3 in the hourly burst
    (whose visitors order too, demo.visitors), times 4 lines for each of them."""
    return (3 if 10 <= minute.minute < 20 else 1) * 4


def every_other_minute(start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
    return volume_frame(start, end, lambda minute: int(minute.minute % 2 == 0) * burst(minute))


def one_then_two_from(change: dt.datetime) -> Callable[[dt.datetime, dt.datetime], pd.DataFrame]:
    """Four order lines a minute before ``change``, eight from then on (times the burst's 3)."""

    def volume(start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
        return volume_frame(
            start, end, lambda minute: (2 if minute >= change else 1) * burst(minute)
        )

    return volume


def cluster(
    moment: dt.datetime,
    volume: Callable[[dt.datetime, dt.datetime], pd.DataFrame] | None = every_other_minute,
    seed: int = 7,
) -> DemoCluster:
    return DemoCluster(volume, clock=lambda: moment, seed=seed)


def row(frame: pd.DataFrame, **where: object) -> pd.Series:
    matched = frame
    for column, value in where.items():
        matched = matched[matched[column] == value]
    assert len(matched) == 1, f"{len(matched)} rows match {where}"
    return matched.iloc[0]


def order_service(pods: pd.DataFrame) -> pd.DataFrame:
    return pods[pods["workload"] == "order-service"]


def traffic_at(demo: DemoCluster, moment: dt.datetime, service: str) -> pd.Series:
    frame = demo.service_traffic(moment - dt.timedelta(minutes=1), moment)
    return row(frame, timestamp=pd.Timestamp(moment), service=service)


def hpa_at(demo: DemoCluster, moment: dt.datetime) -> tuple[int, int]:
    frame = demo.hpa_replicas("shop", moment - dt.timedelta(minutes=1), moment)
    found = row(frame, timestamp=pd.Timestamp(moment))
    return int(found["current_replicas"]), int(found["desired_replicas"])


# --- the contracts -------------------------------------------------------------------------------

POD_DTYPES = {
    "namespace": STRING, "pod": STRING, "workload": STRING, "workload_kind": STRING,
    "node": STRING, "phase": STRING, "status": STRING, "ready_containers": "int64",
    "total_containers": "int64", "restarts": "int64", "last_termination_reason": STRING,
    "age_seconds": "float64", "healthy": "bool",
}  # fmt: skip
EVENT_DTYPES = {
    "timestamp": TIMESTAMP, "namespace": STRING, "kind": STRING, "name": STRING, "type": STRING,
    "reason": STRING, "message": STRING, "count": "int64",
}  # fmt: skip
NODE_DTYPES = {
    "node": STRING, "ready": "bool", "memory_pressure": "bool", "disk_pressure": "bool",
    "pid_pressure": "bool", "cpu_allocatable_cores": "float64",
    "memory_allocatable_bytes": "float64",
}  # fmt: skip
USAGE_DTYPES = {
    "timestamp": TIMESTAMP, "namespace": STRING, "pod": STRING, "cpu_cores": "float64",
    "memory_bytes": "float64",
}  # fmt: skip
RESOURCE_DTYPES = {
    **dict.fromkeys(telemetry.CONTAINER_RESOURCE_COLUMNS, "float64"),
    "namespace": STRING, "pod": STRING, "container": STRING, "restarts_window": "int64",
    "last_terminated_reason": STRING,
}  # fmt: skip
HPA_DTYPES = {
    "timestamp": TIMESTAMP, "namespace": STRING, "hpa": STRING, "current_replicas": "int64", "min_replicas": "int64", "max_replicas": "int64",
    "desired_replicas": "int64",
}  # fmt: skip
TRAFFIC_DTYPES = {
    "timestamp": TIMESTAMP, "service": STRING, "request_rate": "float64", "error_rate": "float64",
    "error_share": "float64", "p95_latency_seconds": "float64",
}  # fmt: skip
UNHEALTHY_DTYPES = {
    "namespace": STRING, "pod": STRING, "status": STRING, "restarts": "int64",
    "last_terminated_reason": STRING,
}  # fmt: skip

QUERIES: dict[str, tuple[Callable[[DemoCluster], pd.DataFrame], list[str], dict[str, str]]] = {
    "pod_health": (lambda d: d.pod_health(), telemetry.POD_HEALTH_COLUMNS, POD_DTYPES),
    "events": (lambda d: d.events(at(0)), telemetry.EVENT_COLUMNS, EVENT_DTYPES),
    "nodes": (lambda d: d.nodes(), telemetry.NODE_COLUMNS, NODE_DTYPES),
    "pod_usage": (
        lambda d: d.pod_usage(None, at(0), at(30)),
        telemetry.POD_USAGE_COLUMNS,
        USAGE_DTYPES,
    ),
    "container_resources": (
        lambda d: d.container_resources(),
        telemetry.CONTAINER_RESOURCE_COLUMNS,
        RESOURCE_DTYPES,
    ),
    "hpa_replicas": (
        lambda d: d.hpa_replicas(None, at(0), at(30)),
        telemetry.HPA_COLUMNS,
        HPA_DTYPES,
    ),
    "service_traffic": (
        lambda d: d.service_traffic(at(0), at(30)),
        telemetry.SERVICE_TRAFFIC_COLUMNS,
        TRAFFIC_DTYPES,
    ),
    "unhealthy_pods_at": (
        lambda d: d.unhealthy_pods_at(at(19, 30)),
        telemetry.UNHEALTHY_POD_COLUMNS,
        UNHEALTHY_DTYPES,
    ),
}


@pytest.mark.parametrize("query", QUERIES)
def test_every_query_answers_the_contract_columns_in_order_with_their_dtypes(query: str) -> None:
    ask, columns, dtypes = QUERIES[query]
    frame = ask(cluster(at(30)))
    assert list(frame.columns) == columns
    assert {column: str(dtype) for column, dtype in frame.dtypes.items()} == dtypes
    assert len(frame) > 0


def test_it_is_a_demo_source_for_both_protocols() -> None:
    demo = cluster(at(30))
    assert demo.name == "demo cluster"
    assert demo.is_demo is True


def test_empty_answers_keep_the_contract_dtypes() -> None:
    demo = cluster(at(30))
    assert demo.hpa_replicas("monitoring", at(0), at(30)).dtypes.astype(str).to_dict() == HPA_DTYPES
    assert demo.events(at(31)).dtypes.astype(str).to_dict() == EVENT_DTYPES
    assert demo.events(at(31)).empty


@pytest.mark.parametrize(
    "ask",
    [
        lambda d: d.events(dt.datetime(2026, 11, 27, 14, 0)),
        lambda d: d.pod_usage(None, dt.datetime(2026, 11, 27, 14, 0), at(30)),
        lambda d: d.hpa_replicas(None, at(0), dt.datetime(2026, 11, 27, 14, 30)),
        lambda d: d.service_traffic(dt.datetime(2026, 11, 27, 14, 0), at(30)),
    ],
    ids=["events", "pod_usage", "hpa_replicas", "service_traffic"],
)
def test_naive_datetimes_are_refused(ask: Callable[[DemoCluster], pd.DataFrame]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ask(cluster(at(30)))


def test_a_naive_clock_is_refused_and_health_says_so() -> None:
    demo = DemoCluster(every_other_minute, clock=lambda: dt.datetime(2026, 11, 27, 14, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        demo.pod_health()
    health = demo.check_health()
    assert health.status == "error"
    assert "timezone-aware" in health.message


def test_a_window_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="start must not be after end"):
        cluster(at(30)).service_traffic(at(30), at(0))


def test_namespace_filters_narrow_usage_resources_and_hpas() -> None:
    demo = cluster(at(30))
    assert set(demo.pod_usage("monitoring", at(0), at(30))["pod"]) == {"prometheus-0"}
    assert set(demo.container_resources("monitoring")["container"]) == {
        "prometheus",
        "config-reloader",
    }
    assert set(demo.container_resources("shop")["namespace"]) == {"shop"}
    assert set(demo.pod_usage(None, at(0), at(30))["namespace"]) == {"shop", "monitoring"}
    assert demo.hpa_replicas("monitoring", at(0), at(30)).empty
    assert set(demo.hpa_replicas(None, at(0), at(30))["hpa"]) == {"order-service"}


def test_pod_names_look_like_real_ones_and_name_their_workload() -> None:
    pods = cluster(at(30)).pod_health()
    for _, pod in pods.iterrows():
        if pod["workload_kind"] == "Deployment":
            assert re.fullmatch(rf"{pod['workload']}-[0-9a-f]{{10}}-[a-z0-9]{{5}}", pod["pod"])
            assert guess_workload(pod["pod"]) == pod["workload"]
        elif pod["workload_kind"] == "Job":
            assert re.fullmatch(r"inventory-sync-\d{8}-[a-z0-9]{5}", pod["pod"])
            assert pod["pod"].startswith(pod["workload"] + "-")
    assert row(pods, pod="prometheus-0")["workload_kind"] == "StatefulSet"
    assert pods["pod"].is_unique


# --- determinism ---------------------------------------------------------------------------------


@pytest.mark.parametrize("query", QUERIES)
def test_the_same_moment_gives_identical_frames_from_any_instance(query: str) -> None:
    ask, _, _ = QUERIES[query]
    for moment in (at(16, 20), at(35, 55)):
        demo = cluster(moment)
        first = ask(demo)
        pd.testing.assert_frame_equal(first, ask(demo))  # asked again
        pd.testing.assert_frame_equal(first, ask(cluster(moment)))  # another instance


def test_a_moment_reads_the_same_in_every_window_that_contains_it() -> None:
    demo = cluster(at(60))
    hour = demo.pod_usage(None, at(0), at(60))  # 15 s steps
    six_hours = demo.pod_usage(None, at(-300), at(60))  # 30 s steps
    common = hour[hour["timestamp"].isin(six_hours["timestamp"])].reset_index(drop=True)
    assert len(common) > 100
    pd.testing.assert_frame_equal(
        common, six_hours[six_hours["timestamp"].isin(common["timestamp"])].reset_index(drop=True)
    )
    late = demo.service_traffic(at(30), at(90)).set_index(["timestamp", "service"])
    early = demo.service_traffic(at(0), at(60)).set_index(["timestamp", "service"])
    overlap = early.index.intersection(late.index)
    assert len(overlap) == 2 * 121
    pd.testing.assert_frame_equal(early.loc[overlap], late.loc[overlap])


def test_another_seed_names_other_pods() -> None:
    one = cluster(at(30)).pod_health()
    other = cluster(at(30), seed=8).pod_health()
    assert set(one["pod"]) != set(other["pod"])


# --- traffic follows the order volume ------------------------------------------------------------


def test_request_rate_follows_a_step_in_order_volume_through_a_ten_minute_mean() -> None:
    demo = cluster(at(59), one_then_two_from(at(30)))
    # 4 lines/min: 6 + 150 x 4 / 60 = 16 requests/s; 8 lines/min: 26; halfway through: 21.
    expected = {at(29): 16.0, at(35): 21.0, at(37): 23.0, at(40): 26.0, at(50): 26.0}
    for moment, rate in expected.items():
        assert traffic_at(demo, moment, "order-service")["request_rate"] == pytest.approx(rate)
        payments = traffic_at(demo, moment, "payments")["request_rate"]
        assert payments == pytest.approx(rate * PAYMENTS_CALLS_PER_REQUEST)
    # The part the orders bring doubles with them.
    before = (
        traffic_at(demo, at(29), "order-service")["request_rate"] - BROWSING_REQUESTS_PER_SECOND
    )
    after = traffic_at(demo, at(50), "order-service")["request_rate"] - BROWSING_REQUESTS_PER_SECOND
    assert before == pytest.approx(REQUESTS_PER_ORDER_LINE * 4 / 60)
    assert after == pytest.approx(2 * before)


def test_the_hpa_follows_the_order_volume() -> None:
    demo = cluster(at(59), one_then_two_from(at(30)))
    # 16 req/s x 0.03 CPU-s = 0.48 cores over 0.15 per pod (60% of 250m): 4; 26 req/s: 6.
    assert hpa_at(demo, at(29)) == (4, 4)
    assert hpa_at(demo, at(45)) == (6, 6)


def test_the_spike_triples_the_request_rate() -> None:
    demo = cluster(at(59), one_then_two_from(at(30)))
    assert traffic_at(demo, at(12), "order-service")["request_rate"] == pytest.approx(48.0)
    assert traffic_at(demo, at(9), "order-service")["request_rate"] == pytest.approx(16.0)


@pytest.fixture
def seeded_inventory(sqlite_url: str) -> InventorySource:
    engine = sa.create_engine(sqlite_url)
    seed_database(engine, scale=Scale(skus=120, warehouses=3, days=14), seed=7, now=SEEDED_AT)
    return InventorySource(engine)


SEEDED_AT = dt.datetime(2026, 11, 27, 12, 34)


def test_traffic_from_a_seeded_inventory_follows_its_real_order_lines(
    seeded_inventory: InventorySource,
) -> None:
    now = SEEDED_AT.replace(tzinfo=dt.UTC)
    demo = DemoCluster(seeded_inventory.order_lines_per_minute, clock=lambda: now)
    # Ten minutes at :50 of an hour (outside its burst, and outside a checkout outage) in which
    # the seed placed orders.
    moment, lines = next(
        (moment, lines)
        for back in range(1, 6)
        for moment in [now.replace(minute=0) - dt.timedelta(hours=back - 1, minutes=10)]
        for lines in [
            seeded_inventory.order_lines_per_minute(moment - dt.timedelta(minutes=10), moment)
        ]
        if lines["order_lines"].sum() > 0
        and not visitors.outage_minutes(
            [visitors.minute_of(moment) - m for m in range(STALE_MINUTES_SPAN)]
        ).any()
    )
    rate = traffic_at(demo, moment, "order-service")["request_rate"]
    mean_lines = lines["order_lines"].sum() / 10
    assert rate == pytest.approx(
        BROWSING_REQUESTS_PER_SECOND + REQUESTS_PER_ORDER_LINE * mean_lines / 60
    )
    assert rate > BROWSING_REQUESTS_PER_SECOND

    window = demo.service_traffic(now - dt.timedelta(hours=6), now)
    assert (window["request_rate"] > 0).all()
    again = DemoCluster(seeded_inventory.order_lines_per_minute, clock=lambda: now)
    pd.testing.assert_frame_equal(window, again.service_traffic(now - dt.timedelta(hours=6), now))
    health = demo.check_health()
    assert health.status == "ok"
    assert "follows inventory order lines" in health.message


def test_a_failing_order_volume_falls_back_to_the_built_in_profile() -> None:
    def unreachable(start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
        raise ConnectionError("inventory database unreachable")

    demo = cluster(at(30), unreachable)
    assert len(demo.pod_health()) > 0
    traffic = demo.service_traffic(at(0), at(30))
    assert (
        traffic.loc[traffic["service"] == "order-service", "request_rate"]
        > BROWSING_REQUESTS_PER_SECOND
    ).all()
    health = demo.check_health()
    assert health.status == "ok"
    assert "built-in daily order profile" in health.message
    assert "ConnectionError: inventory database unreachable" in health.message
    pd.testing.assert_frame_equal(traffic, cluster(at(30), None).service_traffic(at(0), at(30)))


def test_without_an_order_volume_health_names_the_built_in_profile() -> None:
    health = cluster(at(30), None).check_health()
    assert health.status == "ok"
    assert "built-in daily order profile" in health.message
    assert health.details["traffic"] == "built-in profile"


def test_an_inventory_without_recent_orders_hands_over_to_the_built_in_profile() -> None:
    def quiet(start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
        return volume_frame(start, end, lambda minute: 0)

    demo = cluster(at(30), quiet)
    assert "no inventory order lines in the last 2 h" in demo.check_health().message
    pd.testing.assert_frame_equal(
        demo.service_traffic(at(0), at(30)), cluster(at(30), None).service_traffic(at(0), at(30))
    )


# --- the incident loop ---------------------------------------------------------------------------


def test_the_hpa_scales_up_a_minute_after_the_spike_and_back_after_stabilisation() -> None:
    demo = cluster(at(59))
    assert hpa_at(demo, at(9, 45)) == (3, 3)
    assert hpa_at(demo, at(10, 30)) == (3, 7)  # desired jumps; current a minute behind
    assert hpa_at(demo, at(11)) == (7, 7)
    assert hpa_at(demo, at(24, 45)) == (7, 7)  # spike over at 20:00; 5 minutes' stabilisation
    assert hpa_at(demo, at(25, 30)) == (7, 3)
    assert hpa_at(demo, at(26)) == (3, 3)


def test_new_replicas_start_as_containercreating_then_become_ready() -> None:
    creating = order_service(cluster(at(11, 10)).pod_health())
    assert (creating["status"] == "ContainerCreating").sum() == 4
    assert len(creating) == 7
    warming = order_service(cluster(at(11, 40)).pod_health())
    assert ((warming["status"] == "Running") & ~warming["healthy"]).sum() == 4
    ready = order_service(cluster(at(12)).pod_health())
    assert ready["healthy"].all()
    terminating = order_service(cluster(at(26, 10)).pod_health())
    assert (terminating["status"] == "Terminating").sum() == 4
    assert len(order_service(cluster(at(26, 40)).pod_health())) == 3


def leaking_pod() -> pd.Series:
    pods = cluster(at(15, 2)).pod_health()
    return row(pods, status="OOMKilled")


def test_a_leaking_pod_is_oomkilled_then_crashloops_then_recovers() -> None:
    victim = leaking_pod()
    name = victim["pod"]
    before = row(cluster(at(14, 59)).pod_health(), pod=name)
    assert before["status"] == "Running"
    assert before["healthy"]
    assert victim["ready_containers"] == 0
    assert victim["last_termination_reason"] == "OOMKilled"
    assert not victim["healthy"]

    restarted = row(cluster(at(15, 10)).pod_health(), pod=name)
    assert restarted["restarts"] == before["restarts"] + 1
    assert restarted["status"] == "Running"
    assert not restarted["healthy"]  # readiness probe failing for 30 s

    crashlooping = row(cluster(at(19, 30)).pod_health(), pod=name)
    assert crashlooping["status"] == "CrashLoopBackOff"
    assert crashlooping["phase"] == "Running"
    assert crashlooping["ready_containers"] == 0
    assert crashlooping["restarts"] == before["restarts"] + 4
    assert crashlooping["last_termination_reason"] == "OOMKilled"
    assert not crashlooping["healthy"]

    recovered = row(cluster(at(21, 30)).pod_health(), pod=name)
    assert recovered["status"] == "Running"
    assert recovered["healthy"]
    assert recovered["restarts"] == before["restarts"] + 5


def test_unhealthy_pods_at_a_moment_are_the_ones_pod_health_showed_unhealthy_then() -> None:
    later = cluster(at(59, 59))
    for minute in range(0, 60, 2):
        then = cluster(at(minute)).pod_health()
        shown = then[~then["healthy"]].set_index("pod")["status"]
        found = later.unhealthy_pods_at(at(minute)).set_index("pod")
        expected = shown.replace("Running", "NotReady")
        assert found.loc[expected.index, "status"].to_dict() == expected.to_dict(), minute
        restarted_only = found.drop(index=expected.index)
        assert (restarted_only["status"] == "Restarted").all()
        assert (restarted_only["restarts"] > 0).all()


def test_the_leaking_pod_is_listed_through_its_incident_with_its_restarts() -> None:
    name = leaking_pod()["pod"]
    crashlooping = row(cluster(at(59)).unhealthy_pods_at(at(19, 30)), pod=name)
    assert crashlooping["status"] == "CrashLoopBackOff"
    assert crashlooping["last_terminated_reason"] == "OOMKilled"
    assert crashlooping["restarts"] >= 1
    # Ready again at 21:30, yet its last restart is less than five minutes old.
    recovered = row(cluster(at(59)).unhealthy_pods_at(at(21, 30)), pod=name)
    assert recovered["status"] == "Restarted"
    assert recovered["restarts"] >= 1
    quiet = cluster(at(59)).unhealthy_pods_at(at(40))
    assert name not in set(quiet["pod"])


def test_the_leaking_pods_memory_climbs_to_its_limit() -> None:
    name = leaking_pod()["pod"]
    usage = cluster(at(15)).pod_usage("shop", at(11), at(15))
    memory = usage[usage["pod"] == name].set_index("timestamp")["memory_bytes"]
    assert memory[pd.Timestamp(at(11))] < 300 * MI
    assert memory[pd.Timestamp(at(14, 45))] > 0.9 * 512 * MI  # the last sample before the kill
    assert memory.loc[pd.Timestamp(at(12)) :].is_monotonic_increasing

    resources = cluster(at(14, 59)).container_resources("shop")
    leaking = row(resources, pod=name)
    assert leaking["memory_limit_share"] > 0.95
    assert leaking["memory_limit_bytes"] == 512 * MI
    assert leaking["cpu_request_cores"] == 0.25
    workloads = workload_resources(cluster(at(14, 59)).pod_health(), resources)
    assert row(workloads, workload="order-service")["oom_risk"]


def test_restarts_in_the_window_and_last_reason_reach_the_container_resources() -> None:
    name = leaking_pod()["pod"]
    resources = cluster(at(21, 30)).container_resources("shop")
    leaking = row(resources, pod=name)
    assert leaking["restarts_window"] == 5
    assert leaking["last_terminated_reason"] == "OOMKilled"
    between_kills = row(cluster(at(19, 30)).container_resources("shop"), pod=name)
    assert between_kills["memory_bytes"] == 0.0  # the container is down, in back-off


def test_the_leaking_pods_node_reports_memory_pressure_during_the_incident() -> None:
    victim = leaking_pod()
    during = cluster(at(16)).nodes()
    assert during.loc[during["memory_pressure"], "node"].tolist() == [victim["node"]]
    assert not cluster(at(40)).nodes()["memory_pressure"].any()
    assert cluster(at(40)).nodes()["ready"].all()


def test_the_incident_leaves_its_events() -> None:
    victim = leaking_pod()
    events = cluster(at(21)).events(at(0))
    assert events["timestamp"].is_monotonic_decreasing
    rescale = row(events, reason="SuccessfulRescale")
    assert rescale["kind"] == "HorizontalPodAutoscaler"
    assert rescale["message"].startswith("New size: 7; reason: cpu resource utilization")
    scaled = events[(events["reason"] == "ScalingReplicaSet") & (events["name"] == "order-service")]
    assert (
        scaled["message"]
        .str.fullmatch(r"Scaled up replica set order-service-\w+ from 3 to 7")
        .any()
    )
    ooms = events[events["reason"] == "OOMKilling"]
    assert len(ooms) == 5
    assert set(ooms["type"]) == {"Warning"}
    assert set(ooms["kind"]) == {"Node"}
    assert set(ooms["name"]) == {victim["node"]}
    backoff = row(events, reason="BackOff")
    assert backoff["type"] == "Warning"
    assert backoff["name"] == victim["pod"]
    assert backoff["count"] > 1
    assert f"in pod {victim['pod']}_shop(" in backoff["message"]
    assert row(events, reason="Started", name=victim["pod"])["count"] == 5
    assert row(events, reason="Unhealthy")["type"] == "Warning"
    assert "NodeHasInsufficientMemory" in set(events["reason"])

    after = cluster(at(27)).events(at(25))
    killed = after[after["reason"] == "Killing"]
    assert len(killed) == 4
    assert (
        after["message"]
        .str.fullmatch(r"Scaled down replica set order-service-\w+ from 7 to 3")
        .any()
    )


def test_an_event_reads_the_same_whenever_it_is_asked_about() -> None:
    release = dt.datetime(2026, 12, 4, 6, 0, tzinfo=dt.UTC)  # no checkout outage that morning
    early_now = release + dt.timedelta(seconds=70)
    early = cluster(early_now).events(release)
    later = cluster(release + dt.timedelta(minutes=10)).events(release)
    assert len(early) > 10
    seen_early = later[later["timestamp"] <= pd.Timestamp(early_now)].reset_index(drop=True)
    pd.testing.assert_frame_equal(early, seen_early)
    assert (
        early["message"]
        .str.fullmatch(r"Scaled down replica set order-service-\w+ from 3 to 2")
        .any()
    )


def test_events_live_an_hour() -> None:
    events = cluster(at(59)).events(at(-300))
    assert events["timestamp"].min() >= pd.Timestamp(at(-1))
    assert cluster(at(59)).events(at(60)).empty


def test_errors_and_latency_rise_during_the_spike() -> None:
    demo = cluster(at(59))
    calm = traffic_at(demo, at(5), "order-service")
    spike = traffic_at(demo, at(12), "order-service")
    crashing = traffic_at(demo, at(16), "order-service")
    assert calm["error_share"] < 0.005
    assert spike["error_share"] > 5 * calm["error_share"]
    assert crashing["error_share"] > spike["error_share"]
    assert spike["error_rate"] == pytest.approx(spike["error_share"] * spike["request_rate"])
    assert spike["p95_latency_seconds"] > 1.5 * calm["p95_latency_seconds"]
    assert traffic_at(demo, at(30), "order-service")["error_share"] < 0.005


def test_the_payments_rollout_replaces_its_pods_under_a_new_replicaset() -> None:
    def payments(moment: dt.datetime) -> pd.DataFrame:
        pods = cluster(moment).pod_health()
        return pods[pods["workload"] == "payments"].set_index("pod")

    def hashes(pods: pd.DataFrame) -> set[str]:
        return {name.split("-")[1] for name in pods.index}

    before, during, after = payments(at(34)), payments(at(35, 55)), payments(at(40))
    assert len(before) == len(after) == 2
    assert before["healthy"].all()
    assert after["healthy"].all()
    assert hashes(before).isdisjoint(hashes(after))
    assert set(during["status"]) == {"Terminating", "ContainerCreating", "Running"}
    assert hashes(during.loc[during["status"] == "Terminating"]) == hashes(before)
    assert hashes(during.loc[during["status"] == "ContainerCreating"]) == hashes(after)
    assert (during.loc[during["status"] == "ContainerCreating", "phase"] == "Pending").all()

    events = cluster(at(40)).events(at(34))
    payments_events = events[events["name"].str.startswith("payments")]
    assert {
        "ScalingReplicaSet",
        "SuccessfulCreate",
        "Killing",
        "Pulled",
        "Created",
        "Started",
    } <= set(payments_events["reason"])


def test_the_daily_release_renames_order_service_pods_and_restarts_count_afresh() -> None:
    release = dt.datetime(2026, 12, 4, 6, 0, tzinfo=dt.UTC)  # no checkout outage that morning
    before = order_service(cluster(release - dt.timedelta(minutes=1)).pod_health())
    during = order_service(cluster(release + dt.timedelta(seconds=55)).pod_health())
    after = order_service(cluster(release + dt.timedelta(minutes=5)).pod_health())
    assert set(before["pod"]).isdisjoint(after["pod"])
    assert {"Terminating", "ContainerCreating"} <= set(during["status"])
    assert (after["restarts"] == 0).all()
    assert before["restarts"].sum() > 0  # the day's earlier incidents
    assert (after["age_seconds"] <= 300).all()


def test_the_nightly_job_runs_from_two_and_ends_completed_after_two_twenty() -> None:
    night = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)

    def jobs(moment: dt.datetime) -> pd.DataFrame:
        pods = cluster(moment, None).pod_health()
        return pods[pods["workload_kind"] == "Job"].set_index("workload")

    running = jobs(night + dt.timedelta(minutes=10))
    tonight = f"inventory-sync-{int(night.timestamp()) // 60}"
    assert running.loc[tonight, "status"] == "Running"
    assert running.loc[tonight, "healthy"]
    assert len(running) == 4  # tonight's and the three kept from before
    done = jobs(night + dt.timedelta(minutes=21))
    assert done.loc[tonight, "status"] == "Completed"
    assert done.loc[tonight, "phase"] == "Succeeded"
    assert done.loc[tonight, "healthy"]
    assert str(done.loc[tonight, "pod"]) == str(running.loc[tonight, "pod"])
    assert set(done["status"]) == {"Completed"}
    assert len(done) == 3
    events = cluster(night + dt.timedelta(minutes=21), None).events(night)
    assert {"SawCompletedJob", "Completed", "SuccessfulDelete"} <= set(events["reason"])


def test_statuses_are_kubectls_and_agree_with_ready_restarts_and_health() -> None:
    moments = [
        dt.datetime(2026, 11, 27, 6, 0, tzinfo=dt.UTC) + dt.timedelta(seconds=s)
        for s in range(0, 3600, 20)
    ] + [dt.datetime(2026, 11, 27, 2, m, tzinfo=dt.UTC) for m in range(22)]
    seen: set[str] = set()
    for moment in moments:
        pods = cluster(moment).pod_health()
        seen |= set(pods["status"])
        ready_all = pods["ready_containers"] == pods["total_containers"]
        expected_health = (pods["status"] == "Completed") | (
            (pods["status"] == "Running") & ready_all
        )
        assert (pods["healthy"] == expected_health).all(), moment
        assert pods["ready_containers"].between(0, pods["total_containers"]).all()
        assert (pods["age_seconds"] >= 0).all()
        assert pods["pod"].is_unique
        down = pods[pods["status"].isin(["OOMKilled", "CrashLoopBackOff"])]
        assert (down["ready_containers"] == 0).all()
        assert (down["last_termination_reason"] == "OOMKilled").all()
        creating = pods[pods["status"] == "ContainerCreating"]
        assert (creating["phase"] == "Pending").all()
        assert (creating["restarts"] == 0).all()
        assert (pods.loc[pods["status"] == "Completed", "phase"] == "Succeeded").all()
        assert (pods.loc[pods["status"] == "Terminating", "phase"] == "Running").all()
    assert seen <= KUBECTL_STATUSES
    assert {"Running", "ContainerCreating", "CrashLoopBackOff", "OOMKilled", "Terminating",
            "Completed"} <= seen  # fmt: skip


# --- windows -------------------------------------------------------------------------------------


def test_a_thirty_day_window_keeps_every_series_within_a_thousand_points() -> None:
    end = at(0)
    start = end - dt.timedelta(days=30)
    demo = cluster(end)
    usage = demo.pod_usage(None, start, end)
    hpa = demo.hpa_replicas(None, start, end)
    traffic = demo.service_traffic(start, end)
    assert usage.groupby("pod").size().max() <= 1000
    assert len(hpa) <= 1000
    assert traffic.groupby("service").size().max() <= 1000
    assert len(hpa) >= 500  # not thinned more than needed
    for frame in (usage, hpa, traffic):
        assert frame["timestamp"].between(pd.Timestamp(start), pd.Timestamp(end)).all()


def test_steps_are_round_and_aligned() -> None:
    demo = cluster(at(60))
    hpa = demo.hpa_replicas(None, at(0, 7), at(60))
    steps = hpa["timestamp"].diff().dropna().unique()
    assert list(steps) == [pd.Timedelta(seconds=15)]
    assert hpa["timestamp"].iloc[0] == pd.Timestamp(at(0, 15))
    day = demo.hpa_replicas(None, at(60) - dt.timedelta(days=1), at(60))
    assert list(day["timestamp"].diff().dropna().unique()) == [pd.Timedelta(minutes=2)]
