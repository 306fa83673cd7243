"""What the tests' own servers (Prometheus, Redis, PostgreSQL, the Kubernetes API) share: a free
port on 127.0.0.1, the tail of a log for a failure message, waiting for a process to answer,
ending it, and being a context manager that stops the server on the way out."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Self


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def log_tail(log_path: Path, lines: int = 30) -> str:
    """The last lines of a server's log, for a failure message."""
    try:
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {log_path})"


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that logs no line per request."""

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` serving on 127.0.0.1 from a thread of its own while the block runs: its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=2)


def answers_in_time(
    process: subprocess.Popen[bytes],
    answers: Callable[[], bool],
    timeout: float,
    not_yet: tuple[type[Exception], ...],
    pause: float,
) -> bool:
    """Whether ``answers()`` comes true within ``timeout`` s while ``process`` runs, asking
    again ``pause`` s after a no or one of the ``not_yet`` errors."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if answers():
                return True
        except not_yet:
            pass
        time.sleep(pause)
    return False


def end_process(process: subprocess.Popen[bytes] | None) -> None:
    """Terminate a server process, killing it if it does not end within 10 s."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class LocalService:
    """A server a test started, ended for good (``close``: stopped, its files removed) when a
    ``with`` block ends."""

    def stop(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Stop for good; a server whose ``stop`` can be undone removes its files here."""
        self.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class ProcessService(LocalService):
    """A LocalService that is a process of its own: ``program`` from PATH, its files in a new
    temporary ``base_dir`` (``invdash-{name}-…``), its output in ``log_path`` there."""

    def __init__(self, program: str, install_hint: str, name: str) -> None:
        binary = shutil.which(program)
        if binary is None:
            raise FileNotFoundError(f"{program} not found on PATH: {install_hint}")
        self._binary = binary
        self.base_dir = Path(tempfile.mkdtemp(prefix=f"invdash-{name}-"))
        self.log_path = self.base_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def log_tail(self, lines: int = 30) -> str:
        return log_tail(self.log_path, lines)

    def _end_process(self) -> None:
        end_process(self.process)
        self.process = None

    def _remove_files(self) -> None:
        shutil.rmtree(self.base_dir, ignore_errors=True)
