"""A cache shared by every screen: each source query runs at most once per refresh interval.

Entries are keyed by the interval they belong to (wall-clock time // interval), so all screens
of all processes sharing the Flask-Caching backend ask for the same key in the same interval.
Within a process a lock per key makes one thread load while the others wait for its result;
across processes a ``CrossProcessFlight`` does the same for the processes sharing one backend
(``dashboard.redis_cache`` for every replica, ``dashboard.host_cache`` for the workers of one
server). A failed load keeps the last good value, marked with the error and since when it fails.

An entry of a slot never changes once stored, so each process also remembers the entries of the
current interval it has read or loaded, and hands out the same object until the interval ends
rather than unpickling it from the backend on every request.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from dashboard.metrics import CACHE_HITS, CACHE_MISSES
from queries.health import describe_failure

T = TypeVar("T")

# Entries of the current interval a process keeps unpickled: far more than the keys one interval
# asks for (a few dozen), so it bounds only a burst of one-off keys (filters, clicked moments).
MEMO_ENTRIES = 256


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
    """Values shared by every screen, loaded at most once per refresh interval.

    A value handed out is shared by every request of this process during its interval (the same
    object, not a copy): callers must not change it in place. ``memo_entries`` bounds how many
    of the current interval's entries the process keeps; 0 keeps none (every fetch reads the
    backend).
    """

    def __init__(
        self,
        cache: CacheBackend,
        interval_seconds: int,
        clock: Callable[[], float] = time.time,
        flight: CrossProcessFlight | None = None,
        memo_entries: int = MEMO_ENTRIES,
    ) -> None:
        self._cache = cache
        self.interval_seconds = interval_seconds
        self._clock = clock
        self._flight = flight or ProcessLocal()
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self.loads: Counter[str] = Counter()
        self._memo: OrderedDict[str, Fetched[Any]] = OrderedDict()
        self._memo_interval = -1
        self._memo_entries = memo_entries
        self._memo_guard = threading.Lock()

    def fetch(
        self, key: str, loader: Callable[[], T], *, keep_last_good: bool = True
    ) -> Fetched[T]:
        """The value of ``loader()`` for this interval, loading it if no one has yet.

        ``keep_last_good=False`` is for derived values with one-off keys: nothing outlives the
        interval, so such keys cannot pile up.
        """
        slot, interval = self._slot(key)
        key_kind = key.split(":", 1)[0]
        entry: Fetched[T] | None = self._remembered(slot)
        if entry is None:
            entry = self._cache.get(slot)
            if entry is None:
                with self._lock(key):
                    entry = self._remembered(slot) or self._cache.get(slot)
                    if entry is None:
                        with self._flight.turn(slot, lambda: self._cache.get(slot)) as found:
                            if found is None:
                                loaded = self._load(key, loader, keep_last_good)
                                self._cache.set(slot, loaded, timeout=2 * self.interval_seconds)
                                self._remember(slot, interval, loaded)
                                CACHE_MISSES.labels(key=key_kind).inc()
                                return loaded
                            entry = found
            self._remember(slot, interval, entry)
        CACHE_HITS.labels(key=key_kind).inc()
        return entry

    def peek(self, key: str) -> Fetched[Any] | None:
        """This interval's entry for ``key`` if someone loaded it, else the last good one; never loads."""
        slot, _ = self._slot(key)
        entry: Fetched[Any] | None = self._remembered(slot) or self._cache.get(slot)
        return entry if entry is not None else self._cache.get(f"{key}:last-good")

    def _slot(self, key: str) -> tuple[str, int]:
        interval = int(self._clock() // self.interval_seconds)
        return f"{key}:{interval}", interval

    def _remembered(self, slot: str) -> Fetched[Any] | None:
        with self._memo_guard:
            entry = self._memo.get(slot)
            if entry is not None:
                self._memo.move_to_end(slot)
            return entry

    def _remember(self, slot: str, interval: int, entry: Fetched[Any]) -> None:
        with self._memo_guard:
            if interval < self._memo_interval or self._memo_entries == 0:
                # A request that began before the boundary: its slot is over for everyone else.
                return
            if interval > self._memo_interval:
                self._memo.clear()
                self._memo_interval = interval
            self._memo[slot] = entry
            self._memo.move_to_end(slot)
            while len(self._memo) > self._memo_entries:
                self._memo.popitem(last=False)

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
