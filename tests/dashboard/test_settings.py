"""Settings: defaults, environment overrides, and start-up errors that name the variable."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dashboard.settings import SettingsError, default_database_url, load_settings


def test_defaults_match_the_documented_values(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "DATABASE_URL",
        "REFRESH_SECONDS",
        "HOLDING_COST_RATE",
        "SERVICE_LEVEL",
        "DEMAND_WINDOW_DAYS",
        "RISK_THRESHOLD",
    ):
        monkeypatch.delenv(f"INVDASH_{name}", raising=False)
    settings = load_settings()
    assert settings.database_url == default_database_url()
    assert settings.database_url.startswith("sqlite:///")
    assert settings.database_url.endswith("invdash.sqlite3")
    assert settings.uses_default_database
    assert (settings.refresh_seconds, settings.holding_cost_rate, settings.service_level) == (
        10,
        0.25,
        0.95,
    )
    assert (settings.demand_window_days, settings.risk_threshold) == (56, 0.2)


def test_environment_variables_override_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVDASH_REFRESH_SECONDS", "30")
    monkeypatch.setenv("INVDASH_SERVICE_LEVEL", "0.99")
    monkeypatch.setenv("INVDASH_DATABASE_URL", "postgresql+psycopg://reader@db/inventory")
    settings = load_settings()
    assert (settings.refresh_seconds, settings.service_level) == (30, 0.99)
    assert not settings.uses_default_database


@pytest.mark.parametrize(
    ("variable", "value", "accepted"),
    [
        ("INVDASH_SERVICE_LEVEL", "1.5", "strictly between 0 and 1"),
        ("INVDASH_SERVICE_LEVEL", "0", "strictly between 0 and 1"),
        ("INVDASH_SERVICE_LEVEL", "nan", "strictly between 0 and 1"),
        ("INVDASH_RISK_THRESHOLD", "-0.1", "strictly between 0 and 1"),
        ("INVDASH_REFRESH_SECONDS", "0", "from 1 to 86400"),
        ("INVDASH_REFRESH_SECONDS", "ten", "from 1 to 86400"),
        ("INVDASH_HOLDING_COST_RATE", "inf", "above 0 and at most 5"),
        ("INVDASH_DEMAND_WINDOW_DAYS", "3", "from 7 to 730"),
        ("INVDASH_DATABASE_URL", "", "SQLAlchemy URL"),
        ("INVDASH_SLO_OBJECTIVE", "99.5", "strictly between 0.9 and 1"),
        ("INVDASH_SLO_OBJECTIVE", "0.5", "strictly between 0.9 and 1"),
        ("INVDASH_SLO_SERVICE", 'order-service"} or vector(1)', "one name of letters"),
        ("INVDASH_SLO_SERVICE", "", "one name of letters"),
    ],
)
def test_invalid_value_names_the_variable_and_the_accepted_range(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, accepted: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith(f"{variable}={value!r} is invalid")
    assert accepted in message


@pytest.mark.parametrize("name", ["refresh_seconds", "database_url"])
def test_settings_are_frozen_once_read(name: str) -> None:
    settings = load_settings()
    before = getattr(settings, name)
    # Assigned as a running app would by mistake (a type checker refuses the plain statement).
    with pytest.raises(ValidationError, match="frozen"):
        setattr(settings, name, 5)
    assert getattr(settings, name) == before


@pytest.mark.parametrize(
    ("value", "embedded", "elsewhere"),
    [("auto", True, False), ("on", True, True), ("off", False, False)],
)
def test_demo_orders_are_written_to_the_embedded_demo_unless_told_otherwise(
    value: str, embedded: bool, elsewhere: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INVDASH_DATABASE_URL", raising=False)
    monkeypatch.setenv("INVDASH_DEMO_ORDERS", value)
    assert load_settings().carries_demo_orders_on is embedded
    other = load_settings(database_url="postgresql+psycopg://erp@db/erp")
    assert other.carries_demo_orders_on is elsewhere


def test_an_unknown_demo_orders_value_names_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVDASH_DEMO_ORDERS", "yes")
    with pytest.raises(SettingsError, match=r"INVDASH_DEMO_ORDERS='yes' is invalid: expected auto"):
        load_settings()
