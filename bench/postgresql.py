"""A PostgreSQL server for the benchmark, started the way the tests start theirs
(tests/conftest.py): initdb and pg_ctl as the ``postgres`` user when running as root (they refuse
root), directly otherwise. Unlike the tests' server its data directory is kept (under the
benchmark's cache directory), so seeded databases survive from one run to the next.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_SECONDS = 60


class BenchUnavailable(RuntimeError):
    """A database or server the benchmark needs cannot be had; the message says why."""


@dataclass
class PostgreSQLServer:
    bin_dir: Path
    base_dir: Path
    port: int
    as_postgres: bool

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def version(self) -> str:
        completed = subprocess.run(
            [str(self.bin_dir / "postgres"), "--version"],
            capture_output=True, text=True, check=False, timeout=30,
        )  # fmt: skip
        return completed.stdout.strip()

    def stop(self) -> None:
        _run(
            [str(self.bin_dir / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(self.data_dir)],
            self.base_dir,
            self.as_postgres,
        )


def _bin_dir() -> Path:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda path: int(Path(path).parent.name) if Path(path).parent.name.isdigit() else 0,
        reverse=True,
    )
    for candidate in candidates:
        if (Path(candidate) / "initdb").is_file() and (Path(candidate) / "pg_ctl").is_file():
            return Path(candidate)
    raise BenchUnavailable(
        "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb): "
        "apt-get install -y postgresql, or run without PostgreSQL (BACKENDS=sqlite)"
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that no one listens on (for a server the bench starts)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run(command: list[str], cwd: Path, as_postgres: bool) -> subprocess.CompletedProcess[str]:
    if as_postgres:
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True,
        timeout=START_TIMEOUT_SECONDS + 30, check=False,
    )  # fmt: skip


def start_server(base_dir: Path) -> PostgreSQLServer:
    """A server on 127.0.0.1 (trust authentication, user ``postgres``) whose cluster lives in
    ``base_dir/data``: made on the first run, reused after. Raises BenchUnavailable."""
    bin_dir = _bin_dir()
    as_postgres = os.geteuid() == 0
    base_dir.mkdir(parents=True, exist_ok=True)
    if as_postgres:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise BenchUnavailable("running as root but there is no `postgres` user") from None
        os.chown(base_dir, owner.pw_uid, owner.pw_gid)
        # The server's user must reach its directory through every parent.
        for parent in base_dir.parents:
            if not parent.stat().st_mode & 0o001:
                raise BenchUnavailable(
                    f"the postgres user cannot reach {base_dir}: {parent} is not searchable "
                    "by others (set INVDASH_BENCH_CACHE to another directory)"
                )
    data_dir = base_dir / "data"
    if not (data_dir / "PG_VERSION").is_file():
        shutil.rmtree(data_dir, ignore_errors=True)
        initdb = _run(
            [
                str(bin_dir / "initdb"), "-D", str(data_dir), "-A", "trust", "-U", "postgres",
                "--encoding=UTF8", "--locale=C", "--no-sync",
            ],
            base_dir, as_postgres,
        )  # fmt: skip
        if initdb.returncode != 0:
            raise BenchUnavailable(f"initdb failed:\n{initdb.stdout}\n{initdb.stderr}")
    log_path = base_dir / "log"
    last = ""
    # Another process can take the free port between probing and binding it: try a few.
    for _attempt in range(3):
        port = free_port()
        # Durability off, as in the tests: the seeded databases can be made again, and the
        # benchmark measures reading them. Memory settings stay PostgreSQL's defaults.
        options = (
            f"-p {port} -k {base_dir} -h 127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        started = _run(
            [
                str(bin_dir / "pg_ctl"), "start", "-w", "-t", str(START_TIMEOUT_SECONDS),
                "-D", str(data_dir), "-l", str(log_path), "-o", options,
            ],
            base_dir, as_postgres,
        )  # fmt: skip
        if started.returncode == 0:
            return PostgreSQLServer(bin_dir, base_dir, port, as_postgres)
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
        last = f"{started.stdout}\n{started.stderr}\n{tail}"
        time.sleep(0.5)
    raise BenchUnavailable(f"pg_ctl start failed:\n{last}")
