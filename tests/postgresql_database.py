"""A PostgreSQL server the tests started, and fresh databases on it (a module, not conftest.py:
test modules import it by name, and another directory's conftest.py would shadow that name)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from pytest_postgresql.janitor import DatabaseJanitor


@dataclass(frozen=True)
class PostgreSQLServer:
    host: str
    port: int
    user: str
    startup_seconds: float


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
