"""``make bench`` / ``make bench-short``: every benchmark of invdash in one run, written to
docs/benchmarks.md with the machine, the date and the command.

These machines are noisy and shared, so each figure is read against a floor measured in the
same run (the best hand-written SQL, the cheapest callback, a trivial page, the first minutes of
a soak), and only those ratios are compared with targets. A benchmark that cannot reach its
database or server says so and the run exits non-zero without writing the report.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import os
import pickle
import shlex
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from bench import report
from bench.browser import BrowserFigure, render_times
from bench.databases import REPO_ROOT, RunDatabase, SeedCache
from bench.floors import FloorFigure, FloorMismatch, measure_floors
from bench.inventory_bench import DemoOrderFigures, SnapshotFigures, measure_demo_orders
from bench.machine import Machine, this_machine
from bench.postgresql import BenchUnavailable, PostgreSQLServer, start_server
from bench.screens import (
    Load,
    MemorySoak,
    Payload,
    Server,
    callback_bodies,
    run_screens,
    sample_payloads,
    soak,
    source_queries,
)
from bench.screens import start_server as start_invdash
from demo.orders import continue_orders
from queries.daily_review import PERIOD_DAYS
from queries.database import create_inventory_engine
from queries.inventory import InventoryPolicy, InventorySource
from queries.kpis import ExecutiveKpiSource
from queries.rollup_store import RollupStore, refresh_rollups
from queries.schema import SalesOrder

REFRESH_SECONDS = 10  # invdash's default, which the server runs with
# A panel query longer than this is reported as timed out (no refresh could wait for it).
FLOOR_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Mode:
    name: str
    large_scale: bool  # `l` on PostgreSQL too
    repeat: int  # timed runs of each query (medians)
    phase_seconds: float  # each number of screens
    soak_seconds: float
    soak_warm_seconds: float
    browser_repeat: int


MODES = {
    "full": Mode("full", True, 5, 180.0, 1800.0, 300.0, 7),
    "short": Mode("short", False, 3, 60.0, 180.0, 60.0, 5),
}


@dataclass(frozen=True)
class RollupFigures:
    """``invdash rollup`` on the run's copy (its store in the same database, as the embedded
    demo keeps it) and what a refresh then costs."""

    first_fill_seconds: float  # the whole history, as a first run does
    trailing_seconds: float  # a later run: the trailing 14 days and the minutes since
    live_snapshot_seconds: float  # InventorySource.snapshot without the store
    snapshot_seconds: float  # with the store freshly filled
    positions_seconds: float  # stock_positions with the store (the floors' positions query)
    positions_floor_seconds: float  # the raw-table floor of the same numbers (same run)
    # ExecutiveKpiSource.period_review("week") without the store and with it (same run).
    live_review_seconds: float = math.nan
    review_seconds: float = math.nan
    # A snapshot patched after REFRESH_STEP of the demo's orders (what a refresh costs), and
    # the new orders each such step brought (the demo replays last week's, so a company ten
    # times larger gets ten times the orders a minute).
    refresh_seconds: float = math.nan
    refresh_orders: float = math.nan
    # PostgreSQL: a snapshot patched after about report.EQUAL_REFRESH_ORDERS new orders
    # (however many minutes of the demo's traffic bring them), and the minutes of one step:
    # what a refresh costs for the same changes, whatever the history and SKU count.
    equal_orders_refresh_seconds: float = math.nan
    equal_orders_minutes: int = 0
    equal_orders: float = math.nan  # the new orders such a step brought (mean)

    @property
    def snapshot_share(self) -> float:
        return self.snapshot_seconds / self.live_snapshot_seconds


@dataclass
class DatabaseFigures:
    database: RunDatabase
    floors: list[FloorFigure]
    snapshot: SnapshotFigures
    demo_orders: DemoOrderFigures | None = None
    rollups: RollupFigures | None = None


@dataclass
class ScreenPhase:
    load: Load
    queries: Counter[tuple[str, str]]
    # From the phase's start until /metrics was read, after the last answer or give-up.
    span_seconds: float
    queries_read_from: str

    @property
    def intervals(self) -> float:
        return self.span_seconds / REFRESH_SECONDS

    @property
    def queries_per_interval(self) -> float:
        return sum(self.queries.values()) / self.intervals


@dataclass
class Results:
    mode: Mode
    command: str
    started: dt.datetime
    machine: Machine
    postgresql_version: str | None
    scale: str
    databases: list[DatabaseFigures] = field(default_factory=list)
    payloads: list[Payload] = field(default_factory=list)
    phases: list[ScreenPhase] = field(default_factory=list)
    soak: MemorySoak | None = None
    browser: BrowserFigure | None = None
    workers: int = 0
    elapsed_seconds: float = 0.0


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def snapshot_figures(url: str, scale: str, repeat: int) -> SnapshotFigures:
    """bench.inventory_bench's read figures, in a process of their own (its peak RSS is theirs)."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.inventory_bench", "--database-url", url, "--scale", scale,
         "--seeded", "--json", "--repeat", str(repeat)],
        cwd=REPO_ROOT, capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))},
    )  # fmt: skip
    if completed.returncode != 0:
        raise BenchUnavailable(
            f"bench.inventory_bench failed on {url}:\n{completed.stderr[-3000:]}"
        )
    return SnapshotFigures(**json.loads(completed.stdout.strip().splitlines()[-1]))


def measure_database(
    cache: SeedCache, backend: str, scale: str, mode: Mode, args: argparse.Namespace
) -> DatabaseFigures:
    _log(f"{backend} {scale}: seeded database (cached unless the seed code changed)")
    database = cache.run_copy(backend, scale, reseed=args.reseed)
    # `l` takes minutes a query: fewer repeats there.
    repeat = mode.repeat if scale != "l" else min(mode.repeat, 2)
    _log(
        f"{backend} {scale}: {database.row_counts['sales_order_lines']:,} order lines; "
        + ("seeded" if database.seeded_now else "from the cache")
        + f", caught up {database.catch_up_seconds:.1f} s"
    )
    engine = create_inventory_engine(database.url, timeout_seconds=FLOOR_TIMEOUT_SECONDS)
    try:
        as_of = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        floors = measure_floors(
            engine, InventoryPolicy(), 0.25, as_of, args.floor_layout, repeat,
            timeout_seconds=FLOOR_TIMEOUT_SECONDS,
        )  # fmt: skip
    finally:
        engine.dispose()
    for floor in floors:
        _log(
            f"  {floor.query}: invdash {floor.invdash_seconds:.3f} s, floor {floor.floor_seconds:.3f} s, ratio {floor.ratio:.2f}"
        )
    snapshot = snapshot_figures(database.url, scale, repeat)
    rollups = measure_rollups(database.url, floors, repeat)
    _log(
        f"  roll-ups: first fill {rollups.first_fill_seconds:.1f} s, trailing run "
        f"{rollups.trailing_seconds:.1f} s; snapshot {rollups.snapshot_seconds:.2f} s against "
        f"{rollups.live_snapshot_seconds:.2f} s live"
    )
    return DatabaseFigures(database, floors, snapshot, rollups=rollups)


def measure_rollups(url: str, floors: list[FloorFigure], repeat: int) -> RollupFigures:
    """Fill the copy's roll-up store, run it again, and time a snapshot with and without it,
    checking first that both give the same positions (else the figures mean nothing)."""
    engine = create_inventory_engine(url, timeout_seconds=3600)
    store = RollupStore(create_inventory_engine(url, timeout_seconds=3600))
    policy = InventoryPolicy()
    try:
        now = dt.datetime.now(dt.UTC)
        live = InventorySource(engine, policy)
        with_store = InventorySource(engine, policy, store)
        started = time.perf_counter()
        refresh_rollups(engine, store, now)
        first_fill = time.perf_counter() - started
        started = time.perf_counter()
        refresh_rollups(engine, store, now)
        trailing = time.perf_counter() - started
        as_of = now.replace(tzinfo=None)
        try:
            pd.testing.assert_frame_equal(
                with_store.stock_positions(as_of),
                live.stock_positions(as_of),
                check_exact=False,
                rtol=1e-9,
            )
        except AssertionError as error:
            message = f"positions from the roll-ups differ from the live ones: {error}"
            raise FloorMismatch(message) from None
        live_kpis = ExecutiveKpiSource(engine, policy.holding_cost_rate)
        kpis = ExecutiveKpiSource(engine, policy.holding_cost_rate, store)
        series_days = 2 * PERIOD_DAYS["week"]
        try:
            pd.testing.assert_frame_equal(
                kpis.daily_series(as_of, series_days),
                live_kpis.daily_series(as_of, series_days),
                check_exact=False,
                rtol=1e-9,
                atol=1e-6,
            )
        except AssertionError as error:
            message = f"the review from the roll-ups differs from the live one: {error}"
            raise FloorMismatch(message) from None
        live_review = min(
            _timed(lambda: live_kpis.period_review(as_of, "week")) for _ in range(repeat)
        )
        review = min(_timed(lambda: kpis.period_review(as_of, "week")) for _ in range(repeat))
        # Whole reads: a source of its own each time (a source patches its last snapshot).
        live_snapshot = min(
            _timed(lambda: InventorySource(engine, policy).snapshot(as_of)) for _ in range(repeat)
        )
        snapshot = min(
            _timed(lambda: InventorySource(engine, policy, store).snapshot(as_of))
            for _ in range(repeat)
        )
        positions = min(_timed(lambda: with_store.stock_positions(as_of)) for _ in range(repeat))
        refresh, refresh_orders = measure_refresh(
            engine, InventorySource(engine, policy, store), repeat, REFRESH_STEP
        )
        equal_refresh, equal_minutes, equal_orders = math.nan, 0, math.nan
        if engine.dialect.name == "postgresql":
            equal_minutes = minutes_for_orders(engine, report.EQUAL_REFRESH_ORDERS)
            equal_refresh, equal_orders = measure_refresh(
                engine,
                InventorySource(engine, policy, store),
                min(repeat, EQUAL_REFRESH_REPEAT),
                dt.timedelta(minutes=equal_minutes),
            )
    finally:
        engine.dispose()
        store.engine.dispose()
    floor = next(f for f in floors if f.query == "positions")
    return RollupFigures(
        first_fill,
        trailing,
        live_snapshot,
        snapshot,
        positions,
        floor.floor_seconds,
        live_review_seconds=live_review,
        review_seconds=review,
        refresh_seconds=refresh,
        refresh_orders=refresh_orders,
        equal_orders_refresh_seconds=equal_refresh,
        equal_orders_minutes=equal_minutes,
        equal_orders=equal_orders,
    )


# Each refresh of measure_refresh follows this much of the demo's order traffic.
REFRESH_STEP = dt.timedelta(minutes=report.REFRESH_MINUTES)


# Steps of the equal-orders refresh (tens of minutes of traffic each at `m`: few of them).
EQUAL_REFRESH_REPEAT = 3


def minutes_for_orders(engine: sa.Engine, orders: int) -> int:
    """Whole minutes of the demo's traffic that bring about ``orders`` new orders: it replays
    the last week's, so the rate is the last 7 days' orders a minute."""
    since = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=7)
    with engine.connect() as conn:
        count = conn.execute(
            sa.select(sa.func.count()).where(SalesOrder.ordered_at >= since)
        ).scalar_one()
    per_minute = count / (7 * 24 * 60)
    if per_minute <= 0:
        raise FloorMismatch("the copy has no orders in the last 7 days to replay")
    return max(1, round(orders / per_minute))


def measure_refresh(
    engine: sa.Engine, source: InventorySource, repeat: int, step: dt.timedelta
) -> tuple[float, float]:
    """A refresh as a serving process makes it: the demo's orders carried on by ``step``
    (orders placed, picked and shipped), then a snapshot of the same source, which patches its
    last one; the best of ``repeat``, each checked against a whole read, and the mean of the
    new orders a step brought."""
    moment = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    past_midnight = dt.datetime.combine(moment.date() + dt.timedelta(days=1), dt.time())
    if moment + repeat * step >= past_midnight:
        # A new day reads whole by design: wait for it (minutes at most) so that none comes.
        time.sleep((past_midnight - moment).total_seconds() + 1)
        moment = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    # The copy was carried on to the time the run began; the measurements since took minutes
    # (at l, tens of them). Their orders come first, else the first refresh would follow them
    # all, not REFRESH_STEP's worth, and read whole (more SKUs changed than a patch takes).
    continue_orders(engine, moment)
    source.snapshot(moment)
    best = math.inf
    orders = 0
    for _ in range(repeat):
        moment += step
        orders += continue_orders(engine, moment).orders
        patches = source.patches
        started = time.perf_counter()
        source.snapshot(moment)
        best = min(best, time.perf_counter() - started)
        if source.patches != patches + 1:
            raise FloorMismatch("a refresh read every row instead of patching its last snapshot")
        try:
            pd.testing.assert_frame_equal(
                source.snapshot(moment).positions,
                InventorySource(engine, source.policy, source.rollups).stock_positions(moment),
                check_exact=False,
                rtol=1e-9,
            )
        except AssertionError as error:
            raise FloorMismatch(f"patched positions differ from a whole read: {error}") from None
    return best, orders / repeat


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


WARM_UP_SECONDS = 2 * REFRESH_SECONDS + 1


def warm_up(server: Server, bodies: dict[str, dict[str, Any]]) -> None:
    """One screen for two refresh intervals: every source is loaded once cold and once more as
    a warm server does (behind the entries of the interval before), so that a phase measures
    warm callbacks."""
    run_screens(server.base, bodies, 1, WARM_UP_SECONDS, REFRESH_SECONDS)


def measure_screens(
    results: Results, database: RunDatabase, mode: Mode, args: argparse.Namespace, work: Path
) -> None:
    """Each number of screens, the soak and the browser on a server started for it: a server
    overloaded by one phase keeps answering requests its screens gave up on, which would
    weigh on the next; and each starts with empty caches and counters alike."""

    def server(name: str) -> Server:
        # The roll-ups measure_rollups filled, in the copy itself (as the embedded demo).
        store = {"INVDASH_ROLLUP_DATABASE_URL": database.url}
        return start_invdash(database.url, work / f"invdash-serve-{name}.log", store)

    first = server("payloads")
    try:
        results.workers = len(first.processes()) - 1
        bodies = callback_bodies(first.base)
        results.payloads = sample_payloads(first.base, bodies)
    finally:
        first.stop()
    for count in args.screens:
        running = server(f"{count}-screens")
        try:
            _log(f"{count} screens for {mode.phase_seconds:.0f} s")
            warm_up(running, bodies)
            before, _ = source_queries(running)
            started = time.monotonic()
            load = run_screens(running.base, bodies, count, mode.phase_seconds, REFRESH_SECONDS)
            after, read_from = source_queries(running)
            phase = ScreenPhase(load, after - before, time.monotonic() - started, read_from)
        finally:
            running.stop()
        results.phases.append(phase)
        _log(
            f"  {len(load.requests)} requests, {load.errors()} errors, {load.skipped_ticks} ticks skipped, {phase.queries_per_interval:.1f} source queries per interval"
        )
    running = server("soak")
    try:
        _log(f"soak: 10 screens for {mode.soak_seconds:.0f} s")
        results.soak = soak(
            running, bodies, 10, mode.soak_seconds, mode.soak_warm_seconds, REFRESH_SECONDS
        )
        _log(
            f"  RSS growth after the first {mode.soak_warm_seconds:.0f} s: {results.soak.growth:+.1%}"
            f" (per process: {results.soak.lifetime_growth:+.1%})"
        )
    finally:
        running.stop()
    running = server("browser")
    try:
        _log("browser: /ops against the 404 page")
        results.browser = render_times(running.base, mode.browser_repeat)
        _log(
            f"  /ops {results.browser.ops_median_ms:.0f} ms, 404 page {results.browser.trivial_median_ms:.0f} ms"
        )
    finally:
        running.stop()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    kind = parser.add_mutually_exclusive_group(required=True)
    kind.add_argument("--full", action="store_const", dest="mode", const="full")
    kind.add_argument("--short", action="store_const", dest="mode", const="short")
    parser.add_argument(
        "--scale",
        default="m",
        help="scale of the SQLite and PostgreSQL runs and of the screens (default m)",
    )
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="comma list (default sqlite,postgresql)"
    )
    parser.add_argument(
        "--screens", default="1,10,50,100", type=lambda text: [int(n) for n in text.split(",")]
    )
    parser.add_argument("--phase-seconds", type=float, help="seconds of each number of screens")
    parser.add_argument("--soak-seconds", type=float)
    parser.add_argument("--soak-warm-seconds", type=float, help="growth is measured after this")
    parser.add_argument(
        "--floor-layout", default="raw", help="bench/floor_sql/<layout> (default raw)"
    )
    parser.add_argument(
        "--reseed", action="store_true", help="seed anew even when a cached database fits"
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(os.environ.get("INVDASH_BENCH_CACHE", REPO_ROOT / ".bench-cache")),
    )
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "docs" / "benchmarks.md")
    return parser.parse_args(argv)


def rewrite_report(saved: Path, output: Path) -> int:
    """docs/benchmarks.md again from a run's saved results (``--report-from``), no measuring."""
    results = pickle.loads(saved.read_bytes())  # noqa: S301 - the run's own file
    output.write_text(report.markdown(results))
    return 0


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["--report-from"]:
        output = Path(argv[2]) if len(argv) > 2 else REPO_ROOT / "docs" / "benchmarks.md"
        return rewrite_report(Path(argv[1]), output)
    args = parse_args(argv)
    mode = MODES[args.mode]
    overrides = {
        "phase_seconds": args.phase_seconds,
        "soak_seconds": args.soak_seconds,
        "soak_warm_seconds": args.soak_warm_seconds,
    }
    mode = dataclasses.replace(mode, **{k: v for k, v in overrides.items() if v is not None})
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - {"sqlite", "postgresql"}
    if unknown or "sqlite" not in backends:
        print(
            f"bench: backends are sqlite (needed: the screens run on it) and postgresql, got {args.backends}",
            file=sys.stderr,
        )
        return 2
    make_target = "bench" if mode.name == "full" else "bench-short"
    extra = argv[1:]
    command = f"make {make_target}" + (f' BENCH_ARGS="{shlex.join(extra)}"' if extra else "")
    started_clock = time.monotonic()
    postgresql: PostgreSQLServer | None = None
    cache: SeedCache | None = None
    copies: list[RunDatabase] = []
    try:
        needs_postgresql = "postgresql" in backends or mode.large_scale
        if needs_postgresql:
            postgresql = start_server(args.cache_dir / "postgresql")
        results = Results(
            mode=mode,
            command=command,
            started=dt.datetime.now(dt.UTC),
            machine=this_machine(),
            postgresql_version=postgresql.version() if postgresql else None,
            scale=args.scale,
        )
        cache = SeedCache(args.cache_dir, postgresql)
        runs = [(backend, args.scale) for backend in backends]
        if mode.large_scale:
            runs.append(("postgresql", "l"))
        for backend, scale in runs:
            figures = measure_database(cache, backend, scale, mode, args)
            copies.append(figures.database)
            results.databases.append(figures)
        with tempfile.TemporaryDirectory(prefix="invdash-bench-") as work:
            sqlite_run = next(
                f.database for f in results.databases if f.database.backend == "sqlite"
            )
            measure_screens(results, sqlite_run, mode, args, Path(work))
        # Last: it writes the next hour's orders into each copy.
        for figures in results.databases:
            _log(f"{figures.database.backend} {figures.database.scale}: demo orders carried on")
            figures.demo_orders = measure_demo_orders(figures.database.url)
        results.elapsed_seconds = time.monotonic() - started_clock
        # The run's raw results, so that the report can be written again from them.
        saved = args.cache_dir / "last-run.pickle"
        saved.write_bytes(pickle.dumps(results))
        args.output.write_text(report.markdown(results))
        _log(f"wrote {args.output} ({results.elapsed_seconds / 60:.1f} min)")
        return 0
    except (BenchUnavailable, FloorMismatch) as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    finally:
        if cache is not None:
            for database in copies:
                cache.drop(database)
            cache.close()
        if postgresql is not None:
            postgresql.stop()


if __name__ == "__main__":
    raise SystemExit(main())
