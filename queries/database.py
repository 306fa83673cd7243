"""Connecting to the inventory database and checking that it holds the schema invdash reads."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, CompileError, NoSuchModuleError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from queries.health import describe_failure
from queries.schema import Base

T = TypeVar("T")

# What SQLAlchemy raises for a URL it cannot parse or has no driver for.
UNUSABLE_URL_ERRORS = (ArgumentError, NoSuchModuleError, ImportError)


def unusable_url_message(variable: str, error: Exception) -> str:
    """Why the URL in ``variable`` names no engine; never the URL (it can carry a password)."""
    reason = (
        "it does not parse"
        if isinstance(error, ArgumentError)
        else f"no driver installed for it: {describe_failure(error)}"
    )
    return (
        f"{variable} is not a usable SQLAlchemy URL ({reason}); "
        "expected sqlite:///path or postgresql+psycopg://user:password@host/db"
    )


def create_inventory_engine(url: str, timeout_seconds: float = 5.0) -> Engine:
    """An Engine whose connections give up after ``timeout_seconds`` (connect and statement)."""
    parsed = make_url(url)
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        connect_args["timeout"] = timeout_seconds
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # Dash serves callbacks from several threads; each checks out its own connection.
        connect_args["check_same_thread"] = False
    elif parsed.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = max(1, round(timeout_seconds))
        statement_timeout = f"-c statement_timeout={round(timeout_seconds * 1000)}"
        # Keep the URL's own options (``?options=-csearch_path%3Dinvdash``: a schema of its own).
        given = parsed.query.get("options")
        given = given if isinstance(given, str) else " ".join(given or ())
        connect_args["options"] = f"{given} {statement_timeout}".strip()
    return sa.create_engine(parsed, connect_args=connect_args, pool_pre_ping=True)


def missing_schema(engine: Engine) -> list[str]:
    """The tables and columns invdash needs that the database lacks, as 'table' or 'table.column'."""
    inspector = sa.inspect(engine)
    present_tables = set(inspector.get_table_names()) | set(inspector.get_view_names())
    missing: list[str] = []
    for table in Base.metadata.sorted_tables:
        if table.name not in present_tables:
            missing.append(table.name)
            continue
        columns = {column["name"] for column in inspector.get_columns(table.name)}
        missing.extend(f"{table.name}.{c.name}" for c in table.columns if c.name not in columns)
    return missing


def database_is_empty(engine: Engine) -> bool:
    """True when no table of the schema exists or every one of them is empty."""
    present = set(sa.inspect(engine).get_table_names())
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in present and conn.execute(sa.select(table).limit(1)).first():
                return False
    return True


def unparsed(column: sa.ColumnElement[Any], name: str) -> sa.ColumnElement[Any]:
    """A timestamp read as the driver gives it (SQLite: ISO text), for pandas to parse in bulk
    (``to_datetimes``): SQLAlchemy would parse the text row by row."""
    return sa.type_coerce(column, sa.String).label(name)


def to_datetimes(values: pd.Series) -> pd.Series:
    """ISO text or datetimes (NULL as NaT) as datetime64[ns]."""
    return pd.to_datetime(values, format="ISO8601").astype("datetime64[ns]")


def rows_of(conn: sa.Connection, query: sa.Select[*tuple[Any, ...]]) -> pd.DataFrame:
    """A query's rows as a frame with its column names (an empty frame keeps them)."""
    names = list(query.selected_columns.keys())
    rows = conn.execute(query).all()
    if not rows:
        return pd.DataFrame(columns=names)
    # Column by column: handed Row objects, pandas probes each one for attributes, and every
    # miss costs SQLAlchemy an exception (seconds for a hundred thousand rows).
    return pd.DataFrame(
        dict(zip(names, (list(values) for values in zip(*rows, strict=True)), strict=True))
    )


class DialectSql(FunctionElement[T]):
    """An expression of one argument whose SQL differs by dialect: a subclass's ``sql`` maps
    each dialect's name (sqlite, postgresql) to it, ``{}`` standing for the argument."""

    sql: ClassVar[dict[str, str]] = {}
    inherit_cache = True


@compiles(DialectSql)
def _dialect_sql(element: DialectSql[Any], compiler: Any, **kw: Any) -> str:
    dialect = compiler.dialect.name
    if dialect not in element.sql:
        raise CompileError(f"{type(element).__name__} has no SQL for {dialect}")
    return element.sql[dialect].format(compiler.process(element.clauses, **kw))


class day_number(DialectSql[int]):
    """Whole days since 1970-01-01 of a naive UTC timestamp, on SQLite and PostgreSQL alike.

    On SQLite the Julian day of the timestamp's date text (its first 10 characters: SQLite
    keeps timestamps as ISO text), truncated: the date's midnight is a Julian day and a half,
    positive for every date SQLite reads, and 1970-01-01 is 2440587.5. Not the Julian day of
    the whole timestamp, which SQLite rounds to the millisecond (23:59:59.9996 would fall on
    the next day), nor date()'s parse and format per row."""

    type = sa.Integer()
    inherit_cache = True
    sql: ClassVar[dict[str, str]] = {
        "sqlite": "(CAST(julianday(substr({}, 1, 10)) AS INTEGER) - 2440587)",
        "postgresql": "(CAST({} AS DATE) - DATE '1970-01-01')",
    }


class day_key(DialectSql[Any]):
    """A value per UTC day of a naive UTC timestamp, to group by when the day's number is not
    needed: the date's ISO text on SQLite (where timestamps are ISO text), the date on
    PostgreSQL."""

    inherit_cache = True
    sql: ClassVar[dict[str, str]] = {
        "sqlite": "substr({}, 1, 10)",
        "postgresql": "CAST({} AS DATE)",
    }


class date_number(DialectSql[int]):
    """Whole days since 1970-01-01 of a date: a date column, or a ``day_key`` (a query that
    groups by the key numbers each group's day once, not each row's). ``day_number`` without
    the cut a timestamp needs: SQLite's Julian day of a date's text is its midnight already."""

    type = sa.Integer()
    inherit_cache = True
    sql: ClassVar[dict[str, str]] = {
        "sqlite": "CAST(julianday({}) - 2440587.5 AS INTEGER)",
        "postgresql": "({} - DATE '1970-01-01')",
    }


class minute_start(DialectSql[str]):
    """A naive UTC timestamp truncated to its minute, as ISO text 'YYYY-MM-DD HH:MM:00' (on
    SQLite, where timestamps are that text, its first 16 characters: a third cheaper than
    strftime's parse and format per order line)."""

    type = sa.String()
    inherit_cache = True
    sql: ClassVar[dict[str, str]] = {
        "sqlite": "(substr({}, 1, 16) || ':00')",
        "postgresql": "to_char(date_trunc('minute', {}), 'YYYY-MM-DD HH24:MI:00')",
    }


def among(column: Any, values: Sequence[int] | None) -> sa.ColumnElement[bool]:
    """``column IN values``; every row when ``values`` is None."""
    return sa.true() if values is None else column.in_(values)


class by_code_point(DialectSql[str]):
    """A text column compared by Unicode code point (as Python compares str), whatever the
    database's collation: SQLite's BINARY compares UTF-8 bytes, PostgreSQL's "C" the bytes of
    the database encoding; in UTF-8 both orders are the code points'. For ORDER BY."""

    type = sa.String()
    inherit_cache = True
    sql: ClassVar[dict[str, str]] = {
        "sqlite": "{} COLLATE BINARY",
        "postgresql": '{} COLLATE "C"',
    }
