"""Whole UTC days as the queries count them: day numbers from 1970-01-01 and naive UTC times.

The inventory schema stores naive UTC (queries.schema); a day is the whole UTC day a moment
falls in, numbered as ``queries.database.day_number`` numbers it in SQL.
"""

from __future__ import annotations

import datetime as dt

EPOCH = dt.date(1970, 1, 1)


def day_of(moment: dt.datetime) -> int:
    """The number of the UTC day ``moment`` (naive UTC) falls in."""
    return (moment.date() - EPOCH).days


def midnight(day: int) -> dt.datetime:
    """The start of day number ``day``, naive UTC."""
    return dt.datetime.combine(EPOCH + dt.timedelta(days=day), dt.time())


def naive_utc(moment: dt.datetime) -> dt.datetime:
    """An aware moment as naive UTC; a naive one is taken to be UTC already."""
    if moment.tzinfo is not None:
        return moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def aware_utc(moment: dt.datetime) -> dt.datetime:
    """A moment as timezone-aware UTC, the convention from every source's boundary on; a naive
    one is taken to be UTC already (the schema's and the Kubernetes client's convention)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def utc_or_none(moment: dt.datetime | None) -> dt.datetime | None:
    """``aware_utc`` of a moment that may be missing (a Kubernetes object's optional times)."""
    return None if moment is None else aware_utc(moment)
