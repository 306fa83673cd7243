"""Every overlay renders and passes the validators; the Deployment has what the issue asks for."""

from __future__ import annotations

import re
from typing import Any

import pytest
from deploy_tools import (
    DEPLOY,
    REPO_ROOT,
    RenderedOverlay,
    run,
    tools_python,
    validator,
)

from dashboard.settings import ServerSettings, Settings

# The oldest Kubernetes the manifests are meant for (the kubectl they are rendered with) and the
# newest kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.32.0", "1.37.0")
UNKNOWN_SCHEMA = re.compile(r"WARN .* Couldn't find schema for kind (\w+) with api version (\S+) ")


@pytest.mark.parametrize("kubernetes_version", KUBERNETES_VERSIONS)
def test_kubernetes_validate_strict_accepts_every_built_in_resource(
    overlay: RenderedOverlay, kubernetes_version: str
) -> None:
    result = run(
        [
            validator("kubernetes-validate"),
            "--strict",
            "--kubernetes-version",
            kubernetes_version,
            str(overlay.path),
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    passed = [line for line in result.stdout.splitlines() if " passed for resource " in line]
    unknown = UNKNOWN_SCHEMA.findall(result.stdout)
    # The custom resources are checked against their own CRD models below.
    assert sorted(unknown) == [
        ("PrometheusRule", "monitoring.coreos.com/v1"),
        ("ServiceMonitor", "monitoring.coreos.com/v1"),
    ]
    assert len(passed) == len(overlay.documents) - 2


def test_operator_resources_match_the_prometheus_operator_crds(overlay: RenderedOverlay) -> None:
    checker = REPO_ROOT / "tests" / "deploy" / "operator_resources_check.py"
    result = run([tools_python(), str(checker)], input=overlay.path.read_text())
    assert result.returncode == 0, result.stdout + result.stderr


def test_yamllint_strict_passes_sources_and_rendered_manifests(
    rendered_overlays: dict[str, RenderedOverlay],
) -> None:
    rendered = [str(o.path) for o in rendered_overlays.values()]
    config = REPO_ROOT / ".yamllint"
    result = run(
        [validator("yamllint"), "--strict", "-c", str(config), str(DEPLOY), str(config), *rendered]
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _checks_of(overlay: RenderedOverlay, checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in checks if c["file_abs_path"] == str(overlay.path)]


def test_checkov_finds_no_failed_check(
    overlay: RenderedOverlay, checkov_kubernetes: dict[str, Any]
) -> None:
    failed = _checks_of(overlay, checkov_kubernetes["failed_checks"])
    assert [(c["check_id"], c["resource"], c["check_name"]) for c in failed] == []
    assert len(_checks_of(overlay, checkov_kubernetes["passed_checks"])) > 80


def _skip_annotations(overlay: RenderedOverlay) -> dict[str, str]:
    """check id -> reason, from every ``checkov.io/skipN: ID=reason`` annotation."""
    skips = {}
    for document in overlay.documents:
        for key, value in document["metadata"].get("annotations", {}).items():
            if key.startswith("checkov.io/skip"):
                check_id, _, reason = value.partition("=")
                skips[check_id] = reason
    return skips


def test_every_checkov_skip_is_written_in_the_manifests_with_its_reason(
    overlay: RenderedOverlay, checkov_kubernetes: dict[str, Any]
) -> None:
    annotated = _skip_annotations(overlay)
    skipped = {
        c["check_id"]: c["check_result"]["suppress_comment"]
        for c in _checks_of(overlay, checkov_kubernetes["skipped_checks"])
    }
    assert skipped == annotated
    for check_id, reason in annotated.items():
        assert len(reason.split()) >= 8, f"{check_id} needs a reason, not {reason!r}"


def test_prod_skips_only_what_the_service_account_token_and_env_secret_need(
    rendered_overlays: dict[str, RenderedOverlay],
) -> None:
    assert set(_skip_annotations(rendered_overlays["prod"])) == {"CKV_K8S_38", "CKV_K8S_35"}


def _pod_spec(overlay: RenderedOverlay) -> dict[str, Any]:
    spec: dict[str, Any] = overlay.one("Deployment")["spec"]["template"]["spec"]
    return spec


def _container(overlay: RenderedOverlay) -> dict[str, Any]:
    (container,) = _pod_spec(overlay)["containers"]
    return container


def test_namespace_enforces_the_restricted_pod_security_standard(overlay: RenderedOverlay) -> None:
    labels = overlay.one("Namespace")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    namespaced = [
        d
        for d in overlay.documents
        if d["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding")
    ]
    assert {d["metadata"]["namespace"] for d in namespaced} == {"invdash"}


def test_deployment_runs_two_replicas_with_health_and_readiness_probes(
    overlay: RenderedOverlay,
) -> None:
    assert overlay.one("Deployment")["spec"]["replicas"] == 2
    container = _container(overlay)
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["ports"] == [
        {"name": "http", "containerPort": 8050, "protocol": "TCP"},
        {"name": "metrics", "containerPort": 9050, "protocol": "TCP"},
    ]
    assert set(container["resources"]) == {"requests", "limits"}
    assert set(container["resources"]["limits"]) == {"cpu", "memory"}


def test_every_container_is_restricted_and_writes_only_to_an_emptydir_on_tmp(
    overlay: RenderedOverlay,
) -> None:
    pod = _pod_spec(overlay)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["volumes"] == [{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}]
    for container in pod["containers"] + pod.get("initContainers", []):
        assert container["securityContext"] == {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        }
        assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]


def test_pods_spread_over_nodes_and_mount_the_token_they_read_the_api_with(
    overlay: RenderedOverlay,
) -> None:
    pod = _pod_spec(overlay)
    keys = {c["topologyKey"] for c in pod["topologySpreadConstraints"]}
    assert keys == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    assert pod["serviceAccountName"] == "invdash"
    assert pod["automountServiceAccountToken"] is True
    assert overlay.one("ServiceAccount")["automountServiceAccountToken"] is False


def test_database_url_comes_from_the_secret_and_its_absence_reaches_the_app(
    overlay: RenderedOverlay,
) -> None:
    env = {e["name"]: e for e in _container(overlay)["env"]}
    reference = env["INVDASH_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert reference["key"] == "database-url"
    assert reference["name"].startswith("invdash-database")
    # Optional: a missing Secret starts the pod, and invdash names the setting as it exits.
    assert reference["optional"] is True


def test_dev_seeds_demo_data_into_sqlite_on_tmp_before_serving_and_keeps_its_orders_coming(
    rendered_overlays: dict[str, RenderedOverlay],
) -> None:
    dev = rendered_overlays["dev"]
    (seed,) = _pod_spec(dev)["initContainers"]
    assert seed["command"] == ["invdash", "seed", "--force"]
    assert seed["image"] == _container(dev)["image"]
    (secret,) = dev.all_of("Secret")
    assert secret["data"]["database-url"]  # sqlite:////tmp/invdash/inventory.sqlite3, base64
    assert dev.one("ConfigMap")["data"]["INVDASH_DEMO_ORDERS"] == "on"
    assert "INVDASH_DEMO_ORDERS" not in rendered_overlays["prod"].one("ConfigMap")["data"]


def test_every_configmap_key_is_a_setting_invdash_reads(
    rendered_overlays: dict[str, RenderedOverlay],
) -> None:
    known = {f"INVDASH_{name.upper()}" for name in Settings.model_fields}
    known |= {f"INVDASH_{name.upper()}" for name in ServerSettings.model_fields}
    for name, overlay in rendered_overlays.items():
        unknown = set(overlay.one("ConfigMap")["data"]) - known
        assert not unknown, f"{name}: {sorted(unknown)} are not settings (a typo is ignored)"


def test_prod_pins_the_image_by_digest_and_brings_no_secret_of_its_own(
    rendered_overlays: dict[str, RenderedOverlay],
) -> None:
    prod = rendered_overlays["prod"]
    assert re.fullmatch(r"[\w./-]+@sha256:[0-9a-f]{64}", _container(prod)["image"])
    assert prod.all_of("Secret") == []
    settings = prod.one("ConfigMap")["data"]
    assert settings["INVDASH_CACHE_URL"].startswith("redis://")
    assert settings["INVDASH_TELEMETRY"] == "live"


def _egress_ports(overlay: RenderedOverlay) -> set[int]:
    rules = overlay.one("NetworkPolicy", "invdash")["spec"]["egress"]
    return {port["port"] for rule in rules for port in rule["ports"]}


def test_network_policy_admits_the_http_port_the_metrics_port_from_monitoring_only_and_the_needed_egress(
    rendered_overlays: dict[str, RenderedOverlay],
) -> None:
    monitoring = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
    }
    for overlay in rendered_overlays.values():
        policy = overlay.one("NetworkPolicy", "invdash")["spec"]
        assert policy["policyTypes"] == ["Ingress", "Egress"]
        assert policy["ingress"] == [
            {"ports": [{"port": 8050, "protocol": "TCP"}]},
            {"from": [monitoring], "ports": [{"port": 9050, "protocol": "TCP"}]},
        ]
        # The port the policy opens to monitoring is the one the app answers /metrics on, the
        # container's `metrics` port, which the Service and the ServiceMonitor name.
        assert overlay.one("ConfigMap")["data"]["INVDASH_METRICS_PORT"] == "9050"
        ports = {p["name"]: p["containerPort"] for p in _container(overlay)["ports"]}
        assert ports == {"http": 8050, "metrics": 9050}
        service = {p["name"]: p["targetPort"] for p in overlay.one("Service")["spec"]["ports"]}
        assert service == {"http": "http", "metrics": "metrics"}
        assert overlay.one("ServiceMonitor")["spec"]["endpoints"][0]["port"] == "metrics"
    # DNS, the API server, Prometheus; prod adds PostgreSQL and Redis.
    assert _egress_ports(rendered_overlays["dev"]) == {53, 443, 6443, 9090}
    assert _egress_ports(rendered_overlays["prod"]) == {53, 443, 6443, 9090, 5432, 6379}


def test_disruption_budget_autoscaler_and_monitor_select_the_deployment(
    overlay: RenderedOverlay,
) -> None:
    pods = overlay.one("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert (
        overlay.one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"].items()
        <= pods.items()
    )
    assert overlay.one("Service")["spec"]["selector"].items() <= pods.items()
    autoscaler = overlay.one("HorizontalPodAutoscaler")["spec"]
    assert autoscaler["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "invdash",
    }
    assert autoscaler["minReplicas"] == 2
    monitor = overlay.one("ServiceMonitor")["spec"]
    assert monitor["endpoints"][0]["path"] == "/metrics"
    assert (
        monitor["selector"]["matchLabels"].items()
        <= overlay.one("Service")["metadata"]["labels"].items()
    )


def test_prod_rolls_up_every_five_minutes_into_a_store_of_its_own(
    rendered_overlays: dict[str, RenderedOverlay],
) -> None:
    prod = rendered_overlays["prod"]
    job = prod.one("CronJob")
    assert job["spec"]["schedule"] == "*/5 * * * *"
    assert job["spec"]["concurrencyPolicy"] == "Forbid"
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["invdash", "rollup", "--once"]
    assert container["image"] == _container(prod)["image"]
    assert container["securityContext"] == _container(prod)["securityContext"]
    assert pod["automountServiceAccountToken"] is False
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]}
    assert env["INVDASH_DATABASE_URL"]["name"] == "invdash-database"
    assert env["INVDASH_ROLLUP_DATABASE_URL"] == {
        "name": "invdash-rollup-database",
        "key": "rollup-database-url",
    }
    # The dashboard reads the same store; without the Secret it serves live figures.
    reading = {e["name"]: e for e in _container(prod)["env"]}["INVDASH_ROLLUP_DATABASE_URL"]
    assert reading["valueFrom"]["secretKeyRef"]["optional"] is True
    # The job's pods are no dashboard pods: not behind the Service, the budget or the autoscaler.
    labels = job["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert not prod.one("Service")["spec"]["selector"].items() <= labels.items()
    policy = prod.one("NetworkPolicy", "invdash-rollup")["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= labels.items()
    assert policy["ingress"] == []
    assert {p["port"] for rule in policy["egress"] for p in rule["ports"]} == {53, 5432}


def test_dev_keeps_the_demo_rollups_in_its_own_file(
    rendered_overlays: dict[str, RenderedOverlay],
) -> None:
    settings = rendered_overlays["dev"].one("ConfigMap")["data"]
    assert settings["INVDASH_ROLLUP_DATABASE_URL"] == "sqlite:////tmp/invdash/inventory.sqlite3"
