"""Bad input against the callback route and every page: 413 past 1 MiB, 400 for a body the pages
would not send, and a property-based fuzzer (hypothesis) posting malformed and hostile bodies
and URLs: always a 4xx or a handled answer, never a 5xx, never a traceback."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from dash_requests import UPDATE_PATH, callback_request
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from small_inventory import small_inventory_file

from dashboard.app import create_app
from dashboard.request_guard import MAX_BODY_BYTES, MAX_DEPTH, value_check
from dashboard.settings import load_settings
from dashboard.urlstate import PATH_PAGES

# At least 10,000 generated requests per run (CI runs the default).
EXAMPLES = int(os.environ.get("INVDASH_FUZZ_EXAMPLES", "10000"))
# What a browser on a page without a query string sends.
VALUES: dict[str, Any] = {
    "url.search": "",
    "url.pathname": "/",
    "rotation.data": {},
    "tick.data": 1,
    "inv-warehouse.value": "all",
    "inv-category.value": "all",
}
HOSTILE_TEXT = [
    "'; DROP TABLE skus; --",
    "WH1' OR '1'='1",
    '"} or vector(1) or {a="',
    'up{namespace=~".+"}',
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "../../etc/passwd",
    "%00",
    "\u0000\ud7ff\U0010ffff",
    "warehouse=WH1&range=-1h&period=decade",
    "?range=2026-13-45T99:99/2026-01-01&kiosk=2&dwell=ops:-5",
    "x" * 70_000,
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    url = small_inventory_file(tmp_path_factory.mktemp("guard"))
    app = create_app(load_settings(database_url=url, telemetry="demo", demo_orders="off"))
    return app.server.test_client()


@pytest.fixture(scope="module")
def bodies(client: FlaskClient) -> list[dict[str, Any]]:
    """A body for every server-side callback of the app, as its page would send it."""
    dependencies = json.loads(client.get("/_dash-dependencies").data)
    found = []
    for dependency in dependencies:
        if dependency.get("clientside_function") is not None:
            continue
        body = callback_request([dependency], dependency["output"], VALUES)
        for index, item in enumerate(body["inputs"]):
            if item["id"].startswith("{"):  # a pattern (ALL): the browser sends its matches
                pattern = json.loads(item["id"])
                match = {k: "shop/orders-api-0" if v == ["ALL"] else v for k, v in pattern.items()}
                body["inputs"][index] = [{"id": match, "property": item["property"], "value": 1}]
        found.append(body)
    return found


def post(client: FlaskClient, body: Any) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(UPDATE_PATH, data=data, content_type="application/json")


def assert_handled(response: Any) -> None:
    text = response.get_data(as_text=True)
    assert response.status_code < 500, text[:2000]
    assert "Traceback" not in text
    assert 'File "' not in text


def test_every_input_and_state_of_the_app_has_a_value_check(client: FlaskClient) -> None:
    app = client.application
    for callback in json.loads(client.get("/_dash-dependencies").data):
        for item in callback["inputs"] + callback["state"]:
            assert value_check(item["id"], item["property"]) is not None, item
    assert app.config["MAX_CONTENT_LENGTH"] == MAX_BODY_BYTES


def test_the_pages_own_bodies_pass(client: FlaskClient, bodies: list[dict[str, Any]]) -> None:
    for body in bodies:
        response = post(client, body)
        assert response.status_code in (200, 204), (body["output"], response.data[:500])


def test_bodies_over_one_mebibyte_get_413_on_every_route(client: FlaskClient) -> None:
    big = b'{"output": "' + b"x" * MAX_BODY_BYTES + b'"}'
    assert post(client, big).status_code == 413
    assert client.post("/", data=big, content_type="application/json").status_code == 413


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not a JSON object"),
        (b"[" * 100_000 + b"]" * 100_000, "not a JSON object"),
        (json.dumps([1, 2]).encode(), "not a JSON object"),
        ({"output": "nope.children"}, "no callback has this output"),
        ({"output": "..tick.data...skipped-ticks.data...skipped-note.children.."}, "no callback"),
    ],
)
def test_bodies_that_are_not_a_pages_get_400_with_the_reason(
    client: FlaskClient, body: Any, reason: str
) -> None:
    response = post(client, body)
    assert response.status_code == 400
    assert reason in response.get_json()["error"]


def test_wrong_types_unknown_ids_and_deep_nesting_get_400(
    client: FlaskClient, bodies: list[dict[str, Any]]
) -> None:
    ops = next(b for b in bodies if "ops-scope.children" in b["output"])
    cases = []
    for value in ([1, 2], {"a": 1}, 10**30, -1, True, "x" * 70_000):
        wrong = json.loads(json.dumps(ops))
        wrong["inputs"][0]["value"] = value  # tick.data: a count
        cases.append(wrong)
    unknown = json.loads(json.dumps(ops))
    unknown["state"][0]["id"] = "sku'; DROP TABLE skus; --"
    cases.append(unknown)
    extra = json.loads(json.dumps(ops))
    extra["inputs"].append({"id": "tick", "property": "data", "value": 1})
    cases.append(extra)
    deep: Any = "leaf"
    for _ in range(MAX_DEPTH + 5):
        deep = {"a": deep}
    nested = json.loads(json.dumps(ops))
    nested["state"][0]["value"] = deep  # rotation.data
    cases.append(nested)
    for case in cases:
        assert post(client, case).status_code == 400, case["inputs"][0]


# --- The fuzzer -----------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(HOSTILE_TEXT),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(max_size=10) | st.sampled_from(HOSTILE_TEXT), children, max_size=4
        )
    ),
    max_leaves=12,
)
texts = st.text(max_size=60) | st.sampled_from(HOSTILE_TEXT)


@st.composite
def tampered(draw: st.DrawFn, bodies: list[dict[str, Any]]) -> Any:
    """A page's body with one part changed, or a body of random JSON."""
    body: dict[str, Any] = json.loads(json.dumps(draw(st.sampled_from(bodies))))
    items = [i for i in body["inputs"] + body["state"] if isinstance(i, dict)]
    how = draw(st.integers(min_value=0, max_value=7))
    if how == 0 and items:  # any JSON as a value
        draw(st.sampled_from(items))["value"] = draw(json_values)
    elif how == 1 and items:  # hostile text as a value (filters, the URL's query string)
        draw(st.sampled_from(items))["value"] = draw(texts)
    elif how == 2 and items:  # a URL of hostile parameters
        for item in items:
            if item["property"] == "search":
                item["value"] = (
                    "?"
                    + draw(
                        st.sampled_from(["warehouse", "category", "range", "period", "namespace"])
                    )
                    + "="
                    + draw(texts)
                )
    elif how == 3 and items:  # another id or property
        item = draw(st.sampled_from(items))
        item[draw(st.sampled_from(["id", "property"]))] = draw(json_values)
    elif how == 4:  # a key gone, or of another type
        key = draw(st.sampled_from(["output", "outputs", "inputs", "state", "changedPropIds"]))
        if draw(st.booleans()):
            body.pop(key, None)
        else:
            body[key] = draw(json_values)
    elif how == 5:
        body["output"] = draw(texts)
    elif how == 6:
        return draw(json_values)
    else:  # a grid's row request of any shape
        for item in items:
            if item["property"] == "getRowsRequest":
                item["value"] = draw(json_values)
    return body


def test_fuzzed_callback_bodies_get_a_4xx_or_a_handled_answer(
    client: FlaskClient, bodies: list[dict[str, Any]]
) -> None:
    sent = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(tampered(bodies))
    def one(body: Any) -> None:
        sent.append(1)
        assert_handled(post(client, body))

    one()
    assert len(sent) >= EXAMPLES


@settings(
    max_examples=max(EXAMPLES // 10, 50),
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
@given(
    page=st.sampled_from(sorted(PATH_PAGES)),
    key=st.sampled_from(["warehouse", "category", "range", "period", "kiosk", "playlist", "dwell"])
    | st.text(max_size=10),
    value=texts,
)
def test_fuzzed_url_parameters_never_break_a_page(
    client: FlaskClient, page: str, key: str, value: str
) -> None:
    response = client.get(page, query_string={key: value})
    assert_handled(response)
    assert response.status_code in (200, 404)
