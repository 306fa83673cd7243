"""gunicorn's configuration for invdash: ``gunicorn --config python:dashboard.gunicorn_conf
dashboard.wsgi:server``. ``invdash serve`` uses it too, its flags overriding.

gunicorn reads the module's top-level names that match its settings (and ignores the others,
which is why the helpers here start with an underscore). Sizing comes from the environment:
INVDASH_WORKERS, INVDASH_THREADS, INVDASH_HOST, INVDASH_PORT and INVDASH_METRICS_PORT; a bad value stops the master
with one line naming the variable.

The master checks invdash's settings and database once before it forks (``on_starting``), so
a bad one is one line in the log and a non-zero exit, not a line per worker. When the demo's
orders are to be carried on (``INVDASH_DEMO_ORDERS``), it runs ``invdash demo-orders`` beside
the workers and stops it when it exits.

Own metrics (``dashboard.metrics``) are kept in prometheus-client's multiprocess mode, in
PROMETHEUS_MULTIPROC_DIR (a fresh temporary directory when unset): emptied when the master starts,
a dead worker's live gauges removed when it exits.

The workers share one cache (``dashboard.host_cache``) in a fresh temporary directory the master
makes when it starts, names to them in INVDASH_CACHE_DIR and removes when it exits, so the
sources cost one query per interval for the whole server, not one per worker. Under $TMPDIR
(else /tmp): the image's writable emptyDir on a read-only root filesystem.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dashboard.settings import ServerSettings, describe_validation_error

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _server_settings() -> ServerSettings:
    try:
        return ServerSettings()
    except ValidationError as error:
        # SystemExit passes through gunicorn's config loading, which would print a traceback for
        # any other exception.
        print(f"invdash: {describe_validation_error(error, ServerSettings)}", file=sys.stderr)
        raise SystemExit(2) from None


def _multiproc_dir() -> tuple[Path, bool]:
    """The metrics directory and whether this module made it (and so removes it at exit).

    Set before anything imports prometheus_client: it picks file-backed values at import, and
    workers fork from this master with whatever it imported.
    """
    configured = os.environ.get(MULTIPROC_ENV)
    if configured:
        return Path(configured), False
    made = Path(tempfile.mkdtemp(prefix="invdash-metrics-"))
    os.environ[MULTIPROC_ENV] = str(made)
    return made, True


_server = _server_settings()
_metrics_dir, _made_metrics_dir = _multiproc_dir()

bind = [f"{_server.host}:{_server.port}"]
# A port for Prometheus alone (INVDASH_METRICS_PORT), so a NetworkPolicy can open it to the
# monitoring namespace only; the app answers /metrics there and nothing else (dashboard.metrics).
if _server.metrics_port is not None:
    bind.append(f"{_server.host}:{_server.metrics_port}")
workers = _server.workers
threads = _server.threads
worker_class = "gthread"
# The heartbeat file is touched every second: in memory, and never on a read-only root filesystem.
_SHARED_MEMORY = "/dev/shm"  # noqa: S108 - gunicorn's own advice for its heartbeat files
worker_tmp_dir = _SHARED_MEMORY if os.path.isdir(_SHARED_MEMORY) else None
# Recycle workers now and then so slow leaks (pandas, plotly) cannot grow without bound; the
# jitter keeps the workers of a replica from restarting together.
max_requests = 5000
max_requests_jitter = 500
# Below Kubernetes' default 30 s grace period, so in-flight refreshes finish before SIGKILL.
graceful_timeout = 20
# gunicorn 27's control socket lives under $HOME; the container's root filesystem is read-only.
# (Older gunicorn has no such setting and ignores the name.)
control_socket_disable = True
accesslog = "-"


def on_starting(server: Any) -> None:
    """Master start: the settings checked once, and an empty metrics directory, so counters
    start from zero with this master."""
    # A bad setting stops the master with one line (dashboard.startup), before any worker is
    # forked to report it again, once per worker. Imported when the master starts rather than
    # when gunicorn reads this file: it loads the data sources' libraries.
    from dashboard.startup import startup

    try:
        startup()
    except SystemExit:
        on_exit(server)
        raise
    _metrics_dir.mkdir(parents=True, exist_ok=True)
    for stale in _metrics_dir.glob("*.db"):
        stale.unlink()
    _make_cache_dir()


_cache_dirs: list[Path] = []


def _make_cache_dir() -> None:
    """A directory of this master's own, always fresh: a directory inherited from elsewhere
    could hold entries read with other settings. Made here rather than at import, so importing
    this module leaves nothing behind; still before the master forks any worker."""
    from dashboard.host_cache import CACHE_DIR_ENV

    made = Path(tempfile.mkdtemp(prefix="invdash-cache-"))
    _cache_dirs.append(made)
    os.environ[CACHE_DIR_ENV] = str(made)


_demo_orders: list[subprocess.Popen[bytes]] = []


def when_ready(server: Any) -> None:
    """Listening: start the demo's orders coming (``invdash demo-orders``) when the settings say
    so. A child process rather than a thread: the master forks workers, and a thread holding a
    database connection across a fork is asking for trouble."""
    from dashboard.settings import load_settings

    if load_settings().carries_demo_orders_on:
        command = [sys.executable, "-m", "dashboard.cli", "demo-orders"]
        _demo_orders.append(subprocess.Popen(command))
        server.log.info("demo orders carried on by process %s", _demo_orders[-1].pid)


def child_exit(server: Any, worker: Any) -> None:
    """A worker ended: drop its live gauges (its counters and histograms still count)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, str(_metrics_dir))  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    for process in _demo_orders:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
    if _made_metrics_dir:
        shutil.rmtree(_metrics_dir, ignore_errors=True)
    for made in _cache_dirs:
        shutil.rmtree(made, ignore_errors=True)
