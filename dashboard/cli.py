"""The ``invdash`` command: serve the dashboard, seed demo data, check the sources."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from dashboard.access import hash_password
from dashboard.app import create_app
from dashboard.demo import (
    SCALES,
    AfterRound,
    demo_orders_command,
    seed_command,
    seed_default_database,
    start_thread,
)
from dashboard.rollup_runner import (
    ROLLUP_TIMEOUT_SECONDS,
    RollupNotConfiguredError,
    configured_store,
    keep_rolling_up,
    rollup_once,
    try_rollup,
)
from dashboard.settings import (
    ServerSettings,
    Settings,
    SettingsError,
    describe_validation_error,
    load_settings,
)
from dashboard.sources import ConfigurationError, rollup_store
from dashboard.startup import (
    StartupError,
    check_access,
    check_database_schema,
    configured_sources,
)
from queries.database import create_inventory_engine
from queries.health import describe_failure


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="invdash", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the dashboard (gunicorn, gthread workers)")
    serve.add_argument(
        "--host", help=f"address to listen on (default: INVDASH_HOST or {LOCAL_HOST})"
    )
    serve.add_argument(
        "--port", type=int, help=f"TCP port (default: INVDASH_PORT or {DEFAULT_PORT})"
    )
    serve.add_argument(
        "--workers", type=int, help="gunicorn worker processes (default: INVDASH_WORKERS or 2)"
    )
    serve.add_argument(
        "--threads", type=int, help="threads per worker (default: INVDASH_THREADS or 4)"
    )
    serve.add_argument("--dev", action="store_true", help="Dash's development server instead")

    seed = commands.add_parser(
        "seed", help="create the schema and demo data at INVDASH_DATABASE_URL"
    )
    seed.add_argument("--scale", choices=sorted(SCALES), default="demo")
    seed.add_argument("--seed", type=int, default=7, help="random seed (same seed, same data)")
    seed.add_argument(
        "--force", action="store_true", help="replace the data of a non-empty database"
    )

    commands.add_parser("check", help="probe every configured source; exit 1 if any is down")

    rollup = commands.add_parser(
        "rollup",
        help="bring the roll-up store (INVDASH_ROLLUP_DATABASE_URL) up to date",
    )
    rollup.add_argument("--once", action="store_true", help="one run, then exit (a CronJob)")
    rollup.add_argument(
        "--every", type=float, default=60.0, help="seconds between runs (default 60)"
    )

    passwd = commands.add_parser(
        "passwd",
        help="print a users file line (INVDASH_AUTH=basic) for USER; the password from stdin",
    )
    passwd.add_argument("user")

    demo = commands.add_parser(
        "demo-orders",
        help="keep the demo's orders coming, once a minute (what `serve` runs for the demo)",
    )
    demo.add_argument("--once", action="store_true", help="bring them up to now once and exit")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "passwd":
        return passwd(args.user)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"invdash: {error}", file=sys.stderr)
        return 2
    if args.command == "seed":
        return seed_command(settings, args.scale, args.seed, args.force)
    if args.command == "check":
        return check(settings)
    if args.command == "demo-orders":
        return demo_orders_command(settings, demo_rollups(settings), args.once)
    if args.command == "rollup":
        return rollup(settings, args.once, args.every)
    try:
        host, port = listen_address(args.host, args.port)
    except ValidationError as error:
        print(f"invdash: {describe_validation_error(error, ServerSettings)}", file=sys.stderr)
        return 2
    return serve(settings, host, port, args.workers, args.threads, args.dev)


# On a laptop invdash listens on loopback unless told otherwise; the image's configuration
# (ServerSettings, read by gunicorn) listens on every interface, the Service limiting who comes.
LOCAL_HOST = "127.0.0.1"
DEFAULT_PORT = 8050


def listen_address(host: str | None, port: int | None) -> tuple[str, int]:
    """Where ``invdash serve`` listens: the flags, else INVDASH_HOST and INVDASH_PORT when set,
    else LOCAL_HOST:DEFAULT_PORT. A bad INVDASH_HOST or INVDASH_PORT raises ValidationError."""
    server = ServerSettings()
    if host is None:
        host = server.host if "host" in server.model_fields_set else LOCAL_HOST
    if port is None:
        port = server.port if "port" in server.model_fields_set else DEFAULT_PORT
    return host, port


def demo_rollups(settings: Settings) -> AfterRound | None:
    """A round of the roll-ups after each round of demo orders, when a store is configured."""
    store = rollup_store(settings)
    if store is None:
        return None
    return lambda engine: try_rollup(settings, engine, store)


def passwd(user: str) -> int:
    """``user:hash`` for a users file: asked twice on a terminal, else the first line of stdin."""
    if not user or ":" in user or any(c.isspace() for c in user):
        print("invdash passwd: a user name has no colon and no spaces", file=sys.stderr)
        return 2
    if sys.stdin.isatty():
        password = getpass.getpass(f"password for {user}: ")
        if getpass.getpass("again: ") != password:
            print("invdash passwd: the two passwords differ", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        print("invdash passwd: a password has at least 8 characters", file=sys.stderr)
        return 1
    if len(password.encode()) > 72:
        print("invdash passwd: bcrypt reads 72 bytes of a password at most", file=sys.stderr)
        return 1
    print(f"{user}:{hash_password(password)}")
    return 0


def check(settings: Settings) -> int:
    """One line per source: 'ok' or 'error' and why. Exit status 1 when any source is down."""
    try:
        check_access(settings)
        sources = configured_sources(settings)
    except StartupError as error:
        print(f"invdash: {error}", file=sys.stderr)
        return 2
    failures = 0
    for source in sources.all:
        health = source.check_health()
        failures += not health.ok
        print(f"{health.status:<5} {source.name}: {health.message}")
    return 1 if failures else 0


def rollup(settings: Settings, once: bool, every_seconds: float) -> int:
    """Write the roll-ups once (exit 1 when the run failed) or every ``every_seconds``."""
    if every_seconds <= 0:
        print("invdash rollup: --every must be above 0 seconds", file=sys.stderr)
        return 2
    try:
        store = configured_store(settings)
    except (RollupNotConfiguredError, ConfigurationError) as error:
        print(f"invdash rollup: {error}", file=sys.stderr)
        return 2
    if not once:
        store.engine.dispose()
        logging.basicConfig(
            level=logging.INFO, format="[%(asctime)s] [rollup] %(message)s", stream=sys.stderr
        )
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            keep_rolling_up(settings, stop, every_seconds)
        return 0
    inventory = create_inventory_engine(settings.database_url, ROLLUP_TIMEOUT_SECONDS)
    try:
        report = rollup_once(settings, inventory, store)
    except SQLAlchemyError as error:
        print(f"invdash rollup: {describe_failure(error)}", file=sys.stderr)
        return 1
    finally:
        inventory.dispose()
        store.engine.dispose()
    print(f"invdash rollup: {report}")
    return 0


def serve(
    settings: Settings, host: str, port: int, workers: int | None, threads: int | None, dev: bool
) -> int:
    try:
        seed_default_database(settings)
        check_access(settings)
        check_database_schema(settings)
        sources = configured_sources(settings)
    except StartupError as error:
        print(f"invdash: {error}", file=sys.stderr)
        return 2
    metrics_port = settings.metrics_port
    if metrics_port is not None and (dev or metrics_port == port):
        problem = (
            "needs gunicorn, which --dev replaces: leave it unset with --dev"
            if dev
            else "is the dashboard's own port (--port): give /metrics a port of its own"
        )
        print(f"invdash: INVDASH_METRICS_PORT={metrics_port} {problem}", file=sys.stderr)
        return 2
    if dev:
        if settings.carries_demo_orders_on:
            start_thread(settings, demo_rollups(settings))
        create_app(settings, sources).run(host=host, port=port, debug=False)
        return 0
    # The image's configuration module; flags given here override what it reads from INVDASH_*.
    argv = [
        sys.executable, "-m", "gunicorn",
        "--config", "python:dashboard.gunicorn_conf",
        "--bind", f"{host}:{port}",
    ]  # fmt: skip
    if metrics_port is not None:
        # --bind replaces the configuration's binds: both are given here.
        argv += ["--bind", f"{host}:{metrics_port}"]
    if workers is not None:
        argv += ["--workers", str(workers)]
    if threads is not None:
        argv += ["--threads", str(threads)]
    argv.append("dashboard.wsgi:server")
    # glibc gives threads that allocate malloc arenas of their own (up to 8 per core), and a
    # gthread worker's request and background-load threads come and go: the memory they free
    # stays spread over the arenas. Two, unless the environment says otherwise (as the image).
    env = {**os.environ}
    env.setdefault("MALLOC_ARENA_MAX", "2")
    # gunicorn replaces this process, so signals and exit codes reach it directly.
    os.execve(sys.executable, argv, env)  # noqa: S606


if __name__ == "__main__":
    raise SystemExit(main())
