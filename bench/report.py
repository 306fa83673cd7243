"""docs/benchmarks.md from one run's results: every figure in it was measured in that run."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from bench.screens import CALLBACKS, TRIVIAL, percentiles

# Minutes of the demo's orders between the snapshots a refresh figure patches (bench/run.py).
REFRESH_MINUTES = 2
# New orders before the equal-orders refresh: about what REFRESH_MINUTES bring at `l`.
EQUAL_REFRESH_ORDERS = 100

if TYPE_CHECKING:
    from bench.run import DatabaseFigures, Results, RollupFigures

FLOOR_TARGET = 1.3
QUERIES_TARGET = 1.0
# Requests of the phase's first and last interval fall on either side of its edges.
QUERIES_ALLOWANCE = 0.05
CALLBACK_TARGET = 2.0
CALLBACK_SCREENS = 50
MEMORY_TARGET = 0.05
BROWSER_TARGET = 3.0
MIB = 1024 * 1024


def _verdict(value: float, target: float) -> str:
    if math.isnan(value):
        return "not measured"
    return "met" if value <= target else "**not met**"


def _ms(seconds: float) -> str:
    if math.isinf(seconds):
        return "> 60 s"
    return (
        "n/a"
        if math.isnan(seconds)
        else f"{seconds * 1000:,.0f} ms"
        if seconds >= 0.01
        else f"{seconds * 1000:,.1f} ms"
    )


def _seconds(seconds: float) -> str:
    return f"{seconds:,.2f} s" if seconds < 100 else f"{seconds:,.0f} s"


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def _label(figures: DatabaseFigures) -> str:
    return f"{figures.database.backend} `{figures.database.scale}`"


def _table_head(header: str) -> list[str]:
    """A Markdown table's header row ("| a | b |") and the rule under it."""
    return [header, "|" + "---|" * (header.count("|") - 1)]


def _section(title: str, prose: list[str], header: str) -> list[str]:
    """A section's heading, its prose (if any) and the head of its table."""
    lines = [f"## {title}", ""]
    if prose:
        lines += [*prose, ""]
    return lines + _table_head(header)


def _header(results: Results) -> list[str]:
    machine = results.machine
    return [
        "# Benchmarks",
        "",
        "Written by `make bench` (full) or `make bench-short` (quick) from one run, never by hand;",
        "never part of the test suite's pass/fail. These machines are noisy and shared, so every",
        "figure is read against a floor measured in the same run, and only those ratios are held",
        "against targets. Code: `bench/` (`bench/run.py` runs it all; the floor SQL is in",
        "`bench/floor_sql/`).",
        "",
        *_table_head("| run | |"),
        f"| command | `{results.command}` ({results.mode.name} run) |",
        f"| date | {results.started:%Y-%m-%d %H:%M} UTC, {results.elapsed_seconds / 60:.1f} min |",
        f"| machine | {machine.cores} cores (nproc), {machine.memory_gib:.1f} GiB memory, {machine.cpu_model} |",
        f"| system | {machine.system}, Python {machine.python}, SQLite {machine.sqlite}"
        + (f", {results.postgresql_version}" if results.postgresql_version else "")
        + " |",
        "",
    ]


def _targets(results: Results) -> list[str]:
    lines = _section("Against the targets", [], "| figure | target | measured | |")
    for figures in results.databases:
        if figures.database.scale != results.scale:
            continue
        for floor in figures.floors:
            lines.append(
                f"| {_label(figures)}: {floor.query}, invdash / floor SQL | ≤ {FLOOR_TARGET} | "
                + (
                    f"{floor.ratio:.2f} | {_verdict(floor.ratio, FLOOR_TARGET)} |"
                    if floor.timed_out_after is None
                    else f"past the {floor.timed_out_after:.0f} s statement timeout | "
                    "**not met** (no ratio: nothing finished) |"
                )
            )
    by_count = {phase.load.screens: phase for phase in results.phases}
    if 1 in by_count and 100 in by_count and by_count[1].queries_per_interval > 0:
        ratio = by_count[100].queries_per_interval / by_count[1].queries_per_interval
        lines.append(
            f"| source queries per interval, 100 screens / 1 screen | {QUERIES_TARGET:.1f} | "
            f"{ratio:.2f} | {_verdict(ratio, QUERIES_TARGET + QUERIES_ALLOWANCE)} |"
        )
    if CALLBACK_SCREENS in by_count:
        load = by_count[CALLBACK_SCREENS].load
        trivial = percentiles(load.latencies(TRIVIAL))[1]
        for name in CALLBACKS:
            if name == TRIVIAL:
                continue
            p95 = percentiles(load.latencies(name))[1]
            errors = load.errors(name)
            unanswered = f" ({errors} of {len(load.latencies(name))} unanswered)" if errors else ""
            if math.isinf(p95) or math.isinf(trivial):
                # More than 5% unanswered: a p95 beyond the 60 s the screens waited.
                measured = f"p95 {_ms(p95)}, trivial p95 {_ms(trivial)}{unanswered}"
                verdict = "**not met** (no ratio: the server did not keep up)"
            else:
                ratio = p95 / trivial
                measured, verdict = f"{ratio:.1f}{unanswered}", _verdict(ratio, CALLBACK_TARGET)
            lines.append(
                f"| p95 of {name} / p95 of the trivial callback, {CALLBACK_SCREENS} screens | "
                f"≤ {CALLBACK_TARGET:.0f} | {measured} | {verdict} |"
            )
    rolled = {
        (f.database.backend, f.database.scale): f.rollups
        for f in results.databases
        if f.rollups is not None
    }
    for figures in results.databases:
        r = figures.rollups
        if r is None or figures.database.scale != results.scale:
            continue
        ratio = r.positions_seconds / r.positions_floor_seconds
        lines.append(
            f"| {_label(figures)}: positions from fresh roll-ups / raw-table floor SQL | "
            f"≤ {FLOOR_TARGET} | {ratio:.2f} | {_verdict(ratio, FLOOR_TARGET)} |"
        )
    large, main = rolled.get(("postgresql", "l")), rolled.get(("postgresql", results.scale))
    if large is not None and main is not None:
        if not math.isnan(large.refresh_seconds) and not math.isnan(main.refresh_seconds):
            ratio = large.refresh_seconds / main.refresh_seconds
            lines.append(
                f"| PostgreSQL: refresh (snapshot patched after {REFRESH_MINUTES} min of orders) "
                f"with roll-ups at `l` / at `{results.scale}` | ≤ 1.5 | "
                f"{ratio:.2f} | {_verdict(ratio, 1.5)} |"
            )
        if not (
            math.isnan(large.equal_orders_refresh_seconds)
            or math.isnan(main.equal_orders_refresh_seconds)
        ):
            ratio = large.equal_orders_refresh_seconds / main.equal_orders_refresh_seconds
            lines.append(
                f"| PostgreSQL: refresh after about {EQUAL_REFRESH_ORDERS} new orders "
                f"({large.equal_orders_minutes} min of traffic at `l`, "
                f"{main.equal_orders_minutes} min at `{results.scale}`) with roll-ups at `l` / "
                f"at `{results.scale}`: the same changes on ten times the history | ≤ 1.5 | "
                f"{ratio:.2f} | {_verdict(ratio, 1.5)} |"
            )
        ratio = large.snapshot_seconds / main.snapshot_seconds
        lines.append(
            f"| PostgreSQL: whole snapshot with roll-ups at `l` / at `{results.scale}` "
            f"(a process's first, and one every 10 min) | — | {ratio:.2f} | — |"
        )
        if not math.isnan(large.review_seconds) and not math.isnan(main.review_seconds):
            ratio = large.review_seconds / main.review_seconds
            lines.append(
                f"| PostgreSQL: week review with roll-ups at `l` / at `{results.scale}` | ≤ 1.5 | "
                f"{ratio:.2f} | {_verdict(ratio, 1.5)} |"
            )
    if results.soak is not None:
        growth = results.soak.lifetime_growth
        lines.append(
            f"| RSS growth of the gunicorn processes, each after its own first "
            f"{_duration(results.soak.warm_seconds)}, over a {_duration(results.soak.seconds)} soak "
            f"| ≤ {MEMORY_TARGET:.0%} | {growth:+.1%} | {_verdict(growth, MEMORY_TARGET)} |"
        )
    if results.browser is not None:
        ratio = results.browser.ratio
        lines.append(
            f"| /ops fully rendered / 404 page rendered, headless Chromium | ≤ {BROWSER_TARGET:.0f} | "
            f"{ratio:.2f} | {_verdict(ratio, BROWSER_TARGET)} |"
        )
    lines.append("")
    if any(f.database.scale != results.scale for f in results.databases):
        lines += [
            f"The query floor targets are for the run's main scale (`{results.scale}`); the `l`",
            "rows further down have none.",
            "",
        ]
    return lines


def _data(results: Results) -> list[str]:
    lines = _section(
        "Data",
        [
            "Seeded databases are cached between runs (keyed by backend, scale, random seed and a hash",
            "of `demo/seed.py` and `queries/schema.py`) and never written to: each run reads its own",
            "copy, brought up to now with the demo's own orders (`continue_orders`), so the last hour",
            "has orders in it as on a served demo. A cache seeded more than 23 hours earlier is seeded",
            "anew. A seed time appears only when this run seeded.",
        ],
        "| database | order lines | stock movements | SKU x warehouse | seeded in this run | copy | caught up to now |",
    )
    for figures in results.databases:
        db = figures.database
        seeded = (
            _seconds(db.seed_seconds)
            if db.seed_seconds is not None
            else f"no (cached, history to {db.seeded_at:%Y-%m-%d %H:%M} UTC)"
        )
        lines.append(
            f"| {_label(figures)} | {db.row_counts['sales_order_lines']:,} | {db.row_counts['stock_movements']:,} | "
            f"{db.row_counts['stock_levels']:,} | {seeded} | {_seconds(db.copy_seconds)} | "
            f"{_seconds(db.catch_up_seconds)} ({db.catch_up.orders:,} orders) |"
        )
    lines.append("")
    return lines


def _floors(results: Results) -> list[str]:
    lines = _section(
        "Query floor",
        [
            "invdash's public source methods, cold (no cache), against the best hand-written SQL for",
            "the same numbers (`bench/floor_sql/raw/`), on the same database, alternately; the",
            "fastest of the run's repeats of each (other work on a shared machine only adds time).",
            "Before timing, the floor's rows are checked against invdash's (every sum, count and date",
            "the database computes, relative tolerance 1e-9): a floor that returned other numbers",
            "would stop the run. invdash's time includes what it does on top (SQLAlchemy, pandas, the",
            "per-row stockout and EOQ mathematics); `period_review` is checked through `daily_series`.",
        ],
        "| database | query | rows | invdash | floor SQL | invdash / floor |",
    )
    for figures in results.databases:
        for floor in figures.floors:
            lines.append(
                f"| {_label(figures)} | {floor.query} | {floor.rows:,} | {_ms(floor.invdash_seconds)} | "
                f"{_ms(floor.floor_seconds)} | {floor.ratio:.2f} |"
                if floor.timed_out_after is None
                else f"| {_label(figures)} | {floor.query} | | > {floor.timed_out_after:.0f} s "
                "(statement timeout) | not measured | |"
            )
    lines += [
        "",
        "The snapshot, the page view and the cache (`bench/inventory_bench.py`, in a process of",
        "its own so that its peak RSS is the snapshot's):",
        "",
        *_table_head(
            "| database | snapshot (3 queries) | page view from snapshot | cached refresh / snapshot | peak RSS |"
        ),
    ]
    for figures in results.databases:
        s = figures.snapshot
        lines.append(
            f"| {_label(figures)} | {_seconds(s.snapshot_seconds)} | {_seconds(s.view_seconds)} "
            f"({s.view_share:.2f} x snapshot) | 1/{1 / s.cached_share:,.0f} | {s.peak_rss_mib:,.0f} MiB |"
        )
    lines.append("")
    return lines


def _count(value: float) -> str:
    return "" if math.isnan(value) else f"{value:,.0f}"


def _equal_refresh(r: RollupFigures) -> str:
    if math.isnan(r.equal_orders_refresh_seconds):
        return ""
    return (
        f"{_seconds(r.equal_orders_refresh_seconds)} ({r.equal_orders_minutes} min, "
        f"{_count(r.equal_orders)} orders)"
    )


def _rollups(results: Results) -> list[str]:
    lines = _section(
        "Roll-ups",
        [
            "`invdash rollup` on each copy, its store in the same database (as the embedded demo",
            "keeps it): a first run fills the whole history, a later one recomputes the trailing",
            "14 days and the minutes since. Then a snapshot reads the demand window's sums per SKU x",
            "warehouse from the store and only today's movements from the inventory tables; before",
            "timing, its positions are checked against the live ones (relative tolerance 1e-9).",
            "The week review (/exec) reads its days' totals and stock-outs from the store and only",
            "today's stock and movements live; its daily series is checked against the live one too.",
            "",
            f"A refresh is a snapshot of the same source after {REFRESH_MINUTES} min of the demo's",
            "orders: it patches the last snapshot with the SKUs that changed (checked against a",
            "whole read). The demo replays last week's orders, so a larger company has more orders",
            "a minute: the new orders column says how many each refresh followed. On PostgreSQL a",
            f"refresh is also timed after about {EQUAL_REFRESH_ORDERS} new orders, however many",
            "minutes of the last week's mean rate bring them (the orders it followed in brackets):",
            "the same changes, on each scale's history and SKUs.",
        ],
        "| database | first fill | trailing run | snapshot, live | snapshot, roll-ups | roll-ups / live | positions, roll-ups / raw floor | refresh, roll-ups | new orders a refresh | refresh after equal orders | week review, live | week review, roll-ups |",
    )
    for figures in results.databases:
        r = figures.rollups
        if r is None:
            continue
        lines.append(
            f"| {_label(figures)} | {_seconds(r.first_fill_seconds)} | {_seconds(r.trailing_seconds)} | "
            f"{_seconds(r.live_snapshot_seconds)} | {_seconds(r.snapshot_seconds)} | "
            f"{r.snapshot_share:.2f} | {r.positions_seconds / r.positions_floor_seconds:.2f} | "
            f"{_seconds(r.refresh_seconds)} | {_count(r.refresh_orders)} | "
            f"{_equal_refresh(r)} | "
            f"{_seconds(r.live_review_seconds)} | {_seconds(r.review_seconds)} |"
        )
    lines.append("")
    return lines


def _screens(results: Results) -> list[str]:
    if not results.phases:
        return []
    database = next(f for f in results.databases if f.database.backend == "sqlite")
    lines = _section(
        "Wall screens",
        [
            f"`invdash serve` (gunicorn, its default {results.workers} workers x 4 threads, no Redis, "
            f"refresh every 10 s, demo telemetry) on the {_label(database)} copy; a load generator",
            "(httpx, asyncio, `bench/screens.py`) on 127.0.0.1 in the same machine acts as N screens.",
            "Each screen, every 10 s from a random start, posts every refresh callback of /ops, /, /exec,",
            "/sre and /cluster, the alert strip, the HPA panel and the status strip (the callbacks",
            "below), built from the app's /_dash-dependencies, with its own cookie, a connection per",
            "callback; like the page's gate, it skips a tick while its previous",
            "one is unanswered. Each tick also posts the trivial callback: the /exec CSV export button's",
            "(`exec-abc-grid.exportDataAsCsv`, returns True, no source): the cheapest server-side",
            "callback the app has, so no hook was added. Latencies of answered requests (200); errors",
            "are any other status or no answer within 60 s. Each number of screens runs on a server",
            "started for it (an overloaded server would still be answering the last phase's requests)",
            "and warmed first by one screen for two refresh intervals, not counted: the figures are of",
            "warm callbacks (a cold one waits for its source queries: the query floor's figures).",
            "Source queries per interval: the server's /metrics read after the last answer, less its",
            "reading at the phase's start, over the refresh intervals between the two readings.",
        ],
        "| screens | seconds of ticks | until the last answer | ticks (skipped) | requests | errors | source queries / interval |",
    )
    for phase in results.phases:
        load = phase.load
        lines.append(
            f"| {load.screens} | {load.seconds:.0f} s | {phase.span_seconds:.0f} s | {load.ticks:,} ({load.skipped_ticks:,}) | "
            f"{len(load.requests):,} | {load.errors():,} | {phase.queries_per_interval:.1f} |"
        )
    lines += [
        "",
        "p50 / p95 / p99 per callback (a request without an answer counts as slower than any, so",
        'a percentile past the share answered reads "> 60 s"):',
        "",
    ]
    screens = " | ".join(f"{p.load.screens} screens" for p in results.phases)
    lines += _table_head(f"| callback | {screens} |")
    for name in CALLBACKS:
        cells = []
        for phase in results.phases:
            p50, p95, p99 = percentiles(phase.load.latencies(name))
            errors = phase.load.errors(name)
            cells.append(
                f"{_ms(p50)} / {_ms(p95)} / {_ms(p99)}" + (f" ({errors} errors)" if errors else "")
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    queries = sorted({key for phase in results.phases for key in phase.queries})
    lines += [
        "",
        "Source queries per refresh interval, from /metrics (`invdash_source_queries_total`):",
        "",
    ]
    lines += _table_head(f"| source: query | {screens} |")
    for key in queries:
        cells = [f"{phase.queries[key] / phase.intervals:.2f}" for phase in results.phases]
        lines.append(f"| {key[0]}: {key[1]} | " + " | ".join(cells) + " |")
    fallbacks = [str(p.load.screens) for p in results.phases if p.queries_read_from != "/metrics"]
    if fallbacks:
        lines += [
            "",
            f"With {', '.join(fallbacks)} screens the server did not answer /metrics within 60 s of the",
            "last answer (behind the requests queued before it): read from the metric files behind",
            "/metrics instead (prometheus-client's multiprocess collector, as /metrics adds them up).",
        ]
    failures = sum(
        (phase.load.failures for phase in results.phases),
        start=type(results.phases[0].load.failures)(),
    )
    if failures:
        lines += [
            "",
            "Requests without an answer: "
            + ", ".join(f"{k} x {v}" for k, v in failures.most_common()),
        ]
    lines.append("")
    return lines


def _payloads(results: Results) -> list[str]:
    if not results.payloads:
        return []
    lines = _section(
        "Payload",
        [
            "One response of each callback, before the load (bytes of the JSON body; points per trace",
            "is the longest data array of each trace of each figure; grid rows are AG Grid rowData).",
        ],
        "| callback | bytes | figure traces | points per trace | grid rows |",
    )
    for p in results.payloads:
        points = ", ".join(f"{n:,}" for n in p.points_per_trace) if p.points_per_trace else "-"
        lines.append(
            f"| {p.callback} | {p.size_bytes:,} | {p.traces} | {points} | {p.grid_rows:,} |"
        )
    lines.append("")
    return lines


def _memory(results: Results) -> list[str]:
    soak = results.soak
    if soak is None:
        return []
    errors = soak.load.errors() if soak.load else 0
    requests = len(soak.load.requests) if soak.load else 0
    return [
        *_section(
            "Memory",
            [
                "RSS of every gunicorn process (master and workers, VmRSS from /proc, every 5 s) while 10",
                f"screens refresh for {_duration(soak.seconds)} ({requests:,} requests, {errors} errors), on a",
                "server started for it.",
                "Growth of the total: the mean total of the last 30 s against that of the 30 s after",
                f"the first {_duration(soak.warm_seconds)}. Workers are recycled after 5,000 +/- 500",
                "requests (gunicorn_conf), which a long soak reaches: a recycled worker's",
                "replacement starts small and grows to its working size, which the total counts as",
                "growth. Growth per process (the target): each process from the 30 s after its own",
                f"first {_duration(soak.warm_seconds)} (a replacement's counted from its start) to its",
                "last 30 s, summed over the processes that lived that long.",
            ],
            "| total after warm-up | total at the end | growth of the total | growth per process "
            "| processes counted / seen | peak total |",
        ),
        f"| {soak.warm_bytes / MIB:,.0f} MiB | {soak.end_bytes / MIB:,.0f} MiB | {soak.growth:+.1%} | "
        f"{soak.lifetime_growth:+.1%} | {len(soak.lifetimes())} / {soak.processes_seen} | "
        f"{soak.peak_bytes / MIB:,.0f} MiB |",
        "",
    ]


def _browser(results: Results) -> list[str]:
    browser = results.browser
    if browser is None:
        return []
    ops = ", ".join(f"{ms:,.0f}" for ms in browser.ops_ms)
    trivial = ", ".join(f"{ms:,.0f}" for ms in browser.trivial_ms)
    return [
        *_section(
            "Browser",
            [
                "Headless Chromium (Debian's chromium and chromedriver, `bench/browser.py`) on the idle",
                "server after the soak: milliseconds from navigation start until every panel of /ops has",
                "rendered (five tiles with numbers, the risk list, a drawn trace in the orders chart, pod",
                "tiles, the status strip), against the app's 404 page (`/bench-no-such-page`: the shell",
                "and one callback, the router's, whose note names the unknown page). One unmeasured load",
                "of each first, then alternately; medians.",
            ],
            "| page | median | runs (ms) |",
        ),
        f"| /ops, every panel | {browser.ops_median_ms:,.0f} ms | {ops} |",
        f"| 404 page | {browser.trivial_median_ms:,.0f} ms | {trivial} |",
        "",
    ]


def _demo_orders(results: Results) -> list[str]:
    lines = _section(
        "The demo carrying on",
        [
            "Last in the run, on each copy (`demo.orders.continue_orders`, what `invdash serve`",
            "runs once a minute for the embedded demo): an hour's catch-up, then one minute's round.",
        ],
        "| database | an hour caught up | against the snapshot | a minute's round | share of the minute |",
    )
    for figures in results.databases:
        demo = figures.demo_orders
        if demo is None:
            continue
        lines.append(
            f"| {_label(figures)} | {_seconds(demo.hour_seconds)} ({demo.hour_orders:,} orders, "
            f"{demo.hour_picked_lines:,} lines picked) | {demo.hour_seconds / figures.snapshot.snapshot_seconds:.2f} x | "
            f"{_seconds(demo.minute_seconds)} | {demo.minute_share:.3f} |"
        )
    lines.append("")
    return lines


# The reading of the figures that are not met, written by hand and kept between runs: appended
# to every report, so a rerun keeps the explanation next to its figures.
GAPS = Path(__file__).resolve().parents[1] / "docs" / "benchmark-gaps.md"


def _gaps() -> list[str]:
    if not GAPS.is_file():
        return []
    return ["", *GAPS.read_text().rstrip().splitlines(), ""]


def markdown(results: Results) -> str:
    parts = (
        _header(results)
        + _targets(results)
        + _data(results)
        + _floors(results)
        + _rollups(results)
        + _screens(results)
        + _payloads(results)
        + _memory(results)
        + _browser(results)
        + _demo_orders(results)
        + _gaps()
    )
    return "\n".join(parts).rstrip() + "\n"
