"""Seeded databases for the benchmark, kept between runs, and the run's own copy of one.

Seeding ``m`` takes about half a minute and ``l`` about five on PostgreSQL, so a seeded database
is cached, keyed by backend, scale, random seed and a hash of the code that decides its rows
(``demo/seed.py``, ``queries/schema.py``): a change to either seeds anew. A cached database is
never written to: each run works on a copy (a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE``
on PostgreSQL), dropped at the end. The copy is brought up to now with the demo's own orders
(``demo.orders.continue_orders``) so that "the last hour" has orders in it, as it has on a
demo that is being served; a cache older than that can fill (``HORIZON``) is seeded anew.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from bench.postgresql import BenchUnavailable, PostgreSQLServer
from demo.orders import HORIZON, ContinuedOrders, continue_orders
from demo.seed import seed_database
from queries.schema import TABLES

REPO_ROOT = Path(__file__).resolve().parents[1]
SEED_CODE = (REPO_ROOT / "demo" / "seed.py", REPO_ROOT / "queries" / "schema.py")
RANDOM_SEED = 7
# Seeded this long before the run at most, or seeded anew: the catch-up fills the rest.
MAX_CACHE_AGE = HORIZON - dt.timedelta(hours=1)


def seed_code_hash() -> str:
    digest = hashlib.sha256()
    for path in SEED_CODE:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class RunDatabase:
    """The run's copy of a seeded database, brought up to now."""

    backend: str
    scale: str
    url: str
    seeded_now: bool  # seeded in this run (else copied from the cache)
    seed_seconds: float | None  # this run's seeding time; None when it came from the cache
    seeded_at: dt.datetime  # the seeded history's end (naive UTC)
    copy_seconds: float
    catch_up: ContinuedOrders
    catch_up_seconds: float
    row_counts: dict[str, int]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _row_counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                table.name: int(
                    conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                )
                for table in TABLES
            }
    finally:
        engine.dispose()


class SeedCache:
    """Seeded databases under ``directory`` (SQLite files) and on ``postgresql`` (databases)."""

    def __init__(self, directory: Path, postgresql: PostgreSQLServer | None) -> None:
        self.directory = directory
        self.postgresql = postgresql
        self.code_hash = seed_code_hash()
        (directory / "sqlite").mkdir(parents=True, exist_ok=True)
        self._run_dir = Path(tempfile.mkdtemp(prefix="invdash-bench-run-"))

    def _name(self, scale: str) -> str:
        return f"seed_{scale}_{RANDOM_SEED}_{self.code_hash}"

    def _meta_path(self, backend: str, scale: str) -> Path:
        return self.directory / f"{backend}-{self._name(scale)}.json"

    def _cached_at(self, backend: str, scale: str) -> dt.datetime | None:
        meta = self._meta_path(backend, scale)
        if not meta.is_file():
            return None
        seeded_at = dt.datetime.fromisoformat(json.loads(meta.read_text())["seeded_at"])
        if backend == "sqlite" and not self._sqlite_path(scale).is_file():
            return None
        if backend == "postgresql" and not self._pg_exists(self._name(scale)):
            return None
        return seeded_at

    def _sqlite_path(self, scale: str) -> Path:
        return self.directory / "sqlite" / f"{self._name(scale)}.sqlite3"

    def _pg_admin(self) -> sa.Engine:
        if self.postgresql is None:
            raise BenchUnavailable("no PostgreSQL server was started")
        return sa.create_engine(self.postgresql.url("postgres"), isolation_level="AUTOCOMMIT")

    def _pg_exists(self, name: str) -> bool:
        admin = self._pg_admin()
        try:
            with admin.connect() as conn:
                found = conn.execute(
                    sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
                ).first()
            return found is not None
        finally:
            admin.dispose()

    def _pg_execute(self, statement: str) -> None:
        admin = self._pg_admin()
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(statement)
        finally:
            admin.dispose()

    def _forget_older(self, backend: str, scale: str) -> None:
        """Other cached versions of this backend and scale (another seed code): removed."""
        keep = self._name(scale)
        for meta in self.directory.glob(f"{backend}-seed_{scale}_*.json"):
            name = meta.stem.removeprefix(f"{backend}-")
            if name == keep:
                continue
            if backend == "sqlite":
                (self.directory / "sqlite" / f"{name}.sqlite3").unlink(missing_ok=True)
            else:
                self._pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            meta.unlink()

    def _seed(self, backend: str, scale: str, reseed: bool) -> tuple[float | None, dt.datetime]:
        cached_at = None if reseed else self._cached_at(backend, scale)
        if cached_at is not None and _now() - cached_at < MAX_CACHE_AGE:
            return None, cached_at
        self._forget_older(backend, scale)
        name = self._name(scale)
        if backend == "sqlite":
            path = self._sqlite_path(scale)
            path.unlink(missing_ok=True)
            url = f"sqlite:///{path}"
        else:
            self._pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self._pg_execute(f'CREATE DATABASE "{name}"')
            assert self.postgresql is not None
            url = self.postgresql.url(name)
        self._meta_path(backend, scale).unlink(missing_ok=True)
        engine = sa.create_engine(url)
        try:
            report = seed_database(engine, scale=scale, seed=RANDOM_SEED, force=True)
        finally:
            engine.dispose()
        self._meta_path(backend, scale).write_text(
            json.dumps({"seeded_at": report.now.isoformat(), "rows": report.row_counts})
        )
        return report.elapsed_seconds, report.now

    def run_copy(self, backend: str, scale: str, reseed: bool = False) -> RunDatabase:
        """This run's copy of the seeded ``scale`` on ``backend``, its orders carried on to now."""
        seed_seconds, seeded_at = self._seed(backend, scale, reseed)
        started = time.perf_counter()
        name = self._name(scale)
        if backend == "sqlite":
            copy = self._run_dir / f"run_{scale}.sqlite3"
            shutil.copyfile(self._sqlite_path(scale), copy)
            url = f"sqlite:///{copy}"
        else:
            run_name = f"run_{scale}_{int(time.time())}"
            self._pg_execute(f'DROP DATABASE IF EXISTS "{run_name}" WITH (FORCE)')
            self._pg_execute(f'CREATE DATABASE "{run_name}" TEMPLATE "{name}"')
            assert self.postgresql is not None
            url = self.postgresql.url(run_name)
        copy_seconds = time.perf_counter() - started
        engine = sa.create_engine(url)
        try:
            started = time.perf_counter()
            caught_up = continue_orders(engine, dt.datetime.now(dt.UTC))
            catch_up_seconds = time.perf_counter() - started
            if backend == "postgresql":
                with engine.begin() as conn:
                    conn.exec_driver_sql("ANALYZE")
        finally:
            engine.dispose()
        return RunDatabase(
            backend=backend,
            scale=scale,
            url=url,
            seeded_now=seed_seconds is not None,
            seed_seconds=seed_seconds,
            seeded_at=seeded_at,
            copy_seconds=copy_seconds,
            catch_up=caught_up,
            catch_up_seconds=catch_up_seconds,
            row_counts=_row_counts(url),
        )

    def drop(self, database: RunDatabase) -> None:
        if database.backend == "sqlite":
            Path(sa.make_url(database.url).database or "").unlink(missing_ok=True)
        else:
            name = sa.make_url(database.url).database
            self._pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        shutil.rmtree(self._run_dir, ignore_errors=True)
