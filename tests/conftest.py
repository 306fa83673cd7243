"""Shared fixtures: a real PostgreSQL server, databases on both backends, headless Chromium options.

The system binaries (PostgreSQL, Chromium) are installed by ``scripts/test.sh``; a missing one is
a failure, not a skip, so CI can never pass without exercising them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy
from postgresql_database import PostgreSQLInstance, PostgreSQLServer, fresh_postgresql_database
from selenium.webdriver.chrome.options import Options as ChromeOptions

REPO_ROOT = Path(__file__).resolve().parents[1]
# dash_duo's Chrome driver is Debian's (chromium-driver), named to selenium so that its Selenium
# Manager never looks for one, nor reports usage, over a network the tests do not have.
os.environ.setdefault("SE_CHROMEDRIVER", "/usr/bin/chromedriver")
os.environ.setdefault("SE_AVOID_STATS", "true")
os.environ.setdefault("SE_OFFLINE", "true")


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


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[PostgreSQLServer]:
    """A throwaway PostgreSQL server on 127.0.0.1 (trust auth, user ``postgres``) for the session."""
    instance = PostgreSQLInstance()
    try:
        yield instance.server
    finally:
        instance.close()


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
