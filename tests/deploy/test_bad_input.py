"""A missing or unusable Secret or ConfigMap value: the image's command logs one line naming the
setting and exits non-zero, quickly, so the pod crash-loops with its reason in the log instead
of serving a half-configured page."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from image_run import InstalledImage
from local_service import free_port

# Well inside the startup probe's allowance, so the kubelet sees the exit, not a probe timeout.
EXIT_WITHIN_SECONDS = 30
# The production worker count (deploy/base/settings.env): every worker must not repeat the line.
WORKERS = "2"


@pytest.mark.parametrize(
    ("setting", "value", "named_as"),
    [
        pytest.param(
            "INVDASH_REFRESH_SECONDS", "0", "INVDASH_REFRESH_SECONDS='0'", id="out-of-range"
        ),
        # A ConfigMap key present with no value.
        pytest.param("INVDASH_REFRESH_SECONDS", "", "INVDASH_REFRESH_SECONDS=''", id="empty"),
        # The Secret or its key is missing: the optional secretKeyRef leaves the variable unset.
        pytest.param(
            "INVDASH_DATABASE_URL", None, "INVDASH_DATABASE_URL is not set", id="secret-missing"
        ),
        pytest.param(
            "INVDASH_DATABASE_URL",
            "postgres ql://invdash:hunter2@db/inventory",
            "INVDASH_DATABASE_URL is not a usable SQLAlchemy URL",
            id="unparsable-url",
        ),
        pytest.param("INVDASH_WORKERS", "0", "INVDASH_WORKERS='0'", id="server-sizing"),
    ],
)
def test_image_command_names_the_bad_setting_once_and_exits(
    installed_image: InstalledImage,
    tmp_path: Path,
    setting: str,
    value: str | None,
    named_as: str,
) -> None:
    settings: dict[str, str | None] = {
        "INVDASH_DATABASE_URL": f"sqlite:///{tmp_path}/inventory.sqlite3",
        "INVDASH_TELEMETRY": "off",
        "INVDASH_HOST": "127.0.0.1",
        "INVDASH_PORT": str(free_port()),
        "INVDASH_WORKERS": WORKERS,
    }
    settings[setting] = value
    env = installed_image.environment(tmp_path, os.environ["PATH"], **settings)
    started = time.monotonic()
    result = subprocess.run(
        installed_image.command(),
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=EXIT_WITHIN_SECONDS + 30,
        check=False,
    )
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert elapsed < EXIT_WITHIN_SECONDS, output
    naming = [line for line in output.splitlines() if setting in line]
    assert len(naming) == 1, output
    assert naming[0].startswith(f"invdash: {named_as}")
    assert "Traceback" not in output
    assert "hunter2" not in output
