"""A PostgreSQL server the tests started, and fresh databases on it (a module, not conftest.py:
test modules import it by name, and another directory's conftest.py would shadow that name)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
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
