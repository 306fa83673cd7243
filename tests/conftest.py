"""Shared fixtures: a real PostgreSQL server, databases on both backends, headless Chromium options.

The system binaries (PostgreSQL, Chromium) are installed by ``scripts/test.sh``; a missing one is
a failure, not a skip, so CI can never pass without exercising them.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy
from postgresql_database import PostgreSQLServer, fresh_postgresql_database
from selenium.webdriver.chrome.options import Options as ChromeOptions

REPO_ROOT = Path(__file__).resolve().parents[1]
POSTGRES_START_TIMEOUT_SECONDS = 60
PG_INSTALL_HINT = (
    "run the tests through `bash scripts/test.sh` as root (it installs them), "
    "or `apt-get install -y postgresql`"
)


def pytest_setup_options() -> ChromeOptions:
    """Chromium options for dash.testing's ``dash_duo``: headless and silent on a closed network."""
    options = ChromeOptions()
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1920,1080",
    ):
        options.add_argument(argument)
    return options


def _postgresql_bin_dir() -> Path:
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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run_as_server_owner(
    command: list[str], *, cwd: Path, as_postgres: bool
) -> subprocess.CompletedProcess[str]:
    # initdb and pg_ctl refuse to run as root; CI runs as root.
    if as_postgres:
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=POSTGRES_START_TIMEOUT_SECONDS + 30,
        check=False,
    )


def _log_tail(log_path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[PostgreSQLServer]:
    """A throwaway PostgreSQL server on 127.0.0.1 (trust auth, user ``postgres``) for the session."""
    bin_dir = _postgresql_bin_dir()
    as_postgres = os.geteuid() == 0
    base_dir = Path(tempfile.mkdtemp(prefix="invdash-pg-"))
    if as_postgres:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(base_dir, ignore_errors=True)
            pytest.fail(f"running as root but there is no `postgres` user: {PG_INSTALL_HINT}")
        os.chown(base_dir, owner.pw_uid, owner.pw_gid)
    data_dir = base_dir / "data"
    log_path = base_dir / "log"
    pg_ctl = str(bin_dir / "pg_ctl")

    def run(command: list[str]) -> subprocess.CompletedProcess[str]:
        return _run_as_server_owner(command, cwd=base_dir, as_postgres=as_postgres)

    started = time.monotonic()
    initdb = run(
        [
            str(bin_dir / "initdb"),
            "-D", str(data_dir),
            "-A", "trust",
            "-U", "postgres",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ]
    )  # fmt: skip
    if initdb.returncode != 0:
        shutil.rmtree(base_dir, ignore_errors=True)
        pytest.fail(f"initdb failed ({initdb.returncode}):\n{initdb.stdout}\n{initdb.stderr}")

    port = 0
    start: subprocess.CompletedProcess[str] | None = None
    # Another process can take the free port between probing and binding it: try a few.
    for _attempt in range(3):
        port = _free_port()
        server_options = (
            f"-p {port} -k {base_dir} -h 127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        start = run(
            [
                pg_ctl, "start", "-w",
                "-t", str(POSTGRES_START_TIMEOUT_SECONDS),
                "-D", str(data_dir),
                "-l", str(log_path),
                "-o", server_options,
            ]
        )  # fmt: skip
        if start.returncode == 0:
            break
    assert start is not None
    if start.returncode != 0:
        log = _log_tail(log_path)
        shutil.rmtree(base_dir, ignore_errors=True)
        pytest.fail(
            f"pg_ctl start failed ({start.returncode}):\n{start.stdout}\n{start.stderr}\n{log}"
        )

    server = PostgreSQLServer(
        host="127.0.0.1", port=port, user="postgres", startup_seconds=time.monotonic() - started
    )
    try:
        yield server
    finally:
        run([pg_ctl, "stop", "-w", "-m", "fast", "-D", str(data_dir)])
        shutil.rmtree(base_dir, ignore_errors=True)


@pytest.fixture
def make_postgresql_url(postgresql_server: PostgreSQLServer) -> Iterator[Callable[[], str]]:
    """Create fresh, empty databases on the session server, each as an SQLAlchemy URL.

    Every database made during a test is dropped after it (open connections are terminated).
    """
    with contextlib.ExitStack() as cleanup:
        yield lambda: cleanup.enter_context(fresh_postgresql_database(postgresql_server))


@pytest.fixture
def postgresql_url(make_postgresql_url: Callable[[], str]) -> str:
    """A fresh, empty database on the session server, as an SQLAlchemy URL; dropped afterwards."""
    return make_postgresql_url()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database file, as an SQLAlchemy URL."""
    return f"sqlite:///{tmp_path}/inventory.sqlite3"


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    ids=["sqlite", "postgresql"],
)
def database_url(request: pytest.FixtureRequest) -> str:
    """An empty database on each backend in turn; PostgreSQL starts only when a test needs it."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def empty_engine(database_url: str) -> Iterator[sqlalchemy.Engine]:
    """An engine on an empty database, once per backend."""
    engine = sqlalchemy.create_engine(database_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The recorded third-party fixtures: $INVDASH_FIXTURES, else <repo>/../shared/fixtures."""
    configured = os.environ.get("INVDASH_FIXTURES")
    path = Path(configured) if configured else REPO_ROOT.parent / "shared" / "fixtures"
    if not path.is_dir():
        pytest.skip(
            f"recorded fixtures not found at {path.resolve()}; "
            "set INVDASH_FIXTURES to the directory that holds kubernetes/ and prometheus/"
        )
    return path.resolve()
