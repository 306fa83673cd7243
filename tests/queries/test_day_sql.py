"""The SQL that buckets instants into UTC days and minutes (queries.database: day_number,
day_key, date_number, minute_start) on SQLite and PostgreSQL: the day of every instant, the last millisecond of a day
and the first of the next, before 1970 as after, as Python counts days."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from queries.database import date_number, day_key, day_number, minute_start

EPOCH = dt.date(1970, 1, 1)
INSTANTS = [
    dt.datetime(1970, 1, 1, 0, 0, 0),
    dt.datetime(1969, 12, 31, 23, 59, 59, 999000),
    dt.datetime(1969, 12, 31, 0, 0, 0),
    dt.datetime(1900, 3, 1, 12, 30),
    dt.datetime(2026, 12, 7, 23, 59, 59, 999000),
    # Past the last half millisecond: SQLite's julianday() of the whole text rounds it up.
    dt.datetime(2026, 12, 7, 23, 59, 59, 999600),
    dt.datetime(1969, 12, 31, 23, 59, 59, 999999),
    dt.datetime(2026, 12, 8, 0, 0, 0),
    dt.datetime(2026, 12, 8, 0, 0, 0, 1000),
    dt.datetime(2024, 2, 29, 12, 0),
    dt.datetime(2099, 12, 31, 23, 59, 59),
]
metadata = sa.MetaData()
moments = sa.Table(
    "moments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime),
    sa.Column("on", sa.Date),
)


def test_each_instant_falls_in_its_utc_day(empty_engine: sa.Engine) -> None:
    metadata.create_all(empty_engine)
    with empty_engine.begin() as conn:
        conn.execute(
            moments.insert(),
            [{"id": i, "at": at, "on": at.date()} for i, at in enumerate(INSTANTS)],
        )
        rows = conn.execute(
            sa.select(
                moments.c.id,
                day_number(moments.c.at),
                date_number(moments.c.on),
                day_key(moments.c.at),
                date_number(day_key(moments.c.at)),
            ).order_by(moments.c.id)
        ).all()
    for (_, number, date_days, key, key_days), at in zip(rows, INSTANTS, strict=True):
        expected = (at.date() - EPOCH).days
        assert (number, date_days, key_days) == (expected, expected, expected), at
        assert str(key)[:10] == at.date().isoformat(), at


def test_instants_of_one_day_share_one_key_and_the_next_day_has_another(
    empty_engine: sa.Engine,
) -> None:
    metadata.create_all(empty_engine)
    day = [dt.datetime(2026, 12, 7) + dt.timedelta(hours=h, minutes=59) for h in range(24)]
    with empty_engine.begin() as conn:
        conn.execute(
            moments.insert(),
            [{"id": i, "at": at} for i, at in enumerate([*day, dt.datetime(2026, 12, 8)])],
        )
        key = day_key(moments.c.at)
        groups = conn.execute(sa.select(key, sa.func.count()).group_by(key).order_by(key)).all()
    assert [count for _, count in groups] == [24, 1]


@pytest.mark.parametrize("value", ["2026-12-07", "1969-12-31"])
def test_a_date_counts_from_1970(empty_engine: sa.Engine, value: str) -> None:
    metadata.create_all(empty_engine)
    day = dt.date.fromisoformat(value)
    with empty_engine.begin() as conn:
        conn.execute(moments.insert(), [{"id": 1, "on": day}])
        found = conn.execute(sa.select(date_number(moments.c.on))).scalar_one()
    assert found == (day - EPOCH).days


def test_each_instant_falls_in_its_minute(empty_engine: sa.Engine) -> None:
    metadata.create_all(empty_engine)
    with empty_engine.begin() as conn:
        conn.execute(moments.insert(), [{"id": i, "at": at} for i, at in enumerate(INSTANTS)])
        found = conn.execute(sa.select(minute_start(moments.c.at)).order_by(moments.c.id)).scalars()
        assert list(found) == [f"{at:%Y-%m-%d %H:%M}:00" for at in INSTANTS]
