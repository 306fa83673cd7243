"""A grid's block of rows, cut from a DataFrame: each sort, filter and bound, exact rows out."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

from queries.rollups import top_stockout_risks
from queries.row_blocks import DEFAULT_BLOCK_ROWS, MAX_BLOCK_ROWS, row_block

COLUMNS = ["sku_code", "sku_name", "days_of_cover", "stockout_probability", "runs_out"]


def table() -> pd.DataFrame:
    """Five rows, in the order a page would show them unsorted."""
    return pd.DataFrame(
        {
            "sku_code": ["B-2", "a-1", "C-3", "A-1", "D-4"],
            "sku_name": ["Saline", "Wrench", None, "Wrench set", "  "],
            "days_of_cover": [2.0, math.inf, 0.5, math.nan, 10.0],
            "stockout_probability": [0.5, 0.0, 0.9, 0.5, 0.1],
            "runs_out": pd.to_datetime(
                ["2026-11-29 12:00", None, "2026-11-28 00:00", None, "2026-12-07 12:00"]
            ),
            "hidden": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )


def codes(request: object, columns: list[str] = COLUMNS) -> list[str]:
    return list(row_block(table(), request, columns).rows["sku_code"])


def text(kind: str, value: object = None, column: str = "sku_name") -> dict[str, Any]:
    return {"filterModel": {column: {"filterType": "text", "type": kind, "filter": value}}}


def number(kind: str, low: object = None, high: object = None) -> dict[str, Any]:
    condition = {"filterType": "number", "type": kind, "filter": low, "filterTo": high}
    return {"filterModel": {"days_of_cover": condition}}


def test_without_models_the_blocks_follow_the_frames_order_and_count_every_row() -> None:
    first = row_block(table(), {"startRow": 0, "endRow": 2}, COLUMNS)
    second = row_block(table(), {"startRow": 2, "endRow": 4}, COLUMNS)
    last = row_block(table(), {"startRow": 4, "endRow": 6}, COLUMNS)

    assert list(first.rows["sku_code"]) == ["B-2", "a-1"]
    assert list(second.rows["sku_code"]) == ["C-3", "A-1"]
    assert list(last.rows["sku_code"]) == ["D-4"]
    assert (first.start, second.start, last.start) == (0, 2, 4)
    assert {first.row_count, second.row_count, last.row_count} == {5}
    assert list(first.rows.columns) == list(table().columns)  # every column, the index kept
    assert list(second.rows.index) == [2, 3]


def test_text_sorts_by_code_point_both_ways() -> None:
    assert codes({"sortModel": [{"colId": "sku_code", "sort": "asc"}]}) == [
        "A-1", "B-2", "C-3", "D-4", "a-1",
    ]  # fmt: skip
    assert codes({"sortModel": [{"colId": "sku_code", "sort": "desc"}]}) == [
        "a-1", "D-4", "C-3", "B-2", "A-1",
    ]  # fmt: skip


def test_ties_keep_the_frames_order_in_either_direction() -> None:
    ascending = codes({"sortModel": [{"colId": "stockout_probability", "sort": "asc"}]})
    descending = codes({"sortModel": [{"colId": "stockout_probability", "sort": "desc"}]})

    assert ascending == ["a-1", "D-4", "B-2", "A-1", "C-3"]
    assert descending == ["C-3", "B-2", "A-1", "D-4", "a-1"]  # B-2 before A-1 both ways


def test_a_second_sort_key_orders_the_ties_of_the_first() -> None:
    model = [
        {"colId": "stockout_probability", "sort": "desc"},
        {"colId": "sku_code", "sort": "asc"},
    ]
    assert codes({"sortModel": model}) == ["C-3", "A-1", "B-2", "D-4", "a-1"]


def test_infinity_sorts_as_the_largest_number_and_blanks_last_either_way() -> None:
    ascending = codes({"sortModel": [{"colId": "days_of_cover", "sort": "asc"}]})
    descending = codes({"sortModel": [{"colId": "days_of_cover", "sort": "desc"}]})
    by_name = codes({"sortModel": [{"colId": "sku_name", "sort": "desc"}]})
    by_date = codes({"sortModel": [{"colId": "runs_out", "sort": "asc"}]})

    assert ascending == ["C-3", "B-2", "D-4", "a-1", "A-1"]  # 0.5, 2, 10, inf, NaN
    assert descending == ["a-1", "D-4", "B-2", "C-3", "A-1"]
    assert by_name == ["A-1", "a-1", "B-2", "D-4", "C-3"]  # "  " is text; None is blank
    assert by_date == ["C-3", "B-2", "D-4", "a-1", "A-1"]


def test_the_risk_grids_first_request_gives_top_stockout_risks_order() -> None:
    positions = pd.DataFrame(
        {
            "sku_code": ["B", "A", "A", "C", "D"],
            "warehouse_code": ["WH1", "WH2", "WH1", "WH1", "WH1"],
            "mean_daily_demand": [1.0, 1.0, 1.0, 1.0, 0.0],
            "stockout_probability": [0.7, 0.5, 0.5, 0.5, 0.0],
            "days_of_cover": [3.0, 3.0, 3.0, 1.0, math.inf],
        }
    )
    risks = top_stockout_risks(positions)
    block = row_block(
        risks,
        {
            "startRow": 0,
            "endRow": 100,
            "sortModel": [{"colId": "stockout_probability", "sort": "desc"}],
        },
        ["sku_code", "warehouse_code", "stockout_probability", "days_of_cover"],
    )
    shown = list(block.rows["sku_code"] + "@" + block.rows["warehouse_code"])
    assert shown == ["B@WH1", "C@WH1", "A@WH1", "A@WH2"]
    assert list(block.rows.index) == list(risks.index)


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("contains", "WRENCH", ["a-1", "A-1"]),  # case-insensitive
        ("notContains", "wrench", ["B-2", "C-3", "D-4"]),  # the missing name passes
        ("equals", "wrench", ["a-1"]),
        ("notEqual", "wrench", ["B-2", "C-3", "A-1", "D-4"]),
        ("startsWith", "wrench ", ["A-1"]),
        ("endsWith", "ne", ["B-2"]),
        ("blank", None, ["C-3", "D-4"]),  # None, and only spaces
        ("notBlank", None, ["B-2", "a-1", "A-1"]),
    ],
)
def test_each_text_filter_type(kind: str, value: str | None, expected: list[str]) -> None:
    assert codes(text(kind, value)) == expected


def test_a_date_column_filters_as_the_iso_day_the_grid_shows() -> None:
    assert codes(text("startsWith", "2026-11", "runs_out")) == ["B-2", "C-3"]
    assert codes(text("equals", "2026-12-07", "runs_out")) == ["D-4"]
    assert codes(text("blank", None, "runs_out")) == ["a-1", "A-1"]


@pytest.mark.parametrize(
    ("kind", "low", "high", "expected"),
    [
        ("equals", 2, None, ["B-2"]),
        ("notEqual", 2, None, ["a-1", "C-3", "D-4"]),  # NaN passes blank only
        ("lessThan", 2, None, ["C-3"]),
        ("lessThanOrEqual", 2, None, ["B-2", "C-3"]),
        ("greaterThan", 2, None, ["a-1", "D-4"]),  # no demand: infinite cover
        ("greaterThanOrEqual", 2.0, None, ["B-2", "a-1", "D-4"]),
        ("inRange", 0.5, 10, ["B-2"]),  # both ends excluded, as AG Grid's default
        ("blank", None, None, ["A-1"]),
        ("notBlank", None, None, ["B-2", "a-1", "C-3", "D-4"]),
    ],
)
def test_each_number_filter_type(
    kind: str, low: float | None, high: float | None, expected: list[str]
) -> None:
    assert codes(number(kind, low, high)) == expected


def test_combined_conditions_join_with_and_or_or() -> None:
    def combined(operator: str | None) -> dict[str, Any]:
        conditions = [
            {"filterType": "number", "type": "greaterThan", "filter": 1},
            {"filterType": "number", "type": "lessThan", "filter": 5},
        ]
        model: dict[str, Any] = {"filterType": "number", "conditions": conditions}
        if operator is not None:
            model["operator"] = operator
        return {"filterModel": {"days_of_cover": model}}

    assert codes(combined("AND")) == ["B-2"]
    assert codes(combined("OR")) == ["B-2", "a-1", "C-3", "D-4"]
    assert codes(combined(None)) == ["B-2"]  # AG Grid's default join


def test_text_conditions_combine_too_and_every_columns_filter_applies() -> None:
    request = {
        "filterModel": {
            "sku_name": {
                "filterType": "text",
                "operator": "OR",
                "conditions": [
                    {"filterType": "text", "type": "startsWith", "filter": "saline"},
                    {"filterType": "text", "type": "endsWith", "filter": "set"},
                ],
            },
            "stockout_probability": {"filterType": "number", "type": "equals", "filter": 0.5},
        },
        "sortModel": [{"colId": "sku_code", "sort": "asc"}],
    }
    block = row_block(table(), request, COLUMNS)
    assert list(block.rows["sku_code"]) == ["A-1", "B-2"]
    assert block.row_count == 2


def test_filtered_blocks_count_the_rows_that_pass() -> None:
    block = row_block(table(), {**number("notBlank"), "startRow": 1, "endRow": 3}, COLUMNS)
    assert list(block.rows["sku_code"]) == ["a-1", "C-3"]
    assert block.row_count == 4


@pytest.mark.parametrize(
    "request_body",
    [
        None,
        "startRow=0",
        [1, 2],
        {"sortModel": "sku_code"},
        {"sortModel": [{"colId": "hidden", "sort": "desc"}]},  # not a grid column
        {"sortModel": [{"colId": "nope", "sort": "asc"}, "x", {"colId": "sku_code"}]},
        {"sortModel": [{"colId": "sku_code", "sort": "sideways"}]},
        {"filterModel": ["sku_code"]},
        {"filterModel": {"nope": {"filterType": "text", "type": "contains", "filter": "a"}}},
        {"filterModel": {"hidden": {"filterType": "number", "type": "equals", "filter": 1}}},
        {"filterModel": {"sku_name": "Wrench"}},
        text("matches", "wrench"),
        text("contains", 5),
        text("contains", ""),
        text("contains", None),
        number("equals", "2"),
        number("equals", True),
        number("equals", math.nan),
        number("equals", math.inf),
        number("inRange", 1, None),
        number("between", 1, 5),
        {"filterModel": {"sku_name": {"filterType": "number", "type": "equals", "filter": 1}}},
        {"filterModel": {"days_of_cover": {"filterType": "text", "type": "contains", "filter": "2"}}},
        {"filterModel": {"days_of_cover": {"filterType": "date", "type": "equals", "filter": 2}}},
        {"filterModel": {"days_of_cover": {"filterType": "number", "operator": "XOR",
                                           "conditions": [{"type": "equals", "filter": 2}]}}},
        {"filterModel": {"days_of_cover": {"filterType": "number", "operator": "AND",
                                           "conditions": "equals 2"}}},
        {"filterModel": {"days_of_cover": {"filterType": "number", "operator": "OR",
                                           "conditions": [None, {"type": "nope", "filter": 2}]}}},
    ],
)  # fmt: skip
def test_what_cannot_be_used_is_ignored(request_body: object) -> None:
    block = row_block(table(), request_body, COLUMNS)
    assert list(block.rows["sku_code"]) == ["B-2", "a-1", "C-3", "A-1", "D-4"]
    assert block.row_count == 5


def test_a_usable_condition_beside_unusable_ones_still_filters() -> None:
    model = {
        "filterType": "number",
        "operator": "OR",
        "conditions": [
            {"type": "equals", "filter": "2"},
            {"type": "lessThan", "filter": 1},
            {"type": "sideways", "filter": 1},
        ],
    }
    assert codes({"filterModel": {"days_of_cover": model}}) == ["C-3"]


def wide_table(rows: int) -> pd.DataFrame:
    return pd.DataFrame({"sku_code": [f"S{i:04d}" for i in range(rows)]})


@pytest.mark.parametrize(
    ("start_row", "end_row", "start", "rows"),
    [
        (-50, 10, 0, 10),  # a negative start is the first row
        (10, 5, 10, 0),  # an end before the start: nothing
        (10**12, 10**12 + 100, 1000, 0),  # past the end: nothing, still the count
        (0, 10**9, 0, MAX_BLOCK_ROWS),  # a huge block is cut
        (100, None, 100, DEFAULT_BLOCK_ROWS),
        ("0", "100", 0, DEFAULT_BLOCK_ROWS),
        (True, 3, 0, 3),  # a boolean is not a row number
        (20.0, 30.0, 20, 10),
        (20.5, 30, 0, 30),
        (math.inf, math.nan, 0, DEFAULT_BLOCK_ROWS),
        (995, 1100, 995, 5),
    ],
)
def test_bounds_are_clamped_to_the_rows_and_the_block_cap(
    start_row: object, end_row: object, start: int, rows: int
) -> None:
    block = row_block(wide_table(1000), {"startRow": start_row, "endRow": end_row}, ["sku_code"])
    assert block.start == start
    assert list(block.rows["sku_code"]) == [f"S{i:04d}" for i in range(start, start + rows)]
    assert block.row_count == 1000


def test_an_empty_frame_gives_an_empty_block() -> None:
    block = row_block(
        table().iloc[0:0], {"sortModel": [{"colId": "sku_code", "sort": "asc"}]}, COLUMNS
    )
    assert block.rows.empty
    assert (block.start, block.row_count) == (0, 0)
