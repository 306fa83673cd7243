"""A cache shared by every screen: each source query runs at most once per refresh interval.

Entries are keyed by the interval they belong to (wall-clock time // interval), so all screens
of all processes sharing the Flask-Caching backend ask for the same key in the same interval.
Within a process a lock per key makes one thread load while the others wait for its result;
across processes a ``CrossProcessFlight`` (``dashboard.redis_cache``) does the same for the
processes sharing one backend. A failed load keeps the last good value, marked with the error
and since when it fails.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from dashboard.metrics import CACHE_HITS, CACHE_MISSES
from queries.health import describe_failure

T = TypeVar("T")


@dataclass(frozen=True)
class Fetched(Generic[T]):
    """A cached result: the last good value (None if never loaded) and the current error."""

    value: T | None
    fetched_at: dt.datetime | None
    error: str | None = None
    error_since: dt.datetime | None = None


class CacheBackend(Protocol):
    """What SharedCache needs of a Flask-Caching cache; ``timeout`` 0 means never expire."""

    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any, timeout: int | None = None) -> Any: ...

    def delete(self, key: str) -> Any: ...


class CrossProcessFlight(Protocol):
    """Single flight across the processes that share one cache backend."""

    def turn(
        self, slot: str, peek: Callable[[], Fetched[Any] | None]
    ) -> AbstractContextManager[Fetched[Any] | None]:
        """Wait until ``slot`` is filled by another process (yields its entry, read with
        ``peek``) or this process may fill it (yields None; the caller loads and stores the
        entry before leaving the block)."""
        ...


class ProcessLocal:
    """No other process shares the backend: the per-process lock is the whole single flight."""

    @contextlib.contextmanager
    def turn(self, slot: str, peek: Callable[[], Fetched[Any] | None]) -> Iterator[None]:
        yield None


class SharedCache:
    def __init__(
        self,
        cache: CacheBackend,
        interval_seconds: int,
        clock: Callable[[], float] = time.time,
        flight: CrossProcessFlight | None = None,
    ) -> None:
        self._cache = cache
        self.interval_seconds = interval_seconds
        self._clock = clock
        self._flight = flight or ProcessLocal()
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
        key_kind = key.split(":", 1)[0]
        entry: Fetched[T] | None = self._cache.get(slot)
        if entry is None:
            with self._lock(key):
                entry = self._cache.get(slot)
                if entry is None:
                    with self._flight.turn(slot, lambda: self._cache.get(slot)) as found:
                        if found is None:
                            loaded = self._load(key, loader, keep_last_good)
                            self._cache.set(slot, loaded, timeout=2 * self.interval_seconds)
                            CACHE_MISSES.labels(key=key_kind).inc()
                            return loaded
                        entry = found
        CACHE_HITS.labels(key=key_kind).inc()
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
