"""The harness itself: a real PostgreSQL server, both database backends, database isolation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from dash import Dash, html


def _database_names(server: Any) -> set[str]:
    with psycopg.connect(
        host=server.host, port=server.port, user=server.user, dbname="postgres", connect_timeout=10
    ) as conn:
        return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}


@pytest.mark.postgres
def test_postgresql_server_is_a_real_server_on_localhost(postgresql_server: Any) -> None:
    assert postgresql_server.host == "127.0.0.1"
    assert postgresql_server.user == "postgres"
    with psycopg.connect(
        host=postgresql_server.host,
        port=postgresql_server.port,
        user=postgresql_server.user,
        dbname="postgres",
        connect_timeout=10,
    ) as conn:
        row = conn.execute("SELECT version()").fetchone()
    assert row is not None
    assert row[0].startswith("PostgreSQL")


def test_numeric_quantity_round_trips_on_each_backend(empty_engine: sa.Engine) -> None:
    metadata = sa.MetaData()
    stock = sa.Table(
        "stock",
        metadata,
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Column("quantity", sa.Numeric(14, 3), nullable=False),
    )
    metadata.create_all(empty_engine)
    with empty_engine.begin() as conn:
        conn.execute(
            stock.insert(),
            [
                {"sku": "A-1", "quantity": Decimal("12.345")},
                {"sku": "B-2", "quantity": Decimal("-0.001")},
            ],
        )
    with empty_engine.connect() as conn:
        rows = dict(conn.execute(sa.select(stock.c.sku, stock.c.quantity)).all())

    assert rows == {"A-1": Decimal("12.345"), "B-2": Decimal("-0.001")}
    assert all(isinstance(quantity, Decimal) for quantity in rows.values())
    if empty_engine.dialect.name == "postgresql":
        # NUMERIC is exact on PostgreSQL: the stored scale comes back too.
        assert [str(rows["A-1"]), str(rows["B-2"])] == ["12.345", "-0.001"]


def test_database_url_backends_are_sqlite_then_postgresql(
    request: pytest.FixtureRequest, database_url: str
) -> None:
    expected_prefix = {"sqlite": "sqlite:///", "postgresql": "postgresql+psycopg://postgres@"}
    backend = request.node.callspec.id
    assert database_url.startswith(expected_prefix[backend])
    assert ("postgres" in request.node.keywords) == (backend == "postgresql")


@pytest.fixture
def dropped_after_test(postgresql_server: Any) -> Iterator[list[str]]:
    """Names put in this list must be gone from the server once the test's fixtures are torn down.

    Request it before ``make_postgresql_url``: fixtures are torn down in reverse order.
    """
    names: list[str] = []
    yield names
    assert names, "the test recorded no database names"
    leftover = set(names) & _database_names(postgresql_server)
    assert not leftover, f"databases left behind after the test: {sorted(leftover)}"


@pytest.mark.postgres
def test_postgresql_databases_are_isolated_and_dropped_afterwards(
    postgresql_server: Any,
    dropped_after_test: list[str],
    make_postgresql_url: Callable[[], str],
) -> None:
    first_url, second_url = make_postgresql_url(), make_postgresql_url()
    names = [url.rsplit("/", 1)[1] for url in (first_url, second_url)]
    dropped_after_test.extend(names)
    assert names[0] != names[1]
    assert set(names) <= _database_names(postgresql_server)

    # `first` is never disposed: its pooled connection stays open, and the database must still
    # be dropped after the test.
    first, second = sa.create_engine(first_url), sa.create_engine(second_url)
    with first.begin() as conn:
        conn.execute(sa.text("CREATE TABLE only_in_first (id integer)"))
        conn.execute(sa.text("INSERT INTO only_in_first VALUES (1)"))
    try:
        assert sa.inspect(second).get_table_names() == []
    finally:
        second.dispose()
    with first.connect() as conn:
        assert conn.execute(sa.text("SELECT id FROM only_in_first")).scalar_one() == 1


@pytest.mark.browser
def test_headless_chromium_renders_a_dash_page(dash_duo: Any) -> None:
    app = Dash(__name__)
    app.layout = html.Div("harness ready", id="probe")

    dash_duo.start_server(app)

    dash_duo.wait_for_text_to_equal("#probe", "harness ready", timeout=10)
    # The window size comes from pytest_setup_options() in conftest.py: proof the hook is used.
    assert dash_duo.driver.get_window_size() == {"width": 1920, "height": 1080}
    assert dash_duo.get_logs() == []
