"""The image's install steps and command, run for real: it serves, answers its probes, exports
/metrics, writes only under /tmp and stops cleanly on SIGTERM. Its pins are the tested versions."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from deploy_tools import REPO_ROOT, RenderedOverlay, run
from dockerfile_facts import final_stage, healthcheck_command, instructions
from image_run import InstalledImage, http_get, wait_until_healthy
from local_service import free_port

SERVER_START_SECONDS = 90
# The pod's terminationGracePeriodSeconds: gunicorn must be gone before the kubelet's SIGKILL.
GRACE_SECONDS = 30


def _files_under(directory: Path) -> set[Path]:
    return set(directory.rglob("*"))


@pytest.fixture
def seeded_run(
    installed_image: InstalledImage,
    rendered_overlays: dict[str, RenderedOverlay],
    tmp_path: Path,
) -> dict[str, str]:
    """The environment of a dev pod whose init container has seeded its /tmp (``tmp_path``)."""
    dev = rendered_overlays["dev"]
    pod = dev.one("Deployment")["spec"]["template"]["spec"]
    (seed,) = pod["initContainers"]
    (secret,) = dev.all_of("Secret")
    database_url = base64.b64decode(secret["data"]["database-url"]).decode()
    env = installed_image.environment(
        tmp_path,
        os.environ["PATH"],
        INVDASH_DATABASE_URL=installed_image.path_in(tmp_path, database_url),
        # Nothing but loopback here: no cluster, no Prometheus; the demo cluster stands in.
        INVDASH_TELEMETRY="demo",
        INVDASH_HOST="127.0.0.1",
        INVDASH_PORT=str(free_port()),
    )
    program, *arguments = seed["command"]
    seeded = run([str(installed_image.venv / "bin" / program), *arguments], env=env, cwd=tmp_path)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    return env


@pytest.fixture
def image_server(
    installed_image: InstalledImage, seeded_run: dict[str, str], tmp_path: Path
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    process = subprocess.Popen(
        installed_image.command(),
        env=seeded_run,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base_url = f"http://127.0.0.1:{seeded_run['INVDASH_PORT']}"
    try:
        wait_until_healthy(base_url, process, SERVER_START_SECONDS)
        yield base_url, process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_image_command_serves_pages_probes_and_metrics_writing_only_under_tmp(
    installed_image: InstalledImage,
    image_server: tuple[str, subprocess.Popen[str]],
    seeded_run: dict[str, str],
    tmp_path: Path,
) -> None:
    image_files = _files_under(installed_image.venv)
    base_url, process = image_server
    assert http_get(f"{base_url}/healthz") == (200, b"OK")
    status, readiness = http_get(f"{base_url}/readyz")
    assert status == 200
    assert b'"inventory database"' in readiness
    status, page = http_get(f"{base_url}/")
    assert status == 200
    assert b"_dash-renderer" in page or b"dash_renderer" in page
    status, metrics = http_get(f"{base_url}/metrics")
    assert status == 200
    assert b"invdash_" in metrics

    # The HEALTHCHECK, as the container engine would run it, with the image's PATH.
    probe = healthcheck_command(final_stage(instructions()))
    assert run(probe, env=seeded_run, cwd=tmp_path, timeout=10).returncode == 0

    # Nothing written into the image's files (bytecode, caches, a control socket): all in /tmp.
    assert _files_under(installed_image.venv) == image_files
    assert list(tmp_path.glob("invdash-metrics-*/*.db"))

    started = time.monotonic()
    process.terminate()
    assert process.wait(timeout=GRACE_SECONDS) == 0
    assert time.monotonic() - started < GRACE_SECONDS


def test_constraints_pin_every_runtime_dependency_at_the_version_the_tests_ran() -> None:
    generated = run(
        [sys.executable, str(REPO_ROOT / "scripts" / "runtime_constraints.py")], cwd=REPO_ROOT
    )
    assert generated.returncode == 0, generated.stderr
    assert (REPO_ROOT / "constraints.txt").read_text() == generated.stdout, (
        "constraints.txt is stale: .venv/bin/python scripts/runtime_constraints.py > constraints.txt"
    )
