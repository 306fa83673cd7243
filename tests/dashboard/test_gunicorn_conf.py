"""gunicorn's configuration module: sizing from INVDASH_*, one line naming a bad variable, the
prometheus-client multiprocess directory emptied at master start, dead workers' gauges dropped,
and the workers' shared cache directory made fresh at master start and removed at exit.

Each case imports the module in a fresh interpreter: it reads the environment and sets
PROMETHEUS_MULTIPROC_DIR when it is imported, as the gunicorn master does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from local_service import free_port
from small_inventory import build_small_inventory

REPO_ROOT = Path(__file__).resolve().parents[2]

SHOW_SETTINGS = """
import json, os
import dashboard.gunicorn_conf as conf
print(json.dumps({
    "bind": conf.bind, "workers": conf.workers, "threads": conf.threads,
    "worker_class": conf.worker_class, "worker_tmp_dir": conf.worker_tmp_dir,
    "max_requests": conf.max_requests, "max_requests_jitter": conf.max_requests_jitter,
    "graceful_timeout": conf.graceful_timeout,
    "control_socket_disable": conf.control_socket_disable,
    "metrics_dir": os.environ["PROMETHEUS_MULTIPROC_DIR"],
    "cache_dir": os.environ.get("INVDASH_CACHE_DIR"),
}))
"""


def run_python(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """``python *args`` in the repository, its environment's INVDASH_ and PROMETHEUS_ variables
    replaced by ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("INVDASH_", "PROMETHEUS_"))}
    return subprocess.run(
        [sys.executable, *args],
        env={**clean, **env},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def import_conf(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_python(["-c", code], **env)


@pytest.fixture
def small_inventory_url(sqlite_url: str) -> str:
    build_small_inventory(sa.create_engine(sqlite_url))
    return sqlite_url


def run_master_hooks(
    code: str, database_url: str, metrics_dir: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` (calling the master's hooks) on ``database_url`` with telemetry off, metrics
    in ``metrics_dir``; it must succeed."""
    result = import_conf(
        code,
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        INVDASH_DATABASE_URL=database_url,
        INVDASH_TELEMETRY="off",
        **env,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_image_defaults_listen_everywhere_on_8050_with_gthread_workers() -> None:
    result = import_conf(SHOW_SETTINGS)
    assert result.returncode == 0, result.stderr
    conf = json.loads(result.stdout)
    assert conf["bind"] == ["0.0.0.0:8050"]
    assert (conf["workers"], conf["threads"], conf["worker_class"]) == (2, 4, "gthread")
    assert conf["worker_tmp_dir"] == ("/dev/shm" if os.path.isdir("/dev/shm") else None)
    assert conf["max_requests"] > 0
    assert 0 < conf["max_requests_jitter"] < conf["max_requests"]
    assert conf["graceful_timeout"] < 30  # Kubernetes' default grace period
    assert conf["control_socket_disable"] is True
    # No directory given: a fresh one, made at import so workers inherit it.
    assert Path(conf["metrics_dir"]).name.startswith("invdash-metrics-")
    Path(conf["metrics_dir"]).rmdir()
    # The cache directory is the master's, made when it starts: importing leaves none behind.
    assert conf["cache_dir"] is None


def test_sizing_and_address_come_from_the_environment(tmp_path: Path) -> None:
    result = import_conf(
        SHOW_SETTINGS,
        INVDASH_WORKERS="3",
        INVDASH_THREADS="8",
        INVDASH_HOST="127.0.0.1",
        INVDASH_PORT="9050",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    conf = json.loads(result.stdout)
    assert (conf["bind"], conf["workers"], conf["threads"]) == (["127.0.0.1:9050"], 3, 8)
    assert conf["metrics_dir"] == str(tmp_path)


def test_a_bad_worker_count_stops_the_master_with_one_line_naming_it() -> None:
    result = import_conf(SHOW_SETTINGS, INVDASH_WORKERS="many")
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("invdash: INVDASH_WORKERS='many' is invalid: expected worker processes")


def test_out_of_range_threads_and_port_are_named_together() -> None:
    result = import_conf(SHOW_SETTINGS, INVDASH_THREADS="0", INVDASH_PORT="70000")
    assert result.returncode == 2
    assert "INVDASH_PORT='70000' is invalid" in result.stderr
    assert "INVDASH_THREADS='0' is invalid" in result.stderr


def test_a_metrics_port_is_a_second_listener_and_may_not_be_the_dashboards() -> None:
    result = import_conf(SHOW_SETTINGS, INVDASH_PORT="8050", INVDASH_METRICS_PORT="9050")
    assert result.returncode == 0, result.stderr
    conf = json.loads(result.stdout)
    assert conf["bind"] == ["0.0.0.0:8050", "0.0.0.0:9050"]
    Path(conf["metrics_dir"]).rmdir()
    result = import_conf(SHOW_SETTINGS, INVDASH_METRICS_PORT="8050")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("invdash: INVDASH_METRICS_PORT=8050 is the dashboard's own port")


def test_master_start_empties_the_metrics_directory_and_a_dead_worker_loses_its_live_gauges(
    tmp_path: Path, small_inventory_url: str
) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_4242.db").write_bytes(b"from a previous master")
    (metrics_dir / "gauge_livemax_4343.db").write_bytes(b"")
    code = """
import types
import dashboard.gunicorn_conf as conf
conf.on_starting(None)
open(conf._metrics_dir / "gauge_livemax_4343.db", "wb").close()
open(conf._metrics_dir / "counter_4343.db", "wb").close()
conf.child_exit(None, types.SimpleNamespace(pid=4343))
conf.on_exit(None)
"""
    run_master_hooks(code, small_inventory_url, metrics_dir)
    # The dead worker's counts still count; its live gauge does not.
    assert sorted(path.name for path in metrics_dir.iterdir()) == ["counter_4343.db"]


def test_master_start_makes_a_fresh_cache_directory_for_the_workers_and_exit_removes_it(
    tmp_path: Path, small_inventory_url: str
) -> None:
    inherited = tmp_path / "inherited"
    inherited.mkdir()
    code = """
import json, os
import dashboard.gunicorn_conf as conf
conf.on_starting(None)
made = os.environ["INVDASH_CACHE_DIR"]
print(json.dumps({"made": made, "was_a_directory": os.path.isdir(made)}))
conf.on_exit(None)
"""
    result = run_master_hooks(
        code, small_inventory_url, tmp_path / "metrics", INVDASH_CACHE_DIR=str(inherited)
    )
    made = json.loads(result.stdout)
    assert made["was_a_directory"]
    assert Path(made["made"]).name.startswith("invdash-cache-")
    assert not Path(made["made"]).exists()
    # An inherited directory may hold entries read with other settings: not used, not removed.
    assert inherited.is_dir()


def test_a_bad_setting_stops_the_master_before_it_forks_with_one_line(
    small_inventory_url: str,
) -> None:
    result = run_python(
        ["-m", "gunicorn", "--config", "python:dashboard.gunicorn_conf", "dashboard.wsgi:server"],
        INVDASH_DATABASE_URL=small_inventory_url,
        INVDASH_REFRESH_SECONDS="0",
        INVDASH_HOST="127.0.0.1",
        INVDASH_PORT=str(free_port()),
    )
    assert result.returncode == 2
    naming = [line for line in result.stderr.splitlines() if "INVDASH_REFRESH_SECONDS" in line]
    assert naming == [
        "invdash: INVDASH_REFRESH_SECONDS='0' is invalid: expected an integer from 1 to 86400 "
        "(Input should be greater than or equal to 1)"
    ]
    assert "Booting worker" not in result.stderr
