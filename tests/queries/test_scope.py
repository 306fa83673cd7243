"""A screen's namespace and workload filters narrow the shared frames in memory."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from queries.scope import ALL, Scope, choices
from queries.telemetry import (
    EVENT_COLUMNS,
    HPA_COLUMNS,
    POD_HEALTH_COLUMNS,
    POD_USAGE_COLUMNS,
    contract_frame,
)

T = dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC)


def pod(namespace: str, name: str, workload: str) -> tuple[object, ...]:
    return (namespace, name, workload, "Deployment", "node-1", "Running", "Running", 1, 1, 0, "",
            60.0, True)  # fmt: skip


PODS = contract_frame(
    [
        pod("shop", "checkout-6d5f8b9c7d-abcde", "checkout"),
        pod("shop", "checkout-6d5f8b9c7d-fghij", "checkout"),
        pod("shop", "search-0", "search"),
        pod("payments", "api-7c9d8e6f5a-xyz12", "api"),
    ],
    POD_HEALTH_COLUMNS,
)
USAGE = contract_frame(
    [
        (T, "shop", "checkout-6d5f8b9c7d-abcde", 0.5, 1e8),
        (T, "shop", "search-0", 0.1, 1e8),
        (T, "payments", "api-7c9d8e6f5a-xyz12", 0.2, 1e8),
        # Not listed by the API (gone since): its workload is guessed from the name.
        (T, "shop", "checkout-5b4c3a2f1e-zzzzz", 0.4, 1e8),
    ],
    POD_USAGE_COLUMNS,
)


def test_all_keeps_every_row() -> None:
    scope = Scope()
    assert scope.everything
    assert len(scope.pods(PODS)) == 4
    assert len(scope.by_pod(USAGE, PODS)) == 4


def test_a_namespace_keeps_its_own_rows() -> None:
    scope = Scope(namespace="payments")
    assert list(scope.pods(PODS)["pod"]) == ["api-7c9d8e6f5a-xyz12"]
    assert list(scope.by_pod(USAGE, PODS)["pod"]) == ["api-7c9d8e6f5a-xyz12"]


def test_a_workload_keeps_its_pods_including_ones_the_api_no_longer_lists() -> None:
    scope = Scope(namespace="shop", workload="checkout")
    assert set(scope.pods(PODS)["pod"]) == {
        "checkout-6d5f8b9c7d-abcde",
        "checkout-6d5f8b9c7d-fghij",
    }
    assert list(scope.by_pod(USAGE, PODS)["pod"]) == [
        "checkout-6d5f8b9c7d-abcde",
        "checkout-5b4c3a2f1e-zzzzz",
    ]


def test_a_workload_keeps_events_of_itself_its_replicasets_and_its_pods() -> None:
    events = contract_frame(
        [
            (T, "shop", "Deployment", "checkout", "Normal", "ScalingReplicaSet", "up", 1),
            (
                T,
                "shop",
                "ReplicaSet",
                "checkout-6d5f8b9c7d",
                "Normal",
                "SuccessfulCreate",
                "pod",
                1,
            ),
            (T, "shop", "Pod", "checkout-6d5f8b9c7d-abcde", "Warning", "BackOff", "restarting", 3),
            (T, "shop", "Pod", "search-0", "Warning", "BackOff", "restarting", 1),
            (T, "payments", "Deployment", "checkout", "Normal", "ScalingReplicaSet", "other ns", 1),
        ],
        EVENT_COLUMNS,
    )
    kept = Scope(namespace="shop", workload="checkout").events(events, PODS)
    assert list(kept["name"]) == ["checkout", "checkout-6d5f8b9c7d", "checkout-6d5f8b9c7d-abcde"]


def test_an_hpa_is_in_scope_by_its_namespace_and_name() -> None:
    hpas = contract_frame(
        [
            (T, "shop", "checkout", 2, 3, 1, 5),
            (T, "shop", "search", 1, 1, 1, 3),
            (T, "payments", "api", 1, 1, 1, 1),
        ],
        HPA_COLUMNS,
    )
    assert list(Scope(namespace="shop").hpas(hpas)["hpa"]) == ["checkout", "search"]
    assert list(Scope(workload="api").hpas(hpas)["hpa"]) == ["api"]


def test_an_unknown_namespace_keeps_nothing() -> None:
    assert Scope(namespace="nope").pods(PODS).empty
    assert Scope(namespace="nope").by_pod(USAGE, PODS).empty


def test_choices_list_namespaces_and_the_workloads_of_the_chosen_one() -> None:
    assert choices(PODS) == (["payments", "shop"], ["api", "checkout", "search"])
    assert choices(PODS, "shop") == (["payments", "shop"], ["checkout", "search"])
    assert choices(PODS.iloc[0:0], ALL) == ([], [])


def test_frames_keep_their_columns_and_dtypes() -> None:
    kept = Scope(namespace="shop", workload="checkout").by_pod(USAGE, PODS)
    pd.testing.assert_series_equal(kept.dtypes, USAGE.dtypes)
