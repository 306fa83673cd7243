"""Start-up refuses a database URL it cannot use, naming the setting and never its password."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.startup import startup


@pytest.fixture(autouse=True)
def _no_telemetry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("INVDASH_TELEMETRY", "off")
    # The default database lives under the user data directory: an empty one here.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def _startup_error(capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as stopped:
        startup()
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


def test_an_unset_database_url_without_a_default_database_stops_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("INVDASH_DATABASE_URL", raising=False)
    err = _startup_error(capsys)
    assert err.startswith("invdash: INVDASH_DATABASE_URL is not set and the default database")
    # Nothing was created on the way: the check looks before it connects.
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("postgres ql://invdash:hunter2@db/inventory", "(it does not parse)"),
        (
            "mysql://invdash:hunter2@db/inventory",
            "(no driver installed for it: ModuleNotFoundError: No module named 'MySQLdb')",
        ),
    ],
    ids=["unparsable", "no-driver"],
)
def test_an_unusable_database_url_stops_with_the_reason_without_repeating_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str, reason: str
) -> None:
    monkeypatch.setenv("INVDASH_DATABASE_URL", url)
    err = _startup_error(capsys)
    assert f"INVDASH_DATABASE_URL is not a usable SQLAlchemy URL {reason}" in err
    assert "hunter2" not in err
