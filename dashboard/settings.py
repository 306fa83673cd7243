"""The one settings object: environment variables prefixed ``INVDASH_``, read once at start-up."""

from __future__ import annotations

import ipaddress
import math
import re
import typing
import urllib.parse
from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "INVDASH_"
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
# A CSP source expression of frame-ancestors: a keyword, or a scheme and host (and port).
FRAME_SOURCE = re.compile(r"'none'|'self'|https?://(\*\.)?[A-Za-z0-9.-]+(:[0-9]{1,5})?")
URL_PASSWORD = re.compile(r"(://[^/\s:@]*:)[^/\s@]*@")


# INVDASH_METRICS_PORT: read by the master (to listen on it) and by each worker (to answer
# /metrics there only).
MetricsPort = Annotated[
    int | None,
    Field(
        ge=1,
        le=65_535,
        description=(
            "a TCP port from 1 to 65535 other than INVDASH_PORT, where /metrics (and "
            "/metrics/business) alone are answered (unset: on the dashboard's port)"
        ),
    ),
]


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
    telemetry: Literal["auto", "demo", "live", "off"] = Field(
        "auto",
        description=(
            "auto (the cluster and Prometheus when configured, else the demo cluster), "
            "demo, live or off"
        ),
    )
    demo_orders: Literal["auto", "on", "off"] = Field(
        "auto",
        description=(
            "auto (on for the embedded demo database only), on (write new demo orders to "
            "INVDASH_DATABASE_URL as time passes) or off"
        ),
    )
    kube_namespaces: str = Field(
        "all", description="'all' or a comma-separated list of namespace names"
    )
    kube_label_selector: str | None = Field(
        None, description="a Kubernetes label selector such as app.kubernetes.io/part-of=shop"
    )
    kube_timeout_seconds: float = Field(
        5.0, gt=0, le=120, description="seconds above 0, at most 120"
    )
    kube_service_account: str | None = Field(
        None, description="the service account name shown in permission errors"
    )
    prometheus_url: str | None = Field(
        None, description="an http:// or https:// URL such as http://prometheus:9090"
    )
    prometheus_token_file: Path | None = Field(
        None, description="the path of a readable file holding a bearer token"
    )
    prometheus_timeout_seconds: float = Field(
        5.0, gt=0, le=120, description="seconds above 0, at most 120"
    )
    prometheus_queries_file: Path | None = Field(
        None, description="the path of a TOML file overriding named PromQL queries"
    )
    services: str = Field(
        "order-service,payments",
        description="a comma-separated list of service names whose HTTP traffic is shown",
    )
    reload_hours: float = Field(
        24, ge=0, le=8760, description="hours between full page reloads of a screen, 0 for never"
    )
    telemetry_window_minutes: int = Field(
        60, ge=5, le=10_080, description="minutes of history on telemetry charts, 5 to 10080"
    )
    rollup_database_url: str | None = Field(
        None,
        description=(
            "an SQLAlchemy URL of a database (or PostgreSQL schema) invdash may write, "
            "such as postgresql+psycopg://invdash@host/invdash_rollups"
        ),
        min_length=1,
    )
    rollup_recompute_days: int = Field(
        14, ge=1, le=366, description="an integer number of days from 1 to 366"
    )
    auth: Literal["off", "basic", "proxy"] = Field(
        "off",
        description=(
            "off (anyone who reaches the port: for 127.0.0.1), basic (users of "
            "INVDASH_AUTH_USERS_FILE) or proxy (the user INVDASH_AUTH_PROXY_HEADER names, from "
            "INVDASH_AUTH_PROXY_ADDRESSES only)"
        ),
    )
    auth_users_file: Path | None = Field(
        None, description="the path of a readable file of user:bcrypt-hash lines (htpasswd -B)"
    )
    auth_proxy_addresses: str = Field(
        "",
        description="comma-separated addresses or networks of the sign-in proxy, such as 10.0.3.0/24",
    )
    auth_proxy_header: str = Field(
        "X-Forwarded-User",
        pattern=r"^[A-Za-z0-9-]{1,64}$",
        description="the header in which the sign-in proxy names the user, such as X-Forwarded-User",
    )
    frame_ancestors: str = Field(
        "'none'",
        description=(
            "the pages that may embed invdash in a frame: 'none', 'self' or space-separated "
            "origins such as https://wall.example.com"
        ),
    )
    cache_url: str | None = Field(
        None,
        description=(
            "a redis:// or rediss:// URL such as redis://redis:6379/0, shared by every replica"
        ),
    )
    metrics_port: MetricsPort = None
    slo_objective: float = Field(
        0.995,
        gt=0.9,
        lt=1,
        description=(
            "the order service's availability objective over 30 days, a share strictly "
            "between 0.9 and 1 (0.995: 99.5% of requests without a 5xx)"
        ),
    )
    slo_service: str = Field(
        "order-service",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$",
        description=(
            "the service whose availability the SLO measures: one name of letters, digits and "
            "._- (its HTTP traffic, as INVDASH_SERVICES names services)"
        ),
    )
    metrics_token: SecretStr | None = Field(
        None,
        description=(
            "a bearer token of 16 to 256 visible characters (letters, digits, -._~+/=), which "
            "GET /metrics/business asks for"
        ),
    )

    @field_validator(
        "holding_cost_rate",
        "service_level",
        "risk_threshold",
        "database_timeout_seconds",
        "slo_objective",
    )
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @field_validator("metrics_token")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        # RFC 6750's token68: what an Authorization header carries as it is.
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9\-._~+/]{16,256}=*", value.get_secret_value()
        ):
            raise ValueError("must be 16 to 256 letters, digits or -._~+/ (then = padding)")
        return value

    @field_validator("frame_ancestors")
    @classmethod
    def _frame_ancestors(cls, value: str) -> str:
        sources = value.split()
        if not sources or any(not FRAME_SOURCE.fullmatch(source) for source in sources):
            raise ValueError("must be 'none', 'self' or origins such as https://wall.example.com")
        if "'none'" in sources and len(sources) > 1:
            raise ValueError("'none' cannot be combined with other sources")
        return " ".join(sources)

    @field_validator("kube_namespaces")
    @classmethod
    def _namespaces(cls, value: str) -> str:
        if value.strip() == "all":
            return "all"
        names = [name.strip() for name in value.split(",")]
        for name in names:
            if not DNS_LABEL.fullmatch(name):
                raise ValueError(f"{name!r} is not a namespace name")
        return ",".join(names)

    @field_validator("prometheus_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
            raise ValueError("must start with http:// or https:// and name a host")
        return value.rstrip("/") if value else value

    @field_validator("cache_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urllib.parse.urlsplit(value)
        if parts.scheme not in ("redis", "rediss") or not parts.hostname:
            raise ValueError("must start with redis:// or rediss:// and name a host")
        try:
            parts.port  # noqa: B018 - parsing the port is the check
        except ValueError:
            raise ValueError("the port must be a number from 0 to 65535") from None
        if not re.fullmatch(r"/?\d*", parts.path):
            raise ValueError("the path must be empty or a database number such as /0")
        return value

    @field_validator("auth_proxy_addresses")
    @classmethod
    def _networks(cls, value: str) -> str:
        names = [name.strip() for name in value.split(",") if name.strip()]
        for name in names:
            try:
                ipaddress.ip_network(name, strict=False)
            except ValueError:
                raise ValueError(f"{name!r} is not an address or a network") from None
        return ",".join(names)

    @property
    def auth_proxy_networks(self) -> list[str]:
        return [name for name in self.auth_proxy_addresses.split(",") if name]

    @field_validator("prometheus_token_file", "prometheus_queries_file", "auth_users_file")
    @classmethod
    def _readable_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a readable file")
        return value

    @property
    def namespaces(self) -> list[str] | None:
        """The namespaces to watch; None for all."""
        return None if self.kube_namespaces == "all" else self.kube_namespaces.split(",")

    @property
    def service_names(self) -> list[str]:
        return [name.strip() for name in self.services.split(",") if name.strip()]

    @property
    def rollup_url(self) -> str | None:
        """Where ``invdash rollup`` keeps its aggregates: the setting, else for the embedded
        demo its own file; None (live queries only) for any other database."""
        if self.rollup_database_url is not None:
            return self.rollup_database_url
        return self.database_url if self.uses_default_database else None

    @property
    def uses_default_database(self) -> bool:
        return self.database_url == default_database_url()

    @property
    def carries_demo_orders_on(self) -> bool:
        """Whether the server writes the demo's new orders as time passes (demo.orders):
        to invdash's own demo database unless told otherwise, to any other only when told to."""
        if self.demo_orders == "auto":
            return self.uses_default_database
        return self.demo_orders == "on"


class ServerSettings(BaseSettings):
    """How the server is sized and where it listens, read by gunicorn's master from its
    configuration module (``dashboard.gunicorn_conf``); ``Settings`` are read by each worker."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    # Every interface by default: in a container the Service, not the bind, limits who connects.
    host: str = Field(default="0.0.0.0", min_length=1, description="an address to listen on")  # noqa: S104
    port: int = Field(default=8050, ge=1, le=65_535, description="a TCP port from 1 to 65535")
    workers: int = Field(default=2, ge=1, le=64, description="worker processes, 1 to 64")
    threads: int = Field(default=4, ge=1, le=256, description="threads per worker, 1 to 256")
    metrics_port: MetricsPort = None

    @model_validator(mode="after")
    def _metrics_port_of_its_own(self) -> ServerSettings:
        if self.metrics_port == self.port:
            raise ValueError(
                f"{ENV_PREFIX}METRICS_PORT={self.metrics_port} is the dashboard's own port "
                f"({ENV_PREFIX}PORT): give /metrics a port of its own, or leave it unset"
            )
        return self


class SettingsError(Exception):
    """A setting has a value invdash cannot use; the message names the variable and the range."""


def load_settings(**overrides: object) -> Settings:
    """Read the settings from the environment (keyword overrides win), or raise SettingsError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(describe_validation_error(error)) from None


def describe_validation_error(error: ValidationError, model: type[BaseSettings] = Settings) -> str:
    """One clause per bad variable: its name, the value given and the accepted range."""
    lines = []
    for problem in error.errors():
        if not problem["loc"]:
            # A check of several settings together: its message names them.
            lines.append(str(problem["msg"]).removeprefix("Value error, "))
            continue
        field = str(problem["loc"][0])
        info = model.model_fields.get(field)
        accepted = info.description if info is not None and info.description else "a valid value"
        given = problem.get("input")
        if info is not None and SecretStr in typing.get_args(info.annotation):
            # A secret is never echoed, not even a wrong one: only how long it was.
            shown = given.get_secret_value() if isinstance(given, SecretStr) else str(given)
            given = f"<{len(shown)} characters, not shown>"
        elif isinstance(given, str):
            # Error lines end up in pod logs: a URL's password must not.
            given = URL_PASSWORD.sub(r"\1***@", given)
        lines.append(
            f"{ENV_PREFIX}{field.upper()}={given!r} is invalid: expected {accepted} ({problem['msg']})"
        )
    return "; ".join(lines)
