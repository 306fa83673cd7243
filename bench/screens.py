"""Wall screens against a real ``invdash serve``: latency per callback, errors, source queries per
refresh interval, payloads, and the server's memory over a soak.

A screen is what a browser sends on each refresh tick: the refresh callbacks of /ops, /, /exec,
/sre and /cluster, the alert strip, the HPA panel and the status strip (each once), as HTTP
POSTs to /_dash-update-component whose bodies are built from the app's own
/_dash-dependencies, with the screen's own ``invdash_screen`` cookie, each on a connection of
its own. Every screen sends every page's callbacks on each tick (as five wall screens, one per
page, would), so the figures for 1 and 100 screens hold the same callbacks. Screens start at
random moments within the first interval and then tick every refresh interval; like the
page's gate (dashboard/ticks.py), a screen skips a tick while its previous one is still being
answered, so the load stays bounded however slow the server gets.

Each tick also sends the cheapest callback the app has, the /exec CSV export button's
(``exec-abc-grid.exportDataAsCsv``: it returns True and touches no source): its latency under
the same load is the floor a refresh callback's latency is read against.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from bench.postgresql import BenchUnavailable, free_port

REPO_ROOT = Path(__file__).resolve().parents[1]
UPDATE_PATH = "/_dash-update-component"
START_TIMEOUT_SECONDS = 120.0
REQUEST_TIMEOUT_SECONDS = 60.0
TRIVIAL = "trivial"
# name -> a part of the callback's output that names it in /_dash-dependencies.
CALLBACKS = {
    "/ops stock": "ops-scope.children",
    "/ops orders": "ops-kpi-orders-value.children",
    "/ops pods": "ops-kpi-pods-value.children",
    "/ inventory": "inv-freshness.children",
    "/exec review": "exec-cards.children",
    "/exec forecast": "exec-forecast-summary.children",
    "/sre figure": "sre-figure.figure",
    "/sre SLO": "slo-figures.children",
    "/cluster pods": "cl-pod-tiles.children",
    "/cluster usage": "cl-workload-grid.rowData",
    "HPAs": "hpa-rows.children",
    "alert strip": "alert-strip.children",
    "status strip": "source-status.children",
    TRIVIAL: "exec-abc-grid.exportDataAsCsv",
}
# What a browser on a page without query string sends for the inputs and states.
VALUES: dict[str, Any] = {
    "url.search": "",
    "url.pathname": "/",
    "rotation.data": {},
    "inv-warehouse.value": "all",
    "inv-category.value": "all",
    "cl-namespace.value": "all",
    "cl-workload.value": "all",
    "exec-abc-export.n_clicks": 1,
}


# --- The server -----------------------------------------------------------------------------


def _get(url: str, timeout: float = 30) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - 127.0.0.1
        body: bytes = response.read()
        return body


@dataclass
class Server:
    """``invdash serve`` (gunicorn; its process becomes the master) on 127.0.0.1."""

    base: str
    process: subprocess.Popen[bytes]
    log_path: Path
    metrics_dir: Path  # the workers' metric files, PROMETHEUS_MULTIPROC_DIR

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def processes(self) -> list[int]:
        """The master and every process under it (workers), by pid."""
        parents: dict[int, int] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            # The command name is in parentheses and may hold spaces: read after the last ")".
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        found = [self.process.pid]
        for pid in found:
            found.extend(child for child, parent in parents.items() if parent == pid)
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_server(database_url: str, log_path: Path, extra_env: dict[str, str]) -> Server:
    """``invdash serve`` with gunicorn's default workers and threads (INVDASH_WORKERS and
    INVDASH_THREADS are removed from the environment), the demo cluster for telemetry, and
    the default refresh interval; returned once /healthz answers and every worker is up."""
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("INVDASH_WORKERS", "INVDASH_THREADS", "PROMETHEUS_MULTIPROC_DIR")
        and not key.startswith("INVDASH_")
    }
    metrics_dir = log_path.with_suffix(".metrics")
    metrics_dir.mkdir(exist_ok=True)
    env.update(
        {
            "INVDASH_DATABASE_URL": database_url,
            "INVDASH_TELEMETRY": "demo",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            **extra_env,
        }
    )
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dashboard.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log_path, metrics_dir)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        if process.poll() is not None:
            raise BenchUnavailable(
                f"invdash serve exited ({process.returncode}):\n{server.log_tail()}"
            )
        if time.monotonic() > deadline:
            server.stop()
            raise BenchUnavailable(f"invdash serve did not answer in time:\n{server.log_tail()}")
        try:
            # Dash answers /healthz; "Booting worker" appears once per worker in gunicorn's log.
            if (
                _get(f"{server.base}/healthz", 5) == b"OK"
                and server.log_path.read_text(errors="replace").count("Booting worker") >= 2
                and len(server.processes()) >= 3
            ):
                return server
        except OSError:
            pass
        time.sleep(0.2)


# --- Callback bodies, from the app's dependencies -------------------------------------------


def _prop(spec: str) -> dict[str, str]:
    component, prop = spec.rsplit(".", 1)
    return {"id": component, "property": prop}


def _with_values(items: list[dict[str, Any]], tick: int) -> list[dict[str, Any]]:
    return [
        {
            "id": i["id"],
            "property": i["property"],
            "value": tick
            if (i["id"], i["property"]) == ("tick", "data")
            else VALUES.get(f"{i['id']}.{i['property']}"),
        }
        for i in items
    ]


def callback_bodies(base: str) -> dict[str, dict[str, Any]]:
    """A POST body per name of CALLBACKS (``"tick.data"`` set per request by ``with_tick``)."""
    return bodies_from(json.loads(_get(f"{base}/_dash-dependencies")))


def bodies_from(dependencies: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The bodies of CALLBACKS from the app's callback map (``/_dash-dependencies``)."""
    bodies = {}
    for name, part in CALLBACKS.items():
        found = [d for d in dependencies if part in d["output"]]
        if len(found) != 1:
            raise BenchUnavailable(f"{len(found)} callbacks have output {part!r} in the app")
        callback = found[0]
        output: str = callback["output"]
        outputs: Any = (
            [_prop(p) for p in output[2:-2].split("...")]
            if output.startswith("..")
            else _prop(output)
        )
        first = callback["inputs"][0]
        bodies[name] = {
            "output": output,
            "outputs": outputs,
            "inputs": callback["inputs"],
            "state": callback["state"],
            "changedPropIds": [f"{first['id']}.{first['property']}"],
        }
    return bodies


def with_tick(body: dict[str, Any], tick: int) -> bytes:
    return json.dumps(
        {
            **body,
            "inputs": _with_values(body["inputs"], tick),
            "state": _with_values(body["state"], tick),
        }
    ).encode()


# --- The load -------------------------------------------------------------------------------


@dataclass
class Request:
    callback: str
    screen: int
    started: float  # time.time()
    seconds: float
    status: int  # 0: no answer (timeout, connection error)
    size_bytes: int


@dataclass
class Load:
    screens: int
    seconds: float
    requests: list[Request] = field(default_factory=list)
    ticks: int = 0
    skipped_ticks: int = 0
    failures: Counter[str] = field(default_factory=Counter)

    def latencies(self, callback: str) -> list[float]:
        """Seconds of each request of ``callback``; one without a 200 answer counts as
        infinitely slow, so a percentile past the share answered is infinite, not flattering."""
        return [
            r.seconds if r.status == 200 else math.inf
            for r in self.requests
            if r.callback == callback
        ]

    def errors(self, callback: str | None = None) -> int:
        return sum(
            1
            for r in self.requests
            if r.status != 200 and (callback is None or r.callback == callback)
        )


def percentile(samples: list[float], share: float) -> float:
    """Linear between the two nearest ranks (numpy's default), infinite when either is."""
    ordered = sorted(samples)
    position = share * (len(ordered) - 1)
    below, above = ordered[math.floor(position)], ordered[math.ceil(position)]
    if math.isinf(below) or math.isinf(above):
        return math.inf
    return below + (above - below) * (position - math.floor(position))


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    """p50, p95, p99 (NaN without samples; infinite past the share of finite samples)."""
    if not samples:
        return math.nan, math.nan, math.nan
    p50, p95, p99 = (percentile(samples, share) for share in (0.50, 0.95, 0.99))
    return p50, p95, p99


async def _screen(
    number: int,
    base: str,
    bodies: dict[str, dict[str, Any]],
    interval: float,
    start_at: float,
    stop_at: float,
    load: Load,
) -> None:
    # A connection per callback: four browsers, one per page, never queue a tick's few
    # callbacks behind their six connections, so no request waits in this client.
    limits = httpx.Limits(max_connections=len(bodies), max_keepalive_connections=len(bodies))
    cookies = {"invdash_screen": f"bench-screen-{number:04d}"}
    async with httpx.AsyncClient(
        base_url=base, limits=limits, cookies=cookies, timeout=REQUEST_TIMEOUT_SECONDS
    ) as client:

        async def post(callback: str, tick: int) -> None:
            started_wall, started = time.time(), time.perf_counter()
            try:
                response = await client.post(
                    UPDATE_PATH,
                    content=with_tick(bodies[callback], tick),
                    headers={"Content-Type": "application/json"},
                )
                status, size = response.status_code, len(response.content)
            except httpx.HTTPError as error:
                status, size = 0, 0
                load.failures[f"{callback}: {type(error).__name__}"] += 1
            load.requests.append(
                Request(callback, number, started_wall, time.perf_counter() - started, status, size)
            )

        running: asyncio.Future[Any] | None = None
        tick = 0
        next_tick = start_at
        while True:
            await asyncio.sleep(max(0.0, next_tick - time.time()))
            if time.time() >= stop_at:
                break
            tick += 1
            load.ticks += 1
            if running is not None and not running.done():
                load.skipped_ticks += 1
            else:
                running = asyncio.ensure_future(
                    asyncio.gather(*(post(name, tick) for name in bodies))
                )
            next_tick += interval
        if running is not None:
            await running


def run_screens(
    base: str,
    bodies: dict[str, dict[str, Any]],
    screens: int,
    seconds: float,
    interval: float,
    seed: int = 1,
) -> Load:
    """``screens`` screens for ``seconds``; requests in flight at the end are awaited."""
    load = Load(screens, seconds)
    rng = random.Random(seed)
    now = time.time()
    stop_at = now + seconds

    async def all_screens() -> None:
        await asyncio.gather(
            *(
                _screen(n, base, bodies, interval, now + rng.uniform(0, interval), stop_at, load)
                for n in range(screens)
            )
        )

    asyncio.run(all_screens())
    return load


# --- /metrics -------------------------------------------------------------------------------


METRICS_TIMEOUT_SECONDS = 60.0


def _count_queries(families: Iterable[Metric]) -> Counter[tuple[str, str]]:
    total: Counter[tuple[str, str]] = Counter()
    for family in families:
        for sample in family.samples:
            if sample.name == "invdash_source_queries_total":
                total[(sample.labels["source"], sample.labels["query"])] += int(sample.value)
    return total


def source_queries(server: Server) -> tuple[Counter[tuple[str, str]], str]:
    """invdash_source_queries_total of the whole replica, by (source, query), and where it was
    read: from /metrics, or, when an overloaded server does not answer /metrics in time (it
    waits behind the requests queued before it), from the workers' metric files that /metrics
    adds up (prometheus-client's multiprocess collector, as dashboard.metrics does)."""
    try:
        text = _get(f"{server.base}/metrics", METRICS_TIMEOUT_SECONDS).decode()
        return _count_queries(text_string_to_metric_families(text)), "/metrics"
    except OSError:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(server.metrics_dir))  # type: ignore[no-untyped-call]
        return _count_queries(registry.collect()), "the metric files behind /metrics"


# --- Payloads -------------------------------------------------------------------------------

ITEM_BYTES = {
    "f8": 8,
    "f4": 4,
    "i8": 8,
    "i4": 4,
    "i2": 2,
    "i1": 1,
    "u8": 8,
    "u4": 4,
    "u2": 2,
    "u1": 1,
}


def _array_length(value: Any) -> int | None:
    if isinstance(value, list):
        return len(value)
    if isinstance(value, dict) and "bdata" in value and "dtype" in value:
        # Plotly sends numpy arrays as base64 typed arrays.
        count = len(base64.b64decode(value["bdata"])) // ITEM_BYTES.get(str(value["dtype"]), 8)
        shape = value.get("shape")
        return int(str(shape).split(",")[0]) if shape and count else count
    return None


def _walk(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


@dataclass(frozen=True)
class Payload:
    callback: str
    size_bytes: int
    traces: int
    points_per_trace: list[int]
    grid_rows: int


def payload(callback: str, body: bytes) -> Payload:
    """Bytes of one response, the points of each figure trace in it (the longest of its x, y,
    z, values, lat and lon arrays) and the rows of every grid's rowData."""
    answer = json.loads(body)
    points: list[int] = []
    rows = 0
    for key, item in _walk(answer.get("response", {})):
        if key == "rowData" and isinstance(item, list):
            rows += len(item)
        if key == "data" and isinstance(item, list) and all(isinstance(t, dict) for t in item):
            for trace in item:
                lengths = [
                    n
                    for n in (
                        _array_length(trace.get(a)) for a in ("x", "y", "z", "values", "lat", "lon")
                    )
                    if n is not None
                ]
                if "type" in trace or lengths:
                    points.append(max(lengths, default=0))
    return Payload(callback, len(body), len(points), points, rows)


def sample_payloads(base: str, bodies: dict[str, dict[str, Any]]) -> list[Payload]:
    found = []
    with httpx.Client(
        base_url=base, timeout=REQUEST_TIMEOUT_SECONDS, cookies={"invdash_screen": "bench-payloads"}
    ) as client:
        for name in bodies:
            response = client.post(
                UPDATE_PATH,
                content=with_tick(bodies[name], 1),
                headers={"Content-Type": "application/json"},
            )
            response.raise_for_status()
            found.append(payload(name, response.content))
    return found


# --- Memory ---------------------------------------------------------------------------------


def rss_bytes(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


@dataclass
class MemorySoak:
    """RSS of every gunicorn process, sampled while ``screens`` screens refresh."""

    seconds: float
    warm_seconds: float
    samples: list[tuple[float, dict[int, int]]] = field(
        default_factory=list
    )  # (elapsed, pid -> rss)
    load: Load | None = None

    def total_at(self, start: float, end: float) -> float:
        totals = [sum(rss.values()) for at, rss in self.samples if start <= at <= end]
        return float(np.mean(totals)) if totals else float("nan")

    @property
    def window_seconds(self) -> float:
        return min(30.0, self.warm_seconds / 2)

    @property
    def warm_bytes(self) -> float:
        return self.total_at(self.warm_seconds, self.warm_seconds + self.window_seconds)

    @property
    def end_bytes(self) -> float:
        return self.total_at(self.seconds - self.window_seconds, self.seconds + 60)

    @property
    def growth(self) -> float:
        return (self.end_bytes - self.warm_bytes) / self.warm_bytes

    def lifetimes(self) -> dict[int, tuple[float, float]]:
        """Per process that lived past its own warm-up: the mean RSS of the window after its
        first ``warm_seconds`` (counted from the soak's start for a process there from the
        start, from its first sample for one that came later: a recycled worker's
        replacement) and of the window before its last sample. A worker's replacement grows
        again to its working size; read on the total, that warm-up would count as growth."""
        series: dict[int, list[tuple[float, int]]] = {}
        for at, rss in self.samples:
            for pid, value in rss.items():
                series.setdefault(pid, []).append((at, value))
        window = self.window_seconds
        found: dict[int, tuple[float, float]] = {}
        for pid, points in series.items():
            warm_from = points[0][0] + self.warm_seconds
            last = points[-1][0]
            if last - window < warm_from + window:
                continue  # too short a life to have grown after its warm-up
            warm = [value for at, value in points if warm_from <= at <= warm_from + window]
            end = [value for at, value in points if last - window <= at]
            found[pid] = (float(np.mean(warm)), float(np.mean(end)))
        return found

    @property
    def lifetime_growth(self) -> float:
        """RSS growth of the processes, each from after its own warm-up to its end: the sum
        of their ends against the sum of their warm sizes."""
        lives = self.lifetimes().values()
        warm = sum(w for w, _ in lives)
        return sum(e for _, e in lives) / warm - 1 if warm else float("nan")

    @property
    def peak_bytes(self) -> int:
        return max((sum(rss.values()) for _, rss in self.samples), default=0)

    @property
    def processes_seen(self) -> int:
        return len({pid for _, rss in self.samples for pid in rss})

    def per_process_end(self) -> dict[int, int]:
        return self.samples[-1][1] if self.samples else {}


def soak(
    server: Server,
    bodies: dict[str, dict[str, Any]],
    screens: int,
    seconds: float,
    warm_seconds: float,
    interval: float,
    every_seconds: float = 5.0,
) -> MemorySoak:
    result = MemorySoak(seconds, warm_seconds)
    done = threading.Event()
    started = time.monotonic()

    def sample() -> None:
        while not done.is_set():
            rss = {
                pid: value for pid in server.processes() if (value := rss_bytes(pid)) is not None
            }
            result.samples.append((time.monotonic() - started, rss))
            done.wait(every_seconds)

    sampler = threading.Thread(target=sample, name="rss-sampler", daemon=True)
    sampler.start()
    try:
        result.load = run_screens(server.base, bodies, screens, seconds, interval, seed=2)
    finally:
        done.set()
        sampler.join(timeout=every_seconds + 5)
    return result
