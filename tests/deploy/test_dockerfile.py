"""The Dockerfile: linted by hadolint and checkov, and the properties the deployment relies on.

No container engine runs here, so the image is checked as text; tests/deploy/test_image.py runs
its install script and its command for real.
"""

from __future__ import annotations

import subprocess

from deploy_tools import REPO_ROOT, checkov_results, run, validator
from dockerfile_facts import (
    DOCKERFILE,
    arguments_of,
    command,
    environment,
    final_stage,
    healthcheck_command,
    instructions,
)

IMAGE_COMMAND = [
    "gunicorn",
    "--config",
    "python:dashboard.gunicorn_conf",
    "--no-control-socket",
    "dashboard.wsgi:server",
]


def test_hadolint_finds_nothing() -> None:
    result = run([validator("hadolint"), "--no-color", str(DOCKERFILE)])
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_checkov_passes_every_dockerfile_check() -> None:
    results = checkov_results("dockerfile", DOCKERFILE)
    assert results["failed_checks"] == []
    assert results["skipped_checks"] == []
    assert len(results["passed_checks"]) > 20


def test_image_is_built_in_one_stage_and_run_from_a_slim_python_3_11_in_another() -> None:
    stages = arguments_of(instructions(), "FROM")
    assert stages == ["python:3.11-slim-bookworm AS build", "python:3.11-slim-bookworm"]
    runtime = final_stage(instructions())
    assert arguments_of(runtime, "COPY") == ["--from=build /opt/invdash /opt/invdash"]


def test_build_stage_installs_with_the_script_the_tests_run() -> None:
    assert "sh scripts/image-install.sh /opt/invdash" in arguments_of(instructions(), "RUN")


def test_image_runs_as_numeric_non_root_user_10001() -> None:
    assert arguments_of(final_stage(instructions()), "USER") == ["10001:10001"]


def test_image_command_is_exec_form_gunicorn_with_its_config_module() -> None:
    assert command(final_stage(instructions())) == IMAGE_COMMAND


def test_installed_gunicorn_accepts_the_flags_of_the_image_command() -> None:
    gunicorn_help = subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "gunicorn"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    for flag in (word for word in IMAGE_COMMAND if word.startswith("--")):
        assert flag in gunicorn_help


def test_image_exposes_the_dashboard_and_metrics_ports_and_checks_healthz_with_python_alone() -> (
    None
):
    runtime = final_stage(instructions())
    # 9050: where the manifests have /metrics answered (INVDASH_METRICS_PORT).
    assert arguments_of(runtime, "EXPOSE")[0].split() == ["8050", "9050"]
    probe = healthcheck_command(runtime)
    assert probe[:2] == ["python", "-c"]
    assert "/healthz" in probe[2]


def test_everything_the_image_writes_goes_under_tmp() -> None:
    env = environment(final_stage(instructions()))
    for name in (
        "HOME",
        "TMPDIR",
        "XDG_CACHE_HOME",
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "XDG_STATE_HOME",
    ):
        assert env[name] == "/tmp" or env[name].startswith("/tmp/"), name
    # gunicorn's config makes the metrics directory under TMPDIR; a fixed one would send the
    # CLI (the dev overlay's seeding init container) into multiprocess mode without a directory.
    assert "PROMETHEUS_MULTIPROC_DIR" not in env
    # Bytecode is compiled at build time; at run time the root filesystem is read-only.
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert arguments_of(final_stage(instructions()), "WORKDIR") == ["/tmp"]


def test_dockerignore_lets_in_only_what_the_build_copies() -> None:
    patterns = [
        line
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert patterns[0] == "*"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    copied = set()
    for arguments in arguments_of(instructions(), "COPY"):
        if not arguments.startswith("--from="):
            copied.update(source.rstrip("/") for source in arguments.split()[:-1])
    assert copied == allowed
