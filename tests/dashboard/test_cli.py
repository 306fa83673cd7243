"""The invdash command: check, seed and serve, run as a person would run them."""

from __future__ import annotations

import datetime as dt
import http.client
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from small_inventory import build_small_inventory

from dashboard.cli import DEFAULT_PORT, LOCAL_HOST, listen_address, main
from demo.seed import seed_database

UNREACHABLE = "postgresql+psycopg://invdash@127.0.0.1:1/inventory"


@pytest.fixture
def small_database(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    build_small_inventory(sa.create_engine(sqlite_url))
    monkeypatch.setenv("INVDASH_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("INVDASH_TELEMETRY", "off")
    return sqlite_url


def test_check_prints_one_ok_line_per_source(
    small_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check"]) == 0
    assert capsys.readouterr().out == "ok    inventory database: sqlite database answering\n"


def test_check_exits_1_naming_an_unreachable_database(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INVDASH_DATABASE_URL", UNREACHABLE)
    monkeypatch.setenv("INVDASH_DATABASE_TIMEOUT_SECONDS", "2")
    monkeypatch.setenv("INVDASH_TELEMETRY", "off")
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert out.startswith(
        "error inventory database: inventory database unreachable: OperationalError"
    )


def test_bad_setting_stops_every_command_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INVDASH_REFRESH_SECONDS", "-3")
    for command in (["check"], ["seed"], ["serve"]):
        assert main(command) == 2
        assert "INVDASH_REFRESH_SECONDS='-3' is invalid" in capsys.readouterr().err


def test_serve_refuses_a_database_missing_a_table_and_names_it(
    small_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with sa.create_engine(small_database).begin() as conn:
        conn.exec_driver_sql("DROP TABLE lots")
        conn.exec_driver_sql("ALTER TABLE skus DROP COLUMN unit_price")
    assert main(["serve", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "lacks skus.unit_price, lots" in err


def test_seed_refuses_a_non_empty_database_without_force(
    small_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["seed"]) == 1
    assert "--force" in capsys.readouterr().err
    with sa.create_engine(small_database).connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM skus").scalar() == 2


def test_seed_names_an_unreachable_database_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INVDASH_DATABASE_URL", UNREACHABLE)
    assert main(["seed"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("invdash seed: cannot write the database: OperationalError")
    assert "Traceback" not in err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - a local URL
        return response.status, response.read()


# Start ``invdash serve`` with these environment variables and flags: its base URL and process.
Serve = Callable[..., tuple[str, "subprocess.Popen[bytes]"]]


@pytest.fixture
def serve() -> Iterator[Serve]:
    processes: list[subprocess.Popen[bytes]] = []

    def start(
        env: dict[str, str], *args: str, port_from_env: bool = False
    ) -> tuple[str, subprocess.Popen[bytes]]:
        """``port_from_env``: the address in INVDASH_HOST and INVDASH_PORT, no --port flag."""
        port = _free_port()
        if port_from_env:
            env = {**env, "INVDASH_HOST": "127.0.0.1", "INVDASH_PORT": str(port)}
        listen = [] if port_from_env else ["--port", str(port)]
        process = subprocess.Popen(
            [sys.executable, "-m", "dashboard.cli", "serve", *listen, "--workers", "1", *args],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        processes.append(process)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if _get(f"{base}/healthz")[0] == 200:
                    return base, process
            except OSError:
                time.sleep(0.3)
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
        raise AssertionError("invdash serve did not answer /healthz within 90 s")

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.parametrize("port_from_env", [False, True], ids=["flags", "INVDASH_PORT"])
def test_serve_runs_gunicorn_with_health_and_readiness(
    serve: Serve, small_database: str, port_from_env: bool
) -> None:
    base, process = serve({"INVDASH_DATABASE_URL": small_database}, port_from_env=port_from_env)
    assert _get(f"{base}/healthz") == (200, b"OK")
    # gunicorn runs in the serve command's process, with two malloc arenas.
    environment = Path(f"/proc/{process.pid}/environ").read_bytes().split(b"\0")
    assert b"MALLOC_ARENA_MAX=2" in environment
    status, body = _get(f"{base}/readyz")
    assert status == 200
    assert b'"status":"ok"' in body.replace(b" ", b"")
    status, page = _get(f"{base}/")
    assert status == 200
    assert b"_dash-renderer" in page or b"dash_renderer" in page


def test_serve_listens_where_the_flags_say_else_where_the_environment_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("INVDASH_HOST", raising=False)
    monkeypatch.delenv("INVDASH_PORT", raising=False)
    # A laptop's default is loopback, not the image's every interface.
    assert listen_address(None, None) == (LOCAL_HOST, DEFAULT_PORT) == ("127.0.0.1", 8050)
    monkeypatch.setenv("INVDASH_HOST", "0.0.0.0")
    monkeypatch.setenv("INVDASH_PORT", "9123")
    assert listen_address(None, None) == ("0.0.0.0", 9123)
    assert listen_address("127.0.0.2", 9000) == ("127.0.0.2", 9000)


def test_serve_refuses_a_bad_port_in_the_environment_naming_it(
    small_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INVDASH_PORT", "70000")
    assert main(["serve"]) == 2
    assert "INVDASH_PORT" in capsys.readouterr().err


def _answer(
    port: int, path: str, method: str = "GET", host: str | None = None
) -> tuple[int, bytes]:
    """Status and body of one request to 127.0.0.1:port, with ``host`` as its Host header."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Host": host} if host is not None else {}
        body = b"{}" if method == "POST" else None
        if body is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_a_metrics_port_answers_metrics_alone_and_the_dashboard_port_no_longer_does(
    serve: Serve, small_database: str
) -> None:
    metrics_port = _free_port()
    base, _ = serve({"INVDASH_METRICS_PORT": str(metrics_port)})
    port = int(base.rsplit(":", 1)[1])
    status, text = _answer(metrics_port, "/metrics")
    assert status == 200
    assert b"# TYPE invdash_active_screens gauge" in text
    # Nothing else on the metrics port: no page, no callback, not even the probes.
    for path, method in (("/", "GET"), ("/healthz", "GET"), ("/ops", "GET"),
                         ("/_dash-update-component", "POST"), ("/_dash-layout", "GET")):  # fmt: skip
        assert _answer(metrics_port, path, method)[0] == 404, path
    # The dashboard's port serves the dashboard, and /metrics no more, whatever Host is sent.
    assert _answer(port, "/healthz")[0] == 200
    assert _answer(port, "/")[0] == 200
    assert _answer(port, "/metrics")[0] == 404
    assert _answer(port, "/metrics", host=f"127.0.0.1:{metrics_port}")[0] == 404


def test_serve_refuses_a_metrics_port_that_is_the_dashboards_or_without_gunicorn(
    small_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INVDASH_METRICS_PORT", "8123")
    assert main(["serve", "--port", "8123"]) == 2
    err = capsys.readouterr().err
    assert "INVDASH_METRICS_PORT=8123 is the dashboard's own port (--port)" in err
    assert main(["serve", "--port", "8124", "--dev"]) == 2
    assert "INVDASH_METRICS_PORT=8123 needs gunicorn" in capsys.readouterr().err
    monkeypatch.setenv("INVDASH_METRICS_PORT", "http")
    assert main(["serve"]) == 2
    assert "INVDASH_METRICS_PORT='http' is invalid: expected a TCP port" in capsys.readouterr().err


def test_first_serve_on_the_default_database_creates_and_seeds_it(
    serve: Serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INVDASH_DATABASE_URL", raising=False)
    data_home = tmp_path / "data"
    base, _ = serve({"XDG_DATA_HOME": str(data_home)})
    database = data_home / "invdash" / "invdash.sqlite3"
    assert database.is_file()
    with sa.create_engine(f"sqlite:///{database}").connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM skus").scalar() == 500
    _, body = _get(f"{base}/readyz")
    assert b'"status":"ok"' in body.replace(b" ", b"")


def test_a_malformed_promql_override_stops_start_up_naming_the_query(
    small_database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    overrides = tmp_path / "queries.toml"
    overrides.write_text(
        '[queries]\npod_cpu_cores = "sum(rate(container_cpu_usage_seconds_total[5m])"\n'
    )
    monkeypatch.setenv("INVDASH_TELEMETRY", "live")
    monkeypatch.setenv("INVDASH_PROMETHEUS_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("INVDASH_PROMETHEUS_QUERIES_FILE", str(overrides))
    for command in (["check"], ["serve", "--port", "1"]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert 'query "pod_cpu_cores"' in err
        assert "unbalanced" in err


def test_check_lists_the_demo_cluster_when_no_cluster_is_configured(
    small_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INVDASH_TELEMETRY", "demo")
    assert main(["check"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "ok    inventory database: sqlite database answering"
    assert lines[1].startswith("ok    demo cluster: ")


FIRST_ORDER = "SELECT MIN(ordered_at) FROM sales_orders"
LAST_ORDER = "SELECT MAX(ordered_at) FROM sales_orders"


def _scalar(url: str, sql: str, **params: Any) -> Any:
    """The one value ``sql`` answers on the database at ``url``."""
    with sa.create_engine(url).connect() as conn:
        return conn.execute(sa.text(sql), params).scalar_one()


def _orders_after(url: str, moment: dt.datetime) -> int:
    return int(
        _scalar(url, "SELECT COUNT(*) FROM sales_orders WHERE ordered_at > :moment", moment=moment)
    )


def _embedded_demo_seeded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hours_ago: float
) -> tuple[Path, str, dt.datetime]:
    """The embedded demo database (no INVDASH_DATABASE_URL, XDG_DATA_HOME ``tmp_path/data``),
    seeded to end ``hours_ago``: the data home, the database's URL and the seed's end."""
    monkeypatch.delenv("INVDASH_DATABASE_URL", raising=False)
    data_home = tmp_path / "data"
    database = data_home / "invdash" / "invdash.sqlite3"
    database.parent.mkdir(parents=True)
    url = f"sqlite:///{database}"
    seeded_at = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours_ago)).replace(
        tzinfo=None, second=0, microsecond=0
    )
    seed_database(sa.create_engine(url), scale="demo", now=seeded_at)
    return data_home, url, seeded_at


def test_serve_carries_the_embedded_demo_on_to_now_and_stops_doing_so_with_the_server(
    serve: Serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_home, url, seeded_at = _embedded_demo_seeded(tmp_path, monkeypatch, hours_ago=3)
    first_order = _scalar(url, FIRST_ORDER)

    _, process = serve({"XDG_DATA_HOME": str(data_home)})
    deadline = time.monotonic() + 60
    while _orders_after(url, seeded_at) == 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    # Three hours of orders came after the seed's, and the seeded history was kept, not redone.
    assert _orders_after(url, seeded_at) > 0
    assert _scalar(url, FIRST_ORDER) == first_order

    process.terminate()
    output = process.communicate(timeout=30)[0].decode()
    line = next(line for line in output.splitlines() if "demo orders carried on by process" in line)
    with pytest.raises(ProcessLookupError):
        os.kill(int(line.rsplit(" ", 1)[1]), 0)


def test_serve_seeds_the_embedded_demo_anew_when_its_orders_ended_over_a_day_ago(
    serve: Serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_home, url, _ = _embedded_demo_seeded(tmp_path, monkeypatch, hours_ago=30)

    serve({"XDG_DATA_HOME": str(data_home)})
    newest = _scalar(url, LAST_ORDER)
    age = dt.datetime.now(dt.UTC).replace(tzinfo=None) - pd.Timestamp(newest).to_pydatetime()
    # The demo's nights are quiet (HOURLY_PROFILE): after midnight UTC its newest order can be
    # an hour or more old. Six hours is still far from the 30 of the ended demo.
    assert age < dt.timedelta(hours=6)


def test_demo_orders_write_only_to_a_database_that_allows_it(
    small_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = small_database
    # 23 hours back (the catch-up reaches 24): the demo's nights are quiet, so a couple of
    # hours after midnight UTC can hold no order at all; a whole day always does.
    seeded_at = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=23)).replace(tzinfo=None)
    seed_database(sa.create_engine(url), scale="demo", now=seeded_at, force=True)
    assert main(["demo-orders", "--once"]) == 2
    assert "set INVDASH_DEMO_ORDERS=on" in capsys.readouterr().err
    assert _orders_after(url, seeded_at) == 0

    monkeypatch.setenv("INVDASH_DEMO_ORDERS", "on")
    assert main(["demo-orders", "--once"]) == 0
    assert _orders_after(url, seeded_at) > 0
    assert capsys.readouterr().out.startswith("invdash demo-orders: orders up to ")


def test_serve_never_reseeds_a_database_of_yours(serve: Serve, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/mine.sqlite3"
    long_ago = dt.datetime(2025, 1, 1)
    seed_database(sa.create_engine(url), scale="demo", now=long_ago)
    serve({"INVDASH_DATABASE_URL": url})
    newest = _scalar(url, LAST_ORDER)
    assert pd.Timestamp(newest) <= pd.Timestamp(long_ago)


def test_rollup_once_fills_a_store_of_its_own_and_check_reports_it(
    small_database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store_url = f"sqlite:///{tmp_path}/rollups.sqlite3"
    monkeypatch.setenv("INVDASH_ROLLUP_DATABASE_URL", store_url)
    assert main(["check"]) == 0
    assert capsys.readouterr().out == (
        "ok    inventory database: sqlite database answering; roll-up store empty: figures "
        "come from live queries (run invdash rollup)\n"
    )
    assert main(["rollup", "--once"]) == 0
    assert capsys.readouterr().out.startswith("invdash rollup: roll-ups recomputed for ")
    assert "invdash_daily_demand" in sa.inspect(sa.create_engine(store_url)).get_table_names()
    # The inventory database stays as it was: invdash only reads it.
    assert (
        "invdash_daily_demand" not in sa.inspect(sa.create_engine(small_database)).get_table_names()
    )
    assert main(["check"]) == 0
    assert "roll-ups computed " in capsys.readouterr().out


def test_rollup_without_a_store_names_the_setting(
    small_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rollup", "--once"]) == 2
    assert "INVDASH_ROLLUP_DATABASE_URL is not set" in capsys.readouterr().err


def test_an_unusable_rollup_url_stops_check_and_rollup_naming_that_setting(
    small_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INVDASH_ROLLUP_DATABASE_URL", "postgresql+nosuchdriver://u:secret@h/db")
    for command in (["check"], ["rollup", "--once"]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert "INVDASH_ROLLUP_DATABASE_URL is not a usable SQLAlchemy URL" in err
        assert "secret" not in err
