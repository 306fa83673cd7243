"""One cache for the workers of one server, without a cache server: Flask-Caching's
FileSystemCache in a directory the gunicorn master makes before it forks them, and a lock file
per interval slot (``fcntl.flock``) so one process loads a slot while the others wait for it.

The master (``dashboard.gunicorn_conf``) makes a fresh directory when it starts, names it to its
workers in ``INVDASH_CACHE_DIR`` and removes it when it exits; without that variable (``invdash
serve --dev``, an app made in a test) each process keeps its own cache, as before. With
``INVDASH_CACHE_URL`` Redis is shared by every replica and this cache is not used.

A process that dies while loading loses its lock with its last file descriptor (the kernel
releases a ``flock`` of a dead process), so the next waiter loads at once. One alive but stuck
past the sources' timeouts holds the others for at most ``wait_seconds`` (the slowest source
timeout and a margin, as the Redis lock's expiry); they then load themselves.

The directory holds ``entries/`` (the FileSystemCache, which wants a directory of its own) and
``locks/``. Once per refresh interval one process sweeps both: entries past their timeout, the
oldest beyond ``max_entries`` or ``max_bytes``, files a writer died before renaming, and lock
files of slots long over.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask_caching.backends.filesystemcache import FileSystemCache

if TYPE_CHECKING:
    # The gunicorn master imports this module for CACHE_DIR_ENV: it must not import
    # dashboard.metrics, whose gauges would then count the master among the workers.
    from dashboard.cache import Fetched
    from dashboard.settings import Settings

log = logging.getLogger("invdash")

CACHE_DIR_ENV = "INVDASH_CACHE_DIR"
POLL_SECONDS = 0.01
# Far above what one interval stores (a few dozen entries and their last good values): the caps
# only stop entries of keys that are never asked for again from filling the disk.
MAX_ENTRIES = 2_000
MAX_BYTES = 512 * 2**20
# What cachelib names a cache file while it is being written, before it is renamed into place.
PARTIAL_SUFFIX = FileSystemCache._fs_transaction_suffix
SWEEP_STAMP = "swept"


class HostSharedCache:
    """A ``CacheBackend`` and ``CrossProcessFlight`` shared by the processes of one host.

    ``directory`` must exist and be writable by every process; ``interval_seconds`` is the
    refresh interval (how often to sweep); ``wait_seconds`` bounds the wait for another process's
    load; the sweep keeps at most ``max_entries`` entries and ``max_bytes`` bytes of them (the
    newest written; always the newest one).
    """

    def __init__(
        self,
        directory: Path,
        interval_seconds: float,
        wait_seconds: float,
        max_entries: int = MAX_ENTRIES,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.directory = directory
        self.interval_seconds = interval_seconds
        self.wait_seconds = wait_seconds
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._locks = directory / "locks"
        self._locks.mkdir(exist_ok=True)
        self._entries_dir = directory / "entries"
        # threshold=0: no shared file count, which its read-modify-write would garble across
        # processes; the sweep bounds the directory instead.
        self._entries = FileSystemCache(str(self._entries_dir), threshold=0, default_timeout=0)
        # A file untouched this long belongs to no request still running: one started in the
        # slot's interval has waited wait_seconds at most, and loaded for as long at most.
        self.stale_seconds = 2 * interval_seconds + 2 * wait_seconds

    # --- CacheBackend ----------------------------------------------------------------------
    def get(self, key: str) -> Any:
        return self._entries.get(key)

    def set(self, key: str, value: Any, timeout: int | None = None) -> Any:
        return self._entries.set(key, value, timeout=timeout)

    def delete(self, key: str) -> Any:
        return self._entries.delete(key)

    # --- CrossProcessFlight ----------------------------------------------------------------
    @contextlib.contextmanager
    def turn(
        self, slot: str, peek: Callable[[], Fetched[Any] | None]
    ) -> Iterator[Fetched[Any] | None]:
        try:
            descriptor = os.open(
                self._lock_path(slot), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
            )
        except OSError as error:
            log.warning("shared cache: no lock file for %s (%s); loading it here", slot, error)
            yield None
            return
        try:
            found, holding = self._wait_for_turn(descriptor, slot, peek)
            try:
                yield found
            finally:
                if holding:
                    fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            os.close(descriptor)
        # After the lock is released: the processes waiting for this slot need not wait for it.
        self.sweep_if_due()

    def _lock_path(self, slot: str) -> Path:
        # Slots carry filter values and timestamps; a digest is always a valid file name.
        return self._locks / f"{hashlib.sha256(slot.encode()).hexdigest()[:32]}.lock"

    def _wait_for_turn(
        self, descriptor: int, slot: str, peek: Callable[[], Fetched[Any] | None]
    ) -> tuple[Fetched[Any] | None, bool]:
        """(the entry another process stored, False) or (None or a late entry, True) when this
        process holds the slot's lock; (None, False) when the wait is over (load regardless)."""
        deadline = time.monotonic() + self.wait_seconds
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pass
            except OSError as error:
                log.warning("shared cache: cannot lock %s (%s); loading it here", slot, error)
                return None, False
            else:
                # The holder before us may have stored the entry just before releasing.
                return peek(), True
            found = peek()
            if found is not None:
                return found, False
            if time.monotonic() >= deadline:
                log.warning(
                    "shared cache: %s still loading in another process after %g s; "
                    "loading it here too",
                    slot,
                    self.wait_seconds,
                )
                return None, False
            time.sleep(POLL_SECONDS)

    # --- Sweep -----------------------------------------------------------------------------
    def sweep_if_due(self) -> None:
        """Sweep unless some process of this host did in the last interval or sweeps now."""
        stamp = self.directory / SWEEP_STAMP
        try:
            descriptor = os.open(stamp, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:
            return
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return
            now = time.time()
            # A fresh stamp file has this moment's mtime: the first sweep waits an interval.
            if now - os.fstat(descriptor).st_mtime < self.interval_seconds:
                return
            self.sweep(now)
            os.utime(descriptor)
        finally:
            os.close(descriptor)

    def sweep(self, now: float) -> None:
        """Remove what no request needs any more at ``now`` (wall-clock seconds, as file times
        and the cache's timeouts are): see the module's docstring."""
        # cachelib's own rule for which of its files are past their timeout.
        self._entries._remove_expired(now)
        kept_entries = 0
        kept_bytes = 0
        for modified, size, path in sorted(_files(self._entries_dir), reverse=True):
            if path.name.endswith(PARTIAL_SUFFIX):
                if now - modified > self.stale_seconds:
                    _remove(path)
                continue
            if kept_entries > 0 and (
                kept_entries >= self.max_entries or kept_bytes + size > self.max_bytes
            ):
                _remove(path)
                continue
            kept_entries += 1
            kept_bytes += size
        for modified, _, path in _files(self._locks):
            if now - modified > self.stale_seconds:
                _remove(path)


def _files(directory: Path) -> Iterator[tuple[float, int, Path]]:
    """(mtime, size, path) of each file in ``directory``, skipping any removed meanwhile."""
    with os.scandir(directory) as entries:
        for entry in entries:
            try:
                status = entry.stat()
            except FileNotFoundError:
                continue
            yield status.st_mtime, status.st_size, Path(entry.path)


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except OSError as error:
        if error.errno != errno.ENOENT:
            log.warning("shared cache: cannot remove %s (%s)", path, error)


def host_cache_for(settings: Settings) -> HostSharedCache | None:
    """The cache in INVDASH_CACHE_DIR (set by the gunicorn master), or None without it."""
    from dashboard.redis_cache import lock_seconds

    directory = os.environ.get(CACHE_DIR_ENV)
    if not directory:
        return None
    return HostSharedCache(
        Path(directory),
        interval_seconds=settings.refresh_seconds,
        wait_seconds=lock_seconds(settings),
    )
