"""A real Prometheus for tests: series written as OpenMetrics, backfilled with promtool, served.

- ``write_openmetrics(path, families)`` writes series (timestamps in seconds, one contiguous
  block per family, ``# TYPE`` lines, ``# EOF``) for ``promtool tsdb create-blocks-from
  openmetrics``.
- ``exposition_to_families(text, end=..., repeats=..., interval=...)`` turns a recorded scrape in
  the Prometheus text format (millisecond timestamps, or none) into such families, shifted in time
  (see its docstring for why and how).
- ``create_blocks(openmetrics_file, blocks_dir)`` runs promtool; ``PrometheusServer(blocks_dir)``
  copies the blocks into a fresh temporary directory (Prometheus writes into its data directory,
  and sees blocks only when it starts), serves them on a free 127.0.0.1 port with an empty scrape
  configuration, and waits for ``/-/ready``. ``.url``; ``.stop()`` ends it and removes the copy.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from local_service import ProcessService, answers_in_time, free_port

PROMETHEUS_INSTALL_HINT = (
    "run the tests through `bash scripts/test.sh` as root (it installs them), "
    "or `apt-get install -y --no-install-recommends prometheus`"
)
START_TIMEOUT_SECONDS = 30.0

_TEXT_TYPES = {"counter": "counter", "gauge": "gauge", "histogram": "histogram",
               "summary": "summary", "untyped": "unknown"}  # fmt: skip
_SUFFIXES = {"histogram": ("_bucket", "_sum", "_count", "_created"),
             "summary": ("_sum", "_count", "_created"), "counter": ("_total", "_created")}  # fmt: skip
_LABEL = re.compile(r'\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*"(?P<value>(?:[^"\\]|\\.)*)"\s*,?')


@dataclass(frozen=True)
class Series:
    """One time series: labels, and (timestamp in seconds, value) points in time order.
    ``sample_name`` is the sample's own name when it differs from the family's
    (``_bucket``, ``_count``, ``_sum`` of a histogram)."""

    labels: Mapping[str, str]
    points: Sequence[tuple[float, float]]
    sample_name: str | None = None


@dataclass(frozen=True)
class Family:
    """A metric family: name, OpenMetrics type (counter, gauge, histogram, summary, unknown)."""

    name: str
    type: str
    series: Sequence[Series] = field(default_factory=list)


def _escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _unescape_label_value(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


def _format_number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if value == int(value) and abs(value) < 2**53 else repr(value)


def _format_seconds(timestamp: float) -> str:
    milliseconds = round(timestamp * 1000)
    return f"{milliseconds // 1000}.{milliseconds % 1000:03d}"


def merge_families(families: Iterable[Family]) -> list[Family]:
    """One family per name, holding the series of every family of that name, in first-seen order
    (OpenMetrics wants each family in one block)."""
    merged: dict[str, Family] = {}
    for family in families:
        known = merged.get(family.name)
        if known is None:
            merged[family.name] = Family(family.name, family.type, list(family.series))
        elif known.type != family.type:
            raise ValueError(f"family {family.name} is both {known.type} and {family.type}")
        else:
            merged[family.name] = Family(family.name, known.type, [*known.series, *family.series])
    return list(merged.values())


def write_openmetrics(path: Path, families: Iterable[Family]) -> Path:
    """Write ``families`` as an OpenMetrics file promtool can backfill; returns ``path``.

    Timestamps are written in seconds (promtool reads milliseconds as seconds, landing in the far
    future), each family in one block after its ``# TYPE`` line, points of a series in time order
    (all series at one timestamp, then the next), and the file ends with ``# EOF``.
    """
    seen: set[str] = set()
    lines: list[str] = []
    for family in families:
        if family.name in seen:
            raise ValueError(f"family {family.name} written twice: families must be contiguous")
        seen.add(family.name)
        lines.append(f"# TYPE {family.name} {family.type}")
        rendered: list[tuple[float, str, float]] = []
        for series in family.series:
            labels = ",".join(
                f'{name}="{_escape_label_value(value)}"' for name, value in series.labels.items()
            )
            name = series.sample_name or family.name
            head = f"{name}{{{labels}}}" if labels else name
            rendered.extend((timestamp, head, value) for timestamp, value in series.points)
        rendered.sort(key=lambda point: point[0])  # stable: series order kept per timestamp
        lines.extend(
            f"{head} {_format_number(value)} {_format_seconds(timestamp)}"
            for timestamp, head, value in rendered
        )
    lines.append("# EOF")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _split_sample(line: str) -> tuple[str, dict[str, str], str, int | None]:
    brace = line.find("{")
    space = line.find(" ")
    if brace != -1 and (space == -1 or brace < space):
        name = line[:brace]
        labels: dict[str, str] = {}
        position = brace + 1
        while True:
            while position < len(line) and line[position] in " ,":
                position += 1
            if line[position] == "}":
                position += 1
                break
            match = _LABEL.match(line, position)
            if match is None:
                raise ValueError(f"cannot parse labels in {line!r}")
            labels[match["name"]] = _unescape_label_value(match["value"])
            position = match.end()
        rest = line[position:].split()
    else:
        name, *rest = line.split()
        labels = {}
    if len(rest) not in (1, 2):
        raise ValueError(f"expected a value and an optional timestamp in {line!r}")
    timestamp_ms = int(rest[1]) if len(rest) == 2 else None
    return name, labels, rest[0], timestamp_ms


def _family_of(name: str, types: Mapping[str, str]) -> str:
    if name in types:
        return name
    for family, kind in types.items():
        if any(name == family + suffix for suffix in _SUFFIXES.get(kind, ())):
            return family
    return name


def exposition_to_families(
    text: str,
    *,
    end: float,
    repeats: int = 1,
    interval_seconds: float = 15.0,
    families: Iterable[str] | None = None,
) -> list[Family]:
    """A recorded scrape in the Prometheus text format as OpenMetrics families, moved in time.

    Why shifted: a recording is from the past; instant queries look back only 5 minutes and the
    tests query around ``end``. The newest timestamp in the file is moved to ``end`` (seconds) and
    every other one by the same amount, keeping their spread within the scrape; samples without
    a timestamp (kube-state-metrics) are placed at ``end``. Millisecond timestamps become seconds.

    Why repeated: ``rate()`` and ``increase()`` need two samples. The scrape is repeated
    ``repeats`` times, ``interval_seconds`` apart, ending at ``end``, with the recorded values
    unchanged, as if the same scrape had been taken every interval. So gauges keep their recorded
    values at every step, and counters have a rate of exactly 0 (a single recording has no rate;
    inventing increments would invent data).

    ``families`` keeps only the named families (all when None). ``# HELP`` lines are dropped;
    ``untyped`` becomes ``unknown``.
    """
    wanted = None if families is None else set(families)
    types: dict[str, str] = {}
    samples: dict[str, list[tuple[str, dict[str, str], float, int | None]]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 4 and parts[1] == "TYPE":
                types[parts[2]] = _TEXT_TYPES.get(parts[3].strip(), "unknown")
            continue
        name, labels, value_text, timestamp_ms = _split_sample(line)
        family = _family_of(name, types)
        if wanted is not None and family not in wanted:
            continue
        samples.setdefault(family, []).append((name, labels, float(value_text), timestamp_ms))
    recorded = [ts for rows in samples.values() for *_, ts in rows if ts is not None]
    newest_ms = max(recorded) if recorded else None
    end_ms = round(end * 1000)
    result = []
    for family, rows in samples.items():
        series = []
        for name, labels, value, timestamp_ms in rows:
            shifted_ms = (
                end_ms
                if timestamp_ms is None or newest_ms is None
                else (timestamp_ms - newest_ms + end_ms)
            )
            points = [
                ((shifted_ms - round(k * interval_seconds * 1000)) / 1000, value)
                for k in reversed(range(repeats))
            ]
            series.append(Series(labels, points, sample_name=name if name != family else None))
        result.append(Family(family, types.get(family, "unknown"), series))
    return result


def create_blocks(openmetrics_file: Path, blocks_dir: Path) -> Path:
    """``promtool tsdb create-blocks-from openmetrics`` into ``blocks_dir``; returns it."""
    promtool = shutil.which("promtool")
    if promtool is None:
        raise FileNotFoundError(f"promtool not found on PATH: {PROMETHEUS_INSTALL_HINT}")
    blocks_dir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(openmetrics_file),
         str(blocks_dir)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"promtool failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return blocks_dir


class PrometheusServer(ProcessService):
    """``prometheus`` serving a copy of ``blocks_dir`` on 127.0.0.1, ready when constructed."""

    def __init__(
        self,
        blocks_dir: Path,
        *,
        start_timeout: float = START_TIMEOUT_SECONDS,
        rules: str | None = None,
    ) -> None:
        """``rules``: the text of a rules file to load (its groups evaluated every second)."""
        super().__init__("prometheus", PROMETHEUS_INSTALL_HINT, "prometheus")
        self.data_dir = self.base_dir / "data"
        shutil.copytree(blocks_dir, self.data_dir)
        config = self.base_dir / "prometheus.yml"
        text = "global:\n  scrape_interval: 1m\n  evaluation_interval: 1s\nscrape_configs: []\n"
        if rules is not None:
            rules_file = self.base_dir / "rules.yml"
            rules_file.write_text(rules, encoding="utf-8")
            text += f"rule_files:\n  - {rules_file}\n"
        config.write_text(text, encoding="utf-8")
        self._config = config
        self.url = ""
        started = time.monotonic()
        try:
            # Another process can take the free port between probing and binding it: try a few.
            for _attempt in range(3):
                if self._launch(free_port(), start_timeout):
                    break
                self._end_process()
            else:
                raise RuntimeError(f"prometheus did not become ready:\n{self.log_tail()}")
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started

    def _launch(self, port: int, timeout: float) -> bool:
        """Start the process on ``port``; whether it became ready within ``timeout``."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    self._binary,
                    f"--config.file={self._config}",
                    f"--storage.tsdb.path={self.data_dir}",
                    "--storage.tsdb.retention.time=100y",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.url = f"http://127.0.0.1:{port}"
        return self._wait_ready(timeout)

    def kill(self) -> None:
        """SIGKILL the server, as an OOM kill or a node loss does (its port then refuses)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def start_again(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Start the server again on the same address and data, as its restart does."""
        port = int(self.url.rsplit(":", 1)[1])
        if not self._launch(port, timeout):
            raise RuntimeError(f"prometheus did not come back:\n{self.log_tail()}")

    def _wait_ready(self, timeout: float) -> bool:
        assert self.process is not None

        def ready() -> bool:
            url = f"{self.url}/-/ready"  # always http://127.0.0.1
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310
                return bool(response.status == 200)

        return answers_in_time(
            self.process, ready, timeout, not_yet=(urllib.error.URLError, OSError), pause=0.05
        )

    def stop(self) -> None:
        """End the server and remove its data directory (the original blocks are untouched)."""
        self._end_process()
        self._remove_files()
