"""A PostgreSQL server the tests started, and fresh databases on it (a module, not conftest.py:
test modules import it by name, and another directory's conftest.py would shadow that name)."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from local_service import free_port, log_tail
from pytest_postgresql.janitor import DatabaseJanitor


@dataclass(frozen=True)
class PostgreSQLServer:
    host: str
    port: int
    user: str
    startup_seconds: float


POSTGRES_START_TIMEOUT_SECONDS = 60
PG_INSTALL_HINT = (
    "run the tests through `bash scripts/test.sh` as root (it installs them), "
    "or `apt-get install -y postgresql`"
)


def postgresql_bin_dir() -> Path:
    # Newest major version first, should a machine carry more than one.
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda path: int(Path(path).parent.name) if Path(path).parent.name.isdigit() else 0,
        reverse=True,
    )
    for candidate in candidates:
        bin_dir = Path(candidate)
        if (bin_dir / "initdb").is_file() and (bin_dir / "pg_ctl").is_file():
            return bin_dir
    pytest.fail(
        f"PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb): {PG_INSTALL_HINT}",
        pytrace=False,
    )


class PostgreSQLInstance:
    """A throwaway PostgreSQL cluster on 127.0.0.1 (trust authentication, user ``postgres``):
    made and started when created, stopped and started again on the same port when a test
    restarts it, stopped and removed by ``close``. A failure fails the test with the log."""

    def __init__(self) -> None:
        self.bin_dir = postgresql_bin_dir()
        self.as_postgres = os.geteuid() == 0
        self.base_dir = Path(tempfile.mkdtemp(prefix="invdash-pg-"))
        if self.as_postgres:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                shutil.rmtree(self.base_dir, ignore_errors=True)
                pytest.fail(f"running as root but there is no `postgres` user: {PG_INSTALL_HINT}")
            os.chown(self.base_dir, owner.pw_uid, owner.pw_gid)
        self.data_dir = self.base_dir / "data"
        self.log_path = self.base_dir / "log"
        started = time.monotonic()
        initdb = self._run(
            [
                str(self.bin_dir / "initdb"),
                "-D", str(self.data_dir),
                "-A", "trust",
                "-U", "postgres",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ]
        )  # fmt: skip
        if initdb.returncode != 0:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            pytest.fail(f"initdb failed ({initdb.returncode}):\n{initdb.stdout}\n{initdb.stderr}")
        self.port = 0
        # Another process can take the free port between probing and binding it: try a few.
        for _attempt in range(3):
            self.port = free_port()
            if self._start().returncode == 0:
                break
        else:
            self._fail("pg_ctl start failed")
        self.server = PostgreSQLServer(
            host="127.0.0.1",
            port=self.port,
            user="postgres",
            startup_seconds=time.monotonic() - started,
        )

    def _run(self, command: list[str]) -> subprocess.CompletedProcess[str]:
        # initdb and pg_ctl refuse to run as root; CI runs as root.
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(
            command,
            cwd=self.base_dir,
            capture_output=True,
            text=True,
            timeout=POSTGRES_START_TIMEOUT_SECONDS + 30,
            check=False,
        )

    def _start(self) -> subprocess.CompletedProcess[str]:
        options = (
            f"-p {self.port} -k {self.base_dir} -h 127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        return self._run(
            [
                str(self.bin_dir / "pg_ctl"), "start", "-w",
                "-t", str(POSTGRES_START_TIMEOUT_SECONDS),
                "-D", str(self.data_dir),
                "-l", str(self.log_path),
                "-o", options,
            ]
        )  # fmt: skip

    def _fail(self, what: str) -> None:
        log = log_tail(self.log_path)
        self.close()
        pytest.fail(f"{what}:\n{log}")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: every session ended at once, as in a failover)."""
        stopped = self._run(
            [str(self.bin_dir / "pg_ctl"), "stop", "-w", "-m", mode, "-D", str(self.data_dir)]
        )
        if stopped.returncode != 0:
            self._fail(f"pg_ctl stop failed ({stopped.stdout}{stopped.stderr})")

    def start(self) -> None:
        """Start the stopped server again, on its port."""
        if self._start().returncode != 0:
            self._fail(f"pg_ctl start on port {self.port} failed")

    def close(self) -> None:
        self._run(
            [str(self.bin_dir / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(self.data_dir)]
        )
        shutil.rmtree(self.base_dir, ignore_errors=True)


@contextlib.contextmanager
def fresh_postgresql_database(
    server: PostgreSQLServer, prefix: str = "invdash_test"
) -> Iterator[str]:
    """An empty database on ``server`` as an SQLAlchemy URL; dropped on exit (connections ended)."""
    dbname = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with DatabaseJanitor(
        user=server.user, host=server.host, port=server.port, dbname=dbname, connection_timeout=10
    ):
        yield f"postgresql+psycopg://{server.user}@{server.host}:{server.port}/{dbname}"


# Parameters of a fixture that runs its module once per backend, with ``engine_for``.
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextlib.contextmanager
def engine_for(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, prefix: str
) -> Iterator[sa.Engine]:
    """An empty database on the fixture's backend (``request.param``): a new SQLite file, or a
    new database on the session's PostgreSQL server; disposed, and dropped, on exit."""
    with contextlib.ExitStack() as cleanup:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp(prefix) / f'{prefix}.sqlite3'}"
        else:
            server = request.getfixturevalue("postgresql_server")
            url = cleanup.enter_context(fresh_postgresql_database(server, prefix))
        engine = sa.create_engine(url)
        cleanup.callback(engine.dispose)  # before the database is dropped
        yield engine
