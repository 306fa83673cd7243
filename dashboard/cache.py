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

With ``revalidate_in_background`` (what the app runs with) a request never waits for a source it
has a recent answer from: when a new interval begins, the first request of each process to ask
for a key gets the last interval's entry at once and starts the new interval's load in a thread
of its own, still once per interval for every process sharing the backend. Only a key with no
entry from the last ``STALE_INTERVALS`` intervals (the first request after start-up or after a
long idle, a source stuck past that) is loaded while the request waits, as without it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
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
# An entry this many intervals old at most is handed out while its key reloads in the background.
STALE_INTERVALS = 3

log = logging.getLogger("invdash")


@dataclass(frozen=True)
class Fetched(Generic[T]):
    """A cached result: the last good value (None if never loaded) and the current error."""

    value: T | None
    fetched_at: dt.datetime | None
    error: str | None = None
    error_since: dt.datetime | None = None


@dataclass(frozen=True)
class Slot:
    """Where one interval's entry of a key lives."""

    key: str
    name: str  # the backend's key of the entry: key, then the interval's number
    number: int  # which interval of ``seconds`` (wall-clock time // seconds)
    seconds: int  # the key's interval: the refresh interval unless fetched ``every_seconds``
    interval: int  # which refresh interval it is now (the process memo's)


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


def key_kind_of(key: str) -> str:
    """The metrics label of a cache key: its first part (``inventory`` of ``inventory:snapshot``)."""
    return key.split(":", 1)[0]


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
    backend). ``revalidate_in_background``: see the module's docstring.
    """

    def __init__(
        self,
        cache: CacheBackend,
        interval_seconds: int,
        clock: Callable[[], float] = time.time,
        flight: CrossProcessFlight | None = None,
        memo_entries: int = MEMO_ENTRIES,
        revalidate_in_background: bool = False,
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
        self._revalidate = revalidate_in_background
        # Each key's newest entry this process stored or read: (its interval, the entry).
        self._latest: OrderedDict[str, tuple[int, Fetched[Any]]] = OrderedDict()
        # Slots being loaded in the background: a thread each (a daemon, so that a stuck
        # source never holds up a worker's exit), at most one per key and interval.
        self._pending: set[str] = set()

    def fetch(
        self,
        key: str,
        loader: Callable[[], T],
        *,
        keep_last_good: bool = True,
        every_seconds: int | None = None,
    ) -> Fetched[T]:
        """The value of ``loader()`` for this interval, loading it if no one has yet.

        ``keep_last_good=False`` is for derived values with one-off keys: nothing outlives the
        interval, so such keys cannot pile up. ``every_seconds`` loads ``key`` once in that many
        seconds instead of once per refresh interval (figures of whole past days, which change
        far more slowly than screens refresh); a key must always be fetched with the same.
        """
        slot = self._slot(key, every_seconds)
        entry: Fetched[T] | None = self._remembered(slot)
        if entry is None:
            entry = self._cache.get(slot.name)
            if entry is None:
                stale = self._stale(slot) if keep_last_good and self._revalidate else None
                if stale is not None:
                    self._load_in_background(slot, loader)
                    CACHE_HITS.labels(key=key_kind_of(key)).inc()
                    return stale
                return self._fill(slot, loader, keep_last_good)
            self._remember(slot, entry, keep_last_good)
        CACHE_HITS.labels(key=key_kind_of(key)).inc()
        return entry

    def lasting(self, key: str, build: Callable[[], T], seconds: int) -> Fetched[T]:
        """``build()``, made once for every process sharing the backend and kept about
        ``seconds`` whatever the interval: for values that are a pure function of their key (a
        rendering of one snapshot names the snapshot in its key), so a screen handed the last
        interval's entry while the next one loads finds its rendering made. A failure is kept
        as long (a pure build fails the same way again)."""
        interval = int(self._clock() // self.interval_seconds)
        # _fill keeps an entry in the backend for twice its slot's seconds.
        slot = Slot(key, f"{key}:lasting", interval, max(1, seconds // 2), interval)
        entry: Fetched[T] | None = self._remembered(slot)
        if entry is None:
            entry = self._cache.get(slot.name)
            if entry is None:
                return self._fill(slot, build, keep_last_good=False)
            self._remember(slot, entry, keep_last_good=False)
        CACHE_HITS.labels(key=key_kind_of(key)).inc()
        return entry

    def _fill(self, slot: Slot, loader: Callable[[], T], keep_last_good: bool) -> Fetched[T]:
        """``slot``'s entry, loaded by this thread unless another thread or process is loading
        it (then waiting for theirs)."""
        with self._lock(slot.key):
            entry: Fetched[T] | None = self._remembered(slot) or self._cache.get(slot.name)
            if entry is None:
                with self._flight.turn(slot.name, lambda: self._cache.get(slot.name)) as found:
                    if found is None:
                        loaded = self._load(slot.key, loader, keep_last_good)
                        self._cache.set(slot.name, loaded, timeout=2 * slot.seconds)
                        self._remember(slot, loaded, keep_last_good, store=True)
                        CACHE_MISSES.labels(key=key_kind_of(slot.key)).inc()
                        return loaded
                    entry = found
        self._remember(slot, entry, keep_last_good)
        CACHE_HITS.labels(key=key_kind_of(slot.key)).inc()
        return entry

    def _stale(self, slot: Slot) -> Fetched[Any] | None:
        """The newest entry of the slot's key from its last STALE_INTERVALS intervals, if any:
        this process's, or else the one another process stored."""
        with self._memo_guard:
            latest = self._latest.get(slot.key)
        if latest is None:
            latest = self._cache.get(f"{slot.key}:latest")
            if latest is not None:
                self._note_latest(slot.key, *latest)
        if latest is None or slot.number - latest[0] > STALE_INTERVALS:
            return None
        return latest[1]

    def _note_latest(self, key: str, number: int, entry: Fetched[Any]) -> None:
        with self._memo_guard:
            known = self._latest.get(key)
            if known is None or known[0] <= number:
                self._latest[key] = (number, entry)
                self._latest.move_to_end(key)
                while len(self._latest) > MEMO_ENTRIES:
                    self._latest.popitem(last=False)

    def _load_in_background(self, slot: Slot, loader: Callable[[], Any]) -> None:
        """Start loading ``slot`` in a thread of this process, unless it already is."""
        with self._memo_guard:
            if slot.name in self._pending:
                return
            self._pending.add(slot.name)

        def run() -> None:
            try:
                self._fill(slot, loader, keep_last_good=True)
            except Exception:
                # A cache backend that fails: the next request of the interval tries again.
                log.exception("background load of %s failed", slot.key)
            finally:
                with self._memo_guard:
                    self._pending.discard(slot.name)

        threading.Thread(target=run, name=f"invdash-revalidate {slot.key}", daemon=True).start()

    def settle(self, timeout_seconds: float = 30.0) -> bool:
        """Wait until no background load runs (for tests and a clean shutdown); False if some
        still did after ``timeout_seconds``."""
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            with self._memo_guard:
                if not self._pending:
                    return True
            time.sleep(0.005)
        return False

    def peek(self, key: str, every_seconds: int | None = None) -> Fetched[Any] | None:
        """This interval's entry for ``key`` if someone loaded it, else the last good one; never loads."""
        slot = self._slot(key, every_seconds)
        entry: Fetched[Any] | None = self._remembered(slot) or self._cache.get(slot.name)
        return entry if entry is not None else self._cache.get(f"{key}:last-good")

    def _slot(self, key: str, every_seconds: int | None) -> Slot:
        now = self._clock()
        seconds = every_seconds or self.interval_seconds
        number = int(now // seconds)
        interval = int(now // self.interval_seconds)
        name = (
            f"{key}:{number}" if seconds == self.interval_seconds else f"{key}:{seconds}s:{number}"
        )
        return Slot(key, name, number, seconds, interval)

    def _remembered(self, slot: Slot) -> Fetched[Any] | None:
        """The memo's entry of ``slot``, if the memo is of the slot's interval (a slot of
        ``lasting`` or ``every_seconds`` has the same name in many intervals)."""
        with self._memo_guard:
            if slot.interval != self._memo_interval:
                return None
            entry = self._memo.get(slot.name)
            if entry is not None:
                self._memo.move_to_end(slot.name)
            return entry

    def _remember(
        self, slot: Slot, entry: Fetched[Any], keep_last_good: bool, store: bool = False
    ) -> None:
        """Keep ``entry`` in this process's memo for the rest of the interval; as its key's
        newest entry too when it outlives the interval (``store``: also in the backend, for
        the other processes)."""
        if keep_last_good:
            self._note_latest(slot.key, slot.number, entry)
            if store and self._revalidate:
                self._cache.set(
                    f"{slot.key}:latest",
                    (slot.number, entry),
                    timeout=(STALE_INTERVALS + 1) * slot.seconds,
                )
        with self._memo_guard:
            interval = slot.interval
            if interval < self._memo_interval or self._memo_entries == 0:
                # A request that began before the boundary: its slot is over for everyone else.
                return
            if interval > self._memo_interval:
                self._memo.clear()
                self._memo_interval = interval
            self._memo[slot.name] = entry
            self._memo.move_to_end(slot.name)
            while len(self._memo) > self._memo_entries:
                self._memo.popitem(last=False)

    def _lock(self, key: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(key, threading.Lock())

    def _load(self, key: str, loader: Callable[[], T], keep_last_good: bool) -> Fetched[T]:
        now = dt.datetime.fromtimestamp(self._clock(), dt.UTC)
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
