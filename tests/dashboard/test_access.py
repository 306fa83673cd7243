"""Access control: off by default; INVDASH_AUTH=basic with a users file of bcrypt hashes, read
again when it changes; INVDASH_AUTH=proxy believing a user header only from the proxy's
addresses. Every route needs a user but /healthz, /readyz and /metrics, the Dash routes
included; a configuration that cannot work stops start-up naming the setting."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import bcrypt
import pytest
from flask.testing import FlaskClient
from small_inventory import small_inventory_file

from dashboard.access import PasswordFile, read_users
from dashboard.app import create_app
from dashboard.settings import SettingsError, load_settings
from dashboard.startup import StartupError, check_access

REPO_ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
# Routes of every kind: pages, Dash's own, a component suite's script, an asset.
GUARDED = [
    "/",
    "/ops",
    "/exec",
    "/nope",
    "/_dash-layout",
    "/_dash-dependencies",
    "/assets/theme.css",
]
OPEN = ["/healthz", "/readyz", "/metrics"]


def credentials(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def users_line(user: str, password: str, prefix: str = "$2b$") -> str:
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    return f"{user}:{prefix}{hashed[4:]}\n"


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return small_inventory_file(tmp_path_factory.mktemp("access"))


@pytest.fixture
def users_file(tmp_path: Path) -> Path:
    path = tmp_path / "users"
    # htpasswd -B writes $2y$: read as bcrypt's $2b$.
    path.write_text(
        "# wall screens\n"
        + users_line("ops", PASSWORD, "$2y$")
        + users_line("exec", "other password")
    )
    return path


def client(database_url: str, **settings: object) -> FlaskClient:
    configured = load_settings(
        database_url=database_url, telemetry="demo", demo_orders="off", **settings
    )
    check_access(configured)
    return create_app(configured).server.test_client()


def component_suite(app_client: FlaskClient) -> str:
    page = app_client.get("/healthz")  # open: only to be sure the app is up
    assert page.status_code == 200
    return "/_dash-component-suites/dash/deps/polyfill@7.12.1.min.js"


def test_off_by_default_every_route_answers(database_url: str) -> None:
    assert load_settings().auth == "off"
    open_client = client(database_url)
    for path in GUARDED:
        assert open_client.get(path).status_code in (200, 404), path


def test_basic_needs_a_user_of_the_file_on_every_route_but_health_and_metrics(
    database_url: str, users_file: Path
) -> None:
    app_client = client(database_url, auth="basic", auth_users_file=users_file)
    paths = [*GUARDED, component_suite(app_client)]
    for path in paths:
        refused = app_client.get(path)
        assert refused.status_code == 401, path
        assert refused.headers["WWW-Authenticate"].startswith('Basic realm="invdash"')
        assert app_client.get(path, headers=credentials("ops", "wrong")).status_code == 401
        assert app_client.get(path, headers=credentials("nobody", PASSWORD)).status_code == 401
        assert app_client.get(path, headers=credentials("ops", PASSWORD)).status_code in (200, 404)
    for path in OPEN:
        assert app_client.get(path).status_code == 200, path
    update = app_client.post("/_dash-update-component", json={"output": "x"})
    assert update.status_code == 401  # before the body is even looked at
    metrics = app_client.get("/metrics").get_data(as_text=True)
    # /metrics is open, so it says nothing of the business.
    for figure in ("inventory_value", "revenue", "stockout", "orders_total", "on_hand"):
        assert figure not in metrics


def test_the_users_file_is_read_again_when_it_changes(database_url: str, users_file: Path) -> None:
    app_client = client(database_url, auth="basic", auth_users_file=users_file)
    assert app_client.get("/ops", headers=credentials("exec", "other password")).status_code == 200
    users_file.write_text(users_line("ops", PASSWORD))  # exec removed
    os.utime(users_file, ns=(1, 1))  # a stamp that surely differs, whatever the clock
    assert app_client.get("/ops", headers=credentials("exec", "other password")).status_code == 401
    assert app_client.get("/ops", headers=credentials("ops", PASSWORD)).status_code == 200
    # A file caught half-written keeps the users that were good.
    users_file.write_text("ops:$2b$12$trunc")
    os.utime(users_file, ns=(2, 2))
    assert app_client.get("/ops", headers=credentials("ops", PASSWORD)).status_code == 200


def test_a_checked_password_is_remembered_by_a_keyed_hash_not_rechecked(users_file: Path) -> None:
    passwords = PasswordFile(users_file)
    assert passwords.check("ops", PASSWORD)
    remembered = list(passwords._checked)
    assert len(remembered) == 1
    assert PASSWORD.encode() not in remembered[0]
    assert passwords.check("ops", PASSWORD)
    assert not passwords.check("ops", PASSWORD + " ")
    assert len(passwords._checked) == 1


def test_proxy_believes_the_user_header_only_from_the_proxys_addresses(database_url: str) -> None:
    app_client = client(database_url, auth="proxy", auth_proxy_addresses="127.0.0.0/8, ::1")
    named = {"X-Forwarded-User": "ana@example.com"}
    assert app_client.get("/ops", headers=named).status_code == 200
    assert app_client.get("/ops").status_code == 401  # the proxy let it through unnamed
    elsewhere = {"REMOTE_ADDR": "10.1.2.3"}
    assert app_client.get("/ops", headers=named, environ_base=elsewhere).status_code == 403
    assert app_client.get("/healthz", environ_base=elsewhere).status_code == 200
    other_header = client(
        database_url,
        auth="proxy",
        auth_proxy_addresses="127.0.0.1",
        auth_proxy_header="X-Auth-Request-User",
    )
    assert other_header.get("/ops", headers=named).status_code == 401
    assert other_header.get("/ops", headers={"X-Auth-Request-User": "ana"}).status_code == 200


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"auth": "basic"}, "INVDASH_AUTH_USERS_FILE"),
        ({"auth": "proxy"}, "INVDASH_AUTH_PROXY_ADDRESSES"),
    ],
)
def test_an_auth_that_cannot_work_stops_start_up_naming_the_setting(
    settings: dict[str, object], named: str
) -> None:
    with pytest.raises(StartupError, match=named):
        check_access(load_settings(**settings))


def test_bad_auth_settings_name_their_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for variable, value in [
        ("INVDASH_AUTH", "ldap"),
        ("INVDASH_AUTH_PROXY_ADDRESSES", "10.0.0.0/33"),
        ("INVDASH_AUTH_PROXY_HEADER", "X-User: admin"),
        ("INVDASH_AUTH_USERS_FILE", str(tmp_path / "missing")),
    ]:
        monkeypatch.setenv(variable, value)
        with pytest.raises(SettingsError, match=variable):
            load_settings()
        monkeypatch.delenv(variable)
    broken = tmp_path / "users"
    broken.write_text("ops:plaintext-password\n")
    with pytest.raises(StartupError, match=r"INVDASH_AUTH_USERS_FILE: .*line 1"):
        check_access(load_settings(auth="basic", auth_users_file=broken))


def test_invdash_passwd_prints_a_line_the_file_accepts(tmp_path: Path) -> None:
    made = subprocess.run(
        [sys.executable, "-m", "dashboard.cli", "passwd", "ops"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=True,
    )
    path = tmp_path / "users"
    path.write_text(made.stdout)
    assert PasswordFile(path).check("ops", PASSWORD)
    assert list(read_users(path)) == ["ops"]
    short = subprocess.run(
        [sys.executable, "-m", "dashboard.cli", "passwd", "ops"],
        input="short\n",
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    assert short.returncode == 1
    assert "8 characters" in short.stderr
    assert json.dumps(short.stdout) == '""'
