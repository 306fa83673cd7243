"""invdash's service account can read pods, events and nodes, and nothing else.

The grant is held to what the Kubernetes source calls (queries/kubernetes.py, with the client
queries/kube_config.py makes), so neither can drift from the other.
"""

from __future__ import annotations

import re
from typing import Any

from deploy_tools import REPO_ROOT, RenderedOverlay

READ_VERBS = {"get", "list", "watch"}
KUBERNETES_CODE = (
    REPO_ROOT / "queries" / "kubernetes.py",
    REPO_ROOT / "queries" / "kube_config.py",
)


def _rules(overlay: RenderedOverlay) -> list[dict[str, Any]]:
    roles = overlay.all_of("ClusterRole") + overlay.all_of("Role")
    return [rule for role in roles for rule in role["rules"]]


def test_every_rule_is_read_only_without_wildcards_secrets_or_subresources(
    overlay: RenderedOverlay,
) -> None:
    rules = _rules(overlay)
    assert rules
    for rule in rules:
        assert set(rule["verbs"]) <= READ_VERBS, rule
        assert "nonResourceURLs" not in rule, rule
        assert "resourceNames" not in rule, rule
        for field in ("apiGroups", "resources", "verbs"):
            assert not any("*" in value for value in rule[field]), rule
        for resource in rule["resources"]:
            # pods/exec, pods/attach, pods/portforward, pods/log and the like are subresources.
            assert "/" not in resource, rule
            assert resource not in {"secrets", "configmaps", "serviceaccounts"}, rule


def test_role_grants_exactly_pods_events_and_nodes_in_the_core_group(
    overlay: RenderedOverlay,
) -> None:
    assert _rules(overlay) == [
        {
            "apiGroups": [""],
            "resources": ["pods", "events", "nodes"],
            "verbs": ["get", "list", "watch"],
        }
    ]


def test_binding_gives_the_role_to_invdash_service_account_only(overlay: RenderedOverlay) -> None:
    (binding,) = overlay.all_of("ClusterRoleBinding")
    assert overlay.all_of("RoleBinding") == []
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": overlay.one("ClusterRole")["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "invdash", "namespace": "invdash"}
    ]


def _resources_the_code_reads() -> set[str]:
    """The resources behind every CoreV1Api method the Kubernetes code names."""
    source = "\n".join(path.read_text() for path in KUBERNETES_CODE)
    assert set(re.findall(r"k8s\.(\w+Api)\(", source)) == {"CoreV1Api"}
    methods = re.findall(r"\b(?:api|core_v1)\.((?:list|read|watch)_\w+)", source)
    resources = set()
    for method in methods:
        match = re.fullmatch(
            r"(?:list|read|watch)_(?:namespaced_)?(\w+?)(?:_for_all_namespaces)?", method
        )
        assert match, method
        resources.add(match.group(1) + "s")
    return resources


def test_the_grant_covers_exactly_the_resources_the_code_lists(overlay: RenderedOverlay) -> None:
    granted = {resource for rule in _rules(overlay) for resource in rule["resources"]}
    assert _resources_the_code_reads() == granted == {"pods", "events", "nodes"}
