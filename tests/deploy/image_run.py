"""The image without a container engine: its install script into a virtualenv, its CMD and ENV.

The Dockerfile's paths map onto temporary directories: /opt/invdash onto the virtualenv that
scripts/image-install.sh made, /tmp onto a fresh directory per run (the pod's emptyDir). The
environment is the Dockerfile's ENV and nothing else from the caller's but PATH, so a developer's
INVDASH_* or KUBECONFIG cannot leak in.
"""

from __future__ import annotations

import re
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from dockerfile_facts import command, environment, final_stage, instructions

IMAGE_PREFIX = "/opt/invdash"
# /tmp where it starts a path: "/tmp", "/tmp/x", "sqlite:////tmp/x"; not "/tmpfs" or "/var/tmp".
_TMP = re.compile(r"(?<![\w.])/tmp(?=/|$)")


@dataclass(frozen=True)
class InstalledImage:
    venv: Path  # stands for /opt/invdash

    def path_in(self, tmp: Path, value: str) -> str:
        """A value of the image's, with its /opt/invdash and /tmp moved to this run's places."""
        return _TMP.sub(str(tmp), value.replace(IMAGE_PREFIX, str(self.venv)))

    def environment(self, tmp: Path, host_path: str, **settings: str | None) -> dict[str, str]:
        """The image's ENV for a run whose /tmp is ``tmp``; ``settings`` override, None unsets."""
        env = {
            name: self.path_in(tmp, value).replace("$PATH", host_path)
            for name, value in environment(final_stage(instructions())).items()
        }
        for name, value in settings.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def command(self) -> list[str]:
        """The image's CMD, its program resolved in the virtualenv as the image's PATH would."""
        program, *arguments = command(final_stage(instructions()))
        return [str(self.venv / "bin" / program), *arguments]


def http_get(url: str, timeout_seconds: float = 5) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=timeout_seconds) as response:  # noqa: S310 - loopback
        return int(response.status), response.read()


def wait_until_healthy(
    base_url: str, process: subprocess.Popen[str], timeout_seconds: float
) -> None:
    """Return once ``/healthz`` answers 200; fail with the server's output if it exits first."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"the server exited with {process.returncode}:\n{output}")
        try:
            if http_get(f"{base_url}/healthz", timeout_seconds=2)[0] == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"no 200 from {base_url}/healthz within {timeout_seconds} s")
