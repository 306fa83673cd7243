"""invdash's alert rules: valid for the real promtool, unit-tested by it (every alert firing and
not firing: tests/deploy/alert_rules_test.yml), the same for a stock Prometheus and for the
Prometheus Operator, and each with the annotations a person on call needs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_tools import DEPLOY, REPO_ROOT, run
from prometheus_server import PROMETHEUS_INSTALL_HINT

from dashboard.settings import Settings

RULES = DEPLOY / "prometheus" / "invdash-rules.yml"
OPERATOR_RULES = DEPLOY / "base" / "prometheusrule.yaml"
RULE_TESTS = Path(__file__).with_name("alert_rules_test.yml")
RUNBOOKS = REPO_ROOT / "docs" / "alerts.md"


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail(f"promtool not found on PATH: {PROMETHEUS_INSTALL_HINT}", pytrace=False)
    return found


def alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_promtool_checks_the_rules() -> None:
    result = run([promtool(), "check", "rules", str(RULES)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass() -> None:
    result = run([promtool(), "test", "rules", str(RULE_TESTS)], cwd=RULE_TESTS.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    cases = [
        case
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
    ]
    for alert in alerts():
        name = alert["alert"]
        outcomes = {bool(case["exp_alerts"]) for case in cases if case["alertname"] == name}
        assert outcomes == {True, False}, f"{name}: tested firing and not firing"


def test_every_alert_says_what_it_means_and_links_its_runbook() -> None:
    headings = set(re.findall(r"^## (\w+)$", RUNBOOKS.read_text(), flags=re.MULTILINE))
    for alert in alerts():
        name = alert["alert"]
        annotations = alert["annotations"]
        assert {"summary", "description", "runbook_url"} <= set(annotations), name
        assert annotations["runbook_url"] == f"docs/alerts.md#{name.lower()}"
        assert name in headings, f"docs/alerts.md has no section ## {name}"
        assert alert["labels"]["severity"] in ("warning", "critical"), name


def test_the_operator_and_a_stock_prometheus_get_the_same_rules() -> None:
    plain = yaml.safe_load(RULES.read_text())
    operator = yaml.safe_load(OPERATOR_RULES.read_text())
    assert operator["kind"] == "PrometheusRule"
    assert operator["spec"]["groups"] == plain["groups"]


def test_the_slo_rules_burn_the_budget_of_the_default_objective() -> None:
    budget = 1 - Settings.model_fields["slo_objective"].default
    text = RULES.read_text()
    # 14.4 and 6 times the budget: the fast and slow burn rates of a 30-day window.
    assert f"(14.4 * {budget:.3f})" in text
    assert f"(6 * {budget:.3f})" in text
