"""What the tests' own servers (Prometheus, Redis, PostgreSQL, the Kubernetes API) share: a free
port on 127.0.0.1, the tail of a log for a failure message, ending a process, and being a
context manager that stops the server on the way out."""

from __future__ import annotations

import socket
import subprocess
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
