"""Start-up checks shared by ``invdash serve`` and the WSGI entry: fail early, naming the problem."""

from __future__ import annotations

import logging
import sys

from dashboard.settings import Settings, SettingsError, load_settings
from dashboard.sources import ConfigurationError, Sources, build_sources
from queries.database import create_inventory_engine, missing_schema
from queries.health import describe_failure
from queries.prometheus import PromQLConfigError

log = logging.getLogger("invdash")


class StartupError(Exception):
    """invdash cannot serve with this configuration; the message says what to change."""


def check_database_schema(settings: Settings) -> None:
    """Raise StartupError when the database answers but lacks a table or column invdash reads.

    An unreachable database is not an error here: the pages say so and retry until it answers.
    """
    engine = create_inventory_engine(settings.database_url, settings.database_timeout_seconds)
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


def startup() -> tuple[Settings, Sources]:
    """Settings and sources for a server process; on a bad setting, print one line and exit 2."""
    try:
        settings = load_settings()
        check_database_schema(settings)
        sources = configured_sources(settings)
    except (SettingsError, StartupError) as error:
        print(f"invdash: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    return settings, sources
