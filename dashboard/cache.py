"""A cache shared by every screen: each source query runs at most once per refresh interval.

Entries are keyed by the interval they belong to (wall-clock time // interval), so all screens
of all processes sharing the Flask-Caching backend ask for the same key in the same interval.
Within a process a lock per key makes one thread load while the others wait for its result.
A failed load keeps the last good value, marked with the error and since when it fails.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask_caching import Cache

from queries.health import describe_failure

T = TypeVar("T")


@dataclass(frozen=True)
class Fetched(Generic[T]):
    """A cached result: the last good value (None if never loaded) and the current error."""

    value: T | None
    fetched_at: dt.datetime | None
    error: str | None = None
    error_since: dt.datetime | None = None


class SharedCache:
    def __init__(
        self, cache: Cache, interval_seconds: int, clock: Callable[[], float] = time.time
    ) -> None:
        self._cache = cache
        self.interval_seconds = interval_seconds
        self._clock = clock
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self.loads: Counter[str] = Counter()

    def fetch(
        self, key: str, loader: Callable[[], T], *, keep_last_good: bool = True
    ) -> Fetched[T]:
        """The value of ``loader()`` for this interval, loading it if no one has yet.

        ``keep_last_good=False`` is for derived values with one-off keys: nothing outlives the
        interval, so such keys cannot pile up.
        """
        slot = f"{key}:{int(self._clock() // self.interval_seconds)}"
        entry: Fetched[T] | None = self._cache.get(slot)
        if entry is not None:
            return entry
        with self._lock(key):
            entry = self._cache.get(slot)
            if entry is None:
                entry = self._load(key, loader, keep_last_good)
                self._cache.set(slot, entry, timeout=2 * self.interval_seconds)
        return entry

    def peek(self, key: str) -> Fetched[Any] | None:
        """This interval's entry for ``key`` if someone loaded it, else the last good one; never loads."""
        slot = f"{key}:{int(self._clock() // self.interval_seconds)}"
        entry: Fetched[Any] | None = self._cache.get(slot)
        return entry if entry is not None else self._cache.get(f"{key}:last-good")

    def _lock(self, key: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(key, threading.Lock())

    def _load(self, key: str, loader: Callable[[], T], keep_last_good: bool) -> Fetched[T]:
        now = dt.datetime.fromtimestamp(self._clock(), dt.UTC).replace(tzinfo=None)
        self.loads[key] += 1
        try:
            value = loader()
        except Exception as error:
            if not keep_last_good:
                return Fetched(
                    value=None, fetched_at=None, error=describe_failure(error), error_since=now
                )
            last: Fetched[T] | None = self._cache.get(f"{key}:last-good")
            since: dt.datetime | None = self._cache.get(f"{key}:failing-since")
            if since is None:
                since = now
                self._cache.set(f"{key}:failing-since", since, timeout=0)
            return Fetched(
                value=last.value if last else None,
                fetched_at=last.fetched_at if last else None,
                error=describe_failure(error),
                error_since=since,
            )
        good = Fetched(value=value, fetched_at=now)
        if keep_last_good:
            self._cache.set(f"{key}:last-good", good, timeout=0)
            self._cache.delete(f"{key}:failing-since")
        return good
