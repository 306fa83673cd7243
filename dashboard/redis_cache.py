"""One cache for every replica and worker: Flask-Caching's Redis backend, a Redis lock per
interval slot, and this process's own cache whenever Redis does not answer.

With ``INVDASH_CACHE_URL`` all processes read and write the same keys, and the first process to
miss a slot takes its lock and loads it while the others poll the slot for its result, so each
source query runs once per interval however many replicas, workers and screens there are.

Redis unreachable (at start or later) is not fatal: this process logs it once, serves from its
own cache (the single flight is then per process, as without Redis), reports it through
``health()`` (the status strip and ``/readyz``) and tries Redis again once per retry period.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import redis
from flask_caching.backends.rediscache import RedisCache
from flask_caching.backends.simplecache import SimpleCache
from redis.backoff import NoBackoff
from redis.exceptions import LockError, RedisError
from redis.retry import Retry

from dashboard.cache import CacheBackend, Fetched
from dashboard.metrics import SHARED_CACHE_UP
from dashboard.settings import Settings
from queries.health import Health, describe_failure
from queries.inventory import SNAPSHOT_STATEMENTS

log = logging.getLogger("invdash")

T = TypeVar("T")

CONNECT_TIMEOUT_SECONDS = 1.0
COMMAND_TIMEOUT_SECONDS = 2.0
POLL_SECONDS = 0.05
# The lock outlives the slowest source call by this much; if its holder dies, it expires and a
# waiting process loads instead.
LOCK_MARGIN_SECONDS = 5.0
LOCAL_ENTRIES = 10_000
# A Redis that hangs costs the connect timeout per retry: not more often than this.
MIN_RETRY_SECONDS = 5


def redis_client(url: str) -> redis.Redis:
    """A client that fails fast: a down Redis must cost a page a second at most, not a hang.
    One immediate retry reconnects a connection Redis closed (a restart, an idle timeout)."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        socket_timeout=COMMAND_TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), 1),
    )


def key_prefix(settings: Settings) -> str:
    """Keys of replicas with the same settings, and only those, meet: a rolling update that
    changes a setting (another database, another range) must not read the old pods' entries."""
    digest = hashlib.sha256(settings.model_dump_json().encode()).hexdigest()[:12]
    return f"invdash:{digest}:"


def redacted(url: str) -> str:
    """The URL without its password, for logs and health messages."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    where = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit((parts.scheme, where, parts.path, "", ""))


def lock_seconds(settings: Settings) -> float:
    """How long a load may hold its slot before the waiters load themselves: the slowest
    loader's bound, the inventory snapshot's statements each taking up to the timeout."""
    slowest = max(
        settings.database_timeout_seconds * SNAPSHOT_STATEMENTS,
        settings.kube_timeout_seconds,
        settings.prometheus_timeout_seconds,
    )
    return slowest + LOCK_MARGIN_SECONDS


class RedisSharedCache:
    """A ``CacheBackend`` and ``CrossProcessFlight`` on Redis, falling back to a local cache.

    ``client`` is a redis-py client (``redis_client(url)``); ``url`` is only shown to people.
    """

    def __init__(
        self,
        client: redis.Redis,
        url: str,
        prefix: str,
        lock_seconds: float,
        retry_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.url = redacted(url)
        self.prefix = prefix
        self.lock_seconds = lock_seconds
        self.retry_seconds = retry_seconds
        self._clock = clock
        self._shared: CacheBackend = RedisCache(host=client, key_prefix=prefix)
        self._local: CacheBackend = SimpleCache(threshold=LOCAL_ENTRIES)
        self._state = threading.Lock()
        self._down_since: float | None = None
        self._down_reason = ""
        self._retry_at = 0.0
        self._up = SHARED_CACHE_UP.labels(url=self.url)
        self._up.set(1)

    # --- CacheBackend ----------------------------------------------------------------------
    def get(self, key: str) -> Any:
        return self._either(lambda cache: cache.get(key))

    def set(self, key: str, value: Any, timeout: int | None = None) -> Any:
        return self._either(lambda cache: cache.set(key, value, timeout=timeout))

    def delete(self, key: str) -> Any:
        return self._either(lambda cache: cache.delete(key))

    # --- CrossProcessFlight ----------------------------------------------------------------
    @contextlib.contextmanager
    def turn(
        self, slot: str, peek: Callable[[], Fetched[Any] | None]
    ) -> Iterator[Fetched[Any] | None]:
        if not self.shared:
            yield None
            return
        lock = self.client.lock(
            f"{self.prefix}flight:{slot}", timeout=self.lock_seconds, blocking=False
        )
        found, holding = self._wait_for_turn(lock, peek)
        try:
            yield found
        finally:
            if holding:
                with contextlib.suppress(LockError, RedisError):
                    # LockError: it expired while we loaded, and may be someone else's now.
                    lock.release()

    def _wait_for_turn(
        self, lock: Any, peek: Callable[[], Fetched[Any] | None]
    ) -> tuple[Fetched[Any] | None, bool]:
        """(the entry another process stored, False) or (None or a late entry, True) when this
        process holds the lock; (None, False) when Redis failed on the way (load locally)."""
        # The lock expires after lock_seconds, so a waiter gets its turn by then at the latest;
        # the deadline only guards against a clock or Redis gone strange.
        deadline = time.monotonic() + 2 * self.lock_seconds
        while True:
            try:
                if lock.acquire(blocking=False):
                    # The holder before us may have stored the entry just before releasing.
                    return peek(), True
            except RedisError as error:
                self._fall_back(error)
                return None, False
            found = peek()
            if found is not None or not self.shared or time.monotonic() > deadline:
                return found, False
            time.sleep(POLL_SECONDS)

    # --- Fallback --------------------------------------------------------------------------
    @property
    def shared(self) -> bool:
        """True while Redis serves; when it does not, tries it again once per retry period."""
        with self._state:
            if self._down_since is None:
                return True
            if self._clock() < self._retry_at:
                return False
            self._retry_at = self._clock() + self.retry_seconds
        try:
            self.client.ping()
        except RedisError as error:
            self._fall_back(error)
            return False
        with self._state:
            log.warning("shared cache: Redis at %s answers again; sharing entries", self.url)
            self._down_since = None
        self._up.set(1)
        return True

    def _either(self, operation: Callable[[CacheBackend], T]) -> T:
        return self.with_redis(lambda _: operation(self._shared), lambda: operation(self._local))

    def with_redis(self, shared: Callable[[redis.Redis], T], otherwise: Callable[[], T]) -> T:
        """``shared(client)`` while Redis serves; ``otherwise()`` when it does not, or fails now
        (which starts the fallback)."""
        if self.shared:
            try:
                return shared(self.client)
            except RedisError as error:
                self._fall_back(error)
        return otherwise()

    def _fall_back(self, error: RedisError) -> None:
        with self._state:
            now = self._clock()
            self._retry_at = now + self.retry_seconds
            if self._down_since is not None:
                return
            self._down_since = now
            self._down_reason = describe_failure(error)
        # Once per outage and process, not once per request.
        log.warning(
            "shared cache: Redis at %s unreachable (%s); this process uses its own cache and "
            "retries every %g s",
            self.url,
            self._down_reason,
            self.retry_seconds,
        )
        self._up.set(0)

    def health(self) -> Health:
        """ok while Redis serves; error (never an exception) while this process falls back.
        Asks Redis itself, so a Redis that stopped since the last cache access shows at once."""
        shared = self.shared
        if shared:
            try:
                self.client.ping()
            except RedisError as error:
                self._fall_back(error)
                shared = False
        details = {"url": self.url, "lock_seconds": f"{self.lock_seconds:g}"}
        if shared:
            return Health("ok", f"Redis at {self.url}, shared by every replica", details)
        with self._state:
            since = dt.datetime.fromtimestamp(self._down_since or self._clock(), dt.UTC)
            reason = self._down_reason
        return Health(
            "error",
            f"fell back to per-process caches since {since:%H:%M:%S} UTC: {reason}",
            {**details, "since": since.isoformat(timespec="seconds"), "reason": reason},
        )


def shared_cache_for(settings: Settings) -> RedisSharedCache | None:
    """The Redis-backed cache of INVDASH_CACHE_URL, or None without it. Connects lazily: a Redis
    that is down at start-up is a fallback, not a failed start."""
    if settings.cache_url is None:
        return None
    return RedisSharedCache(
        redis_client(settings.cache_url),
        settings.cache_url,
        key_prefix(settings),
        lock_seconds(settings),
        retry_seconds=max(settings.refresh_seconds, MIN_RETRY_SECONDS),
    )
