"""Start-up checks shared by ``invdash serve`` and the WSGI entry: fail early, naming the problem."""

from __future__ import annotations

import logging
import sys

from sqlalchemy import Engine

from dashboard.access import UsersFileError, read_users
from dashboard.settings import (
    Settings,
    SettingsError,
    default_database_path,
    load_settings,
)
from dashboard.sources import ConfigurationError, Sources, build_sources
from queries.database import (
    UNUSABLE_URL_ERRORS,
    create_inventory_engine,
    missing_schema,
    unusable_url_message,
)
from queries.health import describe_failure
from queries.promql import PromQLConfigError

log = logging.getLogger("invdash")


class StartupError(Exception):
    """invdash cannot serve with this configuration; the message says what to change."""


def unusable_url(error: Exception, variable: str = "INVDASH_DATABASE_URL") -> StartupError:
    return StartupError(unusable_url_message(variable, error))


def inventory_engine(settings: Settings) -> Engine:
    """The inventory database's engine, or StartupError when the URL cannot name one."""
    try:
        return create_inventory_engine(settings.database_url, settings.database_timeout_seconds)
    except UNUSABLE_URL_ERRORS as error:
        raise unusable_url(error) from None


def check_default_database_exists(settings: Settings) -> None:
    """Raise StartupError when INVDASH_DATABASE_URL is unset and nothing made the default database.

    ``invdash serve`` seeds the default before starting gunicorn, so a server process that finds
    it missing was started directly, typically in a container whose Secret lacks the URL:
    serving an empty database would only show a page of errors.
    """
    path = default_database_path()
    if settings.uses_default_database and not path.exists():
        raise StartupError(
            f"INVDASH_DATABASE_URL is not set and the default database {path} does not exist "
            "(set INVDASH_DATABASE_URL, or run `invdash seed` for demo data)"
        )


def check_database_schema(settings: Settings) -> None:
    """Raise StartupError when the database answers but lacks a table or column invdash reads.

    An unreachable database is not an error here: the pages say so and retry until it answers.
    """
    engine = inventory_engine(settings)
    try:
        missing = missing_schema(engine)
    except Exception as error:
        log.warning("inventory database unreachable at start-up: %s", describe_failure(error))
        return
    finally:
        engine.dispose()
    if missing:
        raise StartupError(
            "inventory database at INVDASH_DATABASE_URL lacks "
            + ", ".join(missing)
            + " (run `invdash seed` for demo data, or see docs/schema.md)"
        )


def configured_sources(settings: Settings) -> Sources:
    """The sources of these settings, or StartupError naming the setting or query at fault."""
    try:
        return build_sources(settings)
    except (ConfigurationError, PromQLConfigError) as error:
        raise StartupError(str(error)) from None
    except UNUSABLE_URL_ERRORS as error:
        raise unusable_url(error) from None


def check_access(settings: Settings) -> None:
    """StartupError naming the setting when INVDASH_AUTH cannot be had as configured."""
    if settings.auth == "basic":
        if settings.auth_users_file is None:
            raise StartupError(
                "INVDASH_AUTH=basic needs INVDASH_AUTH_USERS_FILE (user:bcrypt-hash lines)"
            )
        try:
            read_users(settings.auth_users_file)
        except UsersFileError as error:
            raise StartupError(f"INVDASH_AUTH_USERS_FILE: {error}") from None
    if settings.auth == "proxy" and not settings.auth_proxy_networks:
        raise StartupError(
            "INVDASH_AUTH=proxy needs INVDASH_AUTH_PROXY_ADDRESSES (the sign-in proxy's "
            "addresses: a user header from anywhere else is not believed)"
        )


def startup() -> tuple[Settings, Sources]:
    """Settings and sources for a server process; on a bad setting, print one line and exit 2.

    A gunicorn config can call this in its ``on_starting`` hook, so the master stops before
    forking workers that would each report (and gunicorn would respawn) the same problem.
    """
    try:
        settings = load_settings()
        check_access(settings)
        check_default_database_exists(settings)
        check_database_schema(settings)
        sources = configured_sources(settings)
    except (SettingsError, StartupError) as error:
        print(f"invdash: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    return settings, sources
