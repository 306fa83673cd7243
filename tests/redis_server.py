"""A real Redis for tests: ``redis-server`` (Debian's) on a free 127.0.0.1 port, nothing on disk.

``RedisServer()`` starts it and waits until it answers PING; ``.url`` is its ``redis://`` URL;
``.stop()`` ends it and ``.start()`` brings it back on the same port (an outage and a recovery,
as a replica sees them). Use it as a context manager to stop it at the end.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import redis
from local_service import LocalService, end_process, free_port, log_tail

REDIS_INSTALL_HINT = (
    "run the tests through `bash scripts/test.sh` as root (it installs it), "
    "or `apt-get install -y --no-install-recommends redis-server`"
)
START_TIMEOUT_SECONDS = 10.0


class RedisServer(LocalService):
    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError(f"redis-server not found on PATH: {REDIS_INSTALL_HINT}")
        self._binary = binary
        self.base_dir = Path(tempfile.mkdtemp(prefix="invdash-redis-"))
        self.log_path = self.base_dir / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        try:
            # Another process can take the free port between probing and binding it: try a few.
            for _attempt in range(3):
                self.port = free_port()
                if self.start():
                    break
            else:
                raise RuntimeError(f"redis-server did not answer PING:\n{self.log_tail()}")
        except BaseException:
            self.close()
            raise

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> bool:
        """Start on ``self.port``; True once it answers PING."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    self._binary,
                    "--port", str(self.port),
                    "--bind", "127.0.0.1",
                    "--save", "",
                    "--appendonly", "no",
                    "--dir", str(self.base_dir),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        try:
            while time.monotonic() < deadline and self.process.poll() is None:
                try:
                    if client.ping():
                        return True
                except redis.RedisError:
                    time.sleep(0.02)
        finally:
            client.close()
        self.stop()
        return False

    def stop(self) -> None:
        end_process(self.process)
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def log_tail(self) -> str:
        return log_tail(self.log_path)
