"""The one settings object: environment variables prefixed ``INVDASH_``, read once at start-up."""

from __future__ import annotations

import math
from pathlib import Path

import platformdirs
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "INVDASH_"


def default_database_path() -> Path:
    return Path(platformdirs.user_data_dir("invdash")) / "invdash.sqlite3"


def default_database_url() -> str:
    return f"sqlite:///{default_database_path()}"


class Settings(BaseSettings):
    """Every setting of invdash. Field descriptions are the accepted ranges shown in errors."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    database_url: str = Field(
        default_factory=default_database_url,
        description="an SQLAlchemy URL such as sqlite:///path or postgresql+psycopg://user@host/db",
        min_length=1,
    )
    refresh_seconds: int = Field(10, ge=1, le=86_400, description="an integer from 1 to 86400")
    holding_cost_rate: float = Field(
        0.25, gt=0, le=5, description="a yearly rate above 0 and at most 5 (0.25 = 25% a year)"
    )
    service_level: float = Field(0.95, gt=0, lt=1, description="a number strictly between 0 and 1")
    demand_window_days: int = Field(56, ge=7, le=730, description="an integer from 7 to 730")
    risk_threshold: float = Field(0.2, gt=0, lt=1, description="a number strictly between 0 and 1")
    database_timeout_seconds: float = Field(
        5.0, gt=0, le=300, description="a number of seconds above 0 and at most 300"
    )

    @field_validator(
        "holding_cost_rate", "service_level", "risk_threshold", "database_timeout_seconds"
    )
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @property
    def uses_default_database(self) -> bool:
        return self.database_url == default_database_url()


class SettingsError(Exception):
    """A setting has a value invdash cannot use; the message names the variable and the range."""


def load_settings(**overrides: object) -> Settings:
    """Read the settings from the environment (keyword overrides win), or raise SettingsError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(describe_validation_error(error)) from None


def describe_validation_error(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else "?"
        info = Settings.model_fields.get(field)
        accepted = info.description if info is not None and info.description else "a valid value"
        given = problem.get("input")
        lines.append(
            f"{ENV_PREFIX}{field.upper()}={given!r} is invalid: expected {accepted} ({problem['msg']})"
        )
    return "; ".join(lines)
