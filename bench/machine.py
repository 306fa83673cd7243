"""What machine a benchmark ran on: figures from different machines are not comparable."""

from __future__ import annotations

import os
import platform
import sqlite3
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Machine:
    cores: int
    memory_gib: float
    cpu_model: str
    system: str
    python: str
    sqlite: str


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return float("nan")


def _system() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.platform()


def this_machine() -> Machine:
    return Machine(
        cores=len(os.sched_getaffinity(0)),  # what `nproc` says
        memory_gib=_memory_gib(),
        cpu_model=_cpu_model(),
        system=_system(),
        python=platform.python_version(),
        sqlite=sqlite3.sqlite_version,
    )
