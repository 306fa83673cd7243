"""A real Redis for tests: ``redis-server`` (Debian's) on a free 127.0.0.1 port, nothing on disk.

``RedisServer()`` starts it and waits until it answers PING; ``.url`` is its ``redis://`` URL;
``.stop()`` ends it and ``.start()`` brings it back on the same port (an outage and a recovery,
as a replica sees them). Use it as a context manager to stop it at the end.
"""

from __future__ import annotations

import subprocess

import redis
from local_service import ProcessService, answers_in_time, free_port

REDIS_INSTALL_HINT = (
    "run the tests through `bash scripts/test.sh` as root (it installs it), "
    "or `apt-get install -y --no-install-recommends redis-server`"
)
START_TIMEOUT_SECONDS = 10.0


class RedisServer(ProcessService):
    def __init__(self) -> None:
        super().__init__("redis-server", REDIS_INSTALL_HINT, "redis")
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
        try:
            if answers_in_time(
                self.process,
                lambda: bool(client.ping()),
                START_TIMEOUT_SECONDS,
                not_yet=(redis.RedisError,),
                pause=0.02,
            ):
                return True
        finally:
            client.close()
        self.stop()
        return False

    def stop(self) -> None:
        self._end_process()

    def close(self) -> None:
        self.stop()
        self._remove_files()
