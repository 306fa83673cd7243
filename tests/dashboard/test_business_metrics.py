"""GET /metrics/business: the business figures Prometheus alerts on, hand-worked on the small
inventory (tests/small_inventory.py, built as of now), answered only to the bearer token."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import bcrypt
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from small_inventory import POLICY, add_sales_order, build_small_inventory
from sqlalchemy.orm import Session

from dashboard.app import create_app
from dashboard.settings import Settings, SettingsError, load_settings

TOKEN = "s3cret-token-for-prometheus"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def built(url: str) -> str:
    build_small_inventory(sa.create_engine(url), as_of=dt.datetime.now(dt.UTC))
    return url


def settings_on(url: str, **settings: object) -> Settings:
    """The app's settings on the small inventory at ``url``, with the token unless given."""
    given: dict[str, object] = {"metrics_token": TOKEN, **settings}
    return load_settings(database_url=url, demand_window_days=POLICY.demand_window_days, **given)


def scrape(settings: Settings) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The samples of one scrape with the token: (name, labels) -> value."""
    app = create_app(settings)
    response = app.server.test_client().get("/metrics/business", headers=BEARER)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def test_stock_and_expiry_by_warehouse_and_horizon(sqlite_url: str) -> None:
    samples = scrape(settings_on(built(sqlite_url), telemetry="off"))
    # WH1: A 6 x 10 + B 50 x 2; WH2: A 0, B 5 x 2. A is at risk in WH1 only.
    assert samples["invdash_business_inventory_value", (("warehouse", "WH1"),)] == 160
    assert samples["invdash_business_inventory_value", (("warehouse", "WH2"),)] == 10
    assert samples["invdash_business_skus_at_risk", (("warehouse", "WH1"),)] == 1
    assert samples["invdash_business_skus_at_risk", (("warehouse", "WH2"),)] == 0
    # L1 (30 x 2, in 13 days), L2 (20 x 2, in 75 days); L3 has expired, L4 holds nothing.
    expiring = {
        days: samples["invdash_business_expiring_value", (("within_days", str(days)),)]
        for days in (30, 60, 90)
    }
    assert expiring == {30: 60, 60: 60, 90: 100}
    # No per-SKU series: the labels are warehouses, horizons and sources only.
    labels = {name for _, pairs in samples for name, _ in pairs}
    assert labels <= {"warehouse", "within_days", "source"}


def test_orders_a_minute_and_per_thousand_requests(sqlite_url: str) -> None:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    samples = scrape(settings_on(built(sqlite_url), telemetry="off"))
    # The small inventory's orders are days old: none in the newest five minutes.
    assert samples["invdash_business_orders_per_minute", ()] == 0
    # Without Prometheus there are no requests to set orders against: no ratio.
    assert ("invdash_business_order_lines_per_1000_requests", ()) not in samples

    engine = sa.create_engine(sqlite_url)
    with Session(engine) as session:
        for number, minutes_ago in (("SO-N1", 2), ("SO-N2", 2), ("SO-N3", 4)):
            ordered = now - dt.timedelta(minutes=minutes_ago)
            add_sales_order(session, number, 1, ordered, "open", [(1, 1, 0)])
        session.commit()
    engine.dispose()
    samples = scrape(settings_on(sqlite_url, telemetry="demo"))
    # Three orders in the newest five whole minutes.
    assert samples["invdash_business_orders_per_minute", ()] == pytest.approx(3 / 5)
    ratio = samples["invdash_business_order_lines_per_1000_requests", ()]
    assert math.isfinite(ratio)
    assert ratio > 0


def test_each_source_says_how_old_its_last_good_read_is(sqlite_url: str) -> None:
    samples = scrape(settings_on(built(sqlite_url), telemetry="off"))
    assert 0 <= samples["invdash_source_last_good_age_seconds", (("source", "inventory"),)] < 60
    # Sources that are not configured (or never read) have no age.
    assert ("invdash_source_last_good_age_seconds", (("source", "cluster"),)) not in samples


def test_the_figures_are_answered_to_the_token_only(sqlite_url: str) -> None:
    client = create_app(settings_on(built(sqlite_url))).server
    for headers in ({}, {"Authorization": "Bearer wrong-token-of-some-length"},
                    {"Authorization": f"Basic {TOKEN}"}):  # fmt: skip
        response = client.test_client().get("/metrics/business", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert b"invdash_business" not in response.data
        # The same security headers as every other route.
        assert "Content-Security-Policy" in response.headers
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Without a token set, the route is not there at all.
    plain = create_app(settings_on(sqlite_url, metrics_token=None)).server.test_client()
    assert plain.get("/metrics/business", headers=BEARER).status_code == 404


def test_prometheus_needs_no_user_when_access_control_is_on(
    sqlite_url: str, tmp_path: Path
) -> None:
    users = tmp_path / "users"
    users.write_text(f"wall:{bcrypt.hashpw(b'pw', bcrypt.gensalt(rounds=4)).decode()}\n")
    settings = settings_on(built(sqlite_url), auth="basic", auth_users_file=users)
    client = create_app(settings).server.test_client()
    assert client.get("/metrics/business", headers=BEARER).status_code == 200
    assert client.get("/metrics/business").status_code == 401
    assert client.get("/").status_code == 401  # the pages still ask for a user


@pytest.mark.parametrize("token", ["short", "has spaces in it, sixteen+", "x" * 257])
def test_a_bad_token_fails_at_start_up_naming_the_setting_not_the_token(token: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(metrics_token=token)
    message = str(raised.value)
    assert message.startswith("INVDASH_METRICS_TOKEN=")
    assert token not in message
    assert f"{len(token)} characters" in message
