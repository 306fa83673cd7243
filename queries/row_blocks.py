"""One block of a table's rows as a data grid scrolling over the whole table asks for it.

A grid that takes its rows from the server (AG Grid's infinite row model) asks for rows
``startRow`` to ``endRow`` of the table as sorted by its ``sortModel`` and filtered by its
``filterModel``; ``row_block`` answers that from a DataFrame, so the browser never holds more than
the blocks it shows. The request comes from the browser: whatever in it cannot be used (unknown
columns, filter types or operators, values of the wrong type, bounds out of range) is ignored
rather than refused, and a block never holds more than ``MAX_BLOCK_ROWS`` rows.

Models understood (AG Grid's shapes):

- sortModel: ``[{"colId": column, "sort": "asc" | "desc"}, ...]``, first key first. Rows that
  tie keep the frame's order, so the frame's order is the default and the tie-break, and blocks
  cut from the same rows never overlap or skip. Blanks (NaN, None, NaT) sort last either way;
  infinities sort as numbers (inf after every finite value). Text sorts by code point, as AG
  Grid's own comparator does.
- filterModel: ``{column: condition}`` or ``{column: {"filterType": ..., "operator": "AND" |
  "OR", "conditions": [condition, ...]}}`` (no operator: AND); every column's filter must pass.
  ``{"filterType": "text", "type": ..., "filter": str}`` on a text or date column (dates
  matched as their ISO day, 2026-11-27, as the grid shows them), case-insensitive: contains,
  notContains, equals, notEqual, startsWith, endsWith, blank (None, or only spaces), notBlank. A
  missing value passes notContains and notEqual, and fails the other tests.
  ``{"filterType": "number", "type": ..., "filter": number, "filterTo": number}`` on a numeric
  column: equals, notEqual, lessThan, lessThanOrEqual, greaterThan, greaterThanOrEqual, inRange
  (between filter and filterTo, both excluded), blank, notBlank. A blank cell (NaN) passes
  blank only; an infinite value is a number larger (or smaller) than any other, so days of
  cover without demand (inf) pass ``greaterThan 30``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

DEFAULT_BLOCK_ROWS = 100
MAX_BLOCK_ROWS = 200
# AG Grid shows two conditions per column filter by default; more is never needed to say a filter.
MAX_CONDITIONS = 8

TEXT_TYPES = frozenset(
    {"contains", "notContains", "equals", "notEqual", "startsWith", "endsWith", "blank", "notBlank"}
)
NUMBER_TYPES = frozenset(
    {
        "equals",
        "notEqual",
        "lessThan",
        "lessThanOrEqual",
        "greaterThan",
        "greaterThanOrEqual",
        "inRange",
        "blank",
        "notBlank",
    }
)


@dataclass(frozen=True)
class RowBlock:
    """Rows ``start`` .. ``start + len(rows)`` of the sorted, filtered table, and how many rows
    pass the filter in all (what the grid sizes its scrollbar and row count by)."""

    rows: pd.DataFrame
    start: int
    row_count: int


def row_block(frame: pd.DataFrame, request: object, columns: Sequence[str]) -> RowBlock:
    """The block ``request`` (a grid's getRows request: startRow, endRow, sortModel,
    filterModel) asks of ``frame``, sorting and filtering on ``columns`` only.

    ``rows`` has the frame's columns and index; missing or unusable bounds mean the first
    DEFAULT_BLOCK_ROWS rows, a negative start means 0, and a block is cut at MAX_BLOCK_ROWS.
    """
    asked: Mapping[Any, Any] = request if isinstance(request, Mapping) else {}
    usable = [column for column in columns if column in frame.columns]
    keep = _filter_mask(frame, asked.get("filterModel"), usable)
    rows = frame if bool(keep.all()) else frame.loc[keep]
    order = _order(rows, _sort_keys(asked.get("sortModel"), usable))
    start, end = _bounds(asked.get("startRow"), asked.get("endRow"), len(rows))
    return RowBlock(rows=rows.iloc[order[start:end]], start=start, row_count=len(rows))


def _whole(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def _bounds(start_row: object, end_row: object, row_count: int) -> tuple[int, int]:
    start = min(max(_whole(start_row) or 0, 0), row_count)
    end = _whole(end_row)
    if end is None:
        end = start + DEFAULT_BLOCK_ROWS
    return start, min(max(end, start), start + MAX_BLOCK_ROWS, row_count)


def _sort_keys(sort_model: object, columns: Sequence[str]) -> list[tuple[str, bool]]:
    """(column, ascending) pairs of the usable items of a sortModel, first key first."""
    keys: list[tuple[str, bool]] = []
    for item in sort_model if isinstance(sort_model, list) else []:
        if not isinstance(item, Mapping):
            continue
        column, direction = item.get("colId"), item.get("sort")
        known = {key for key, _ in keys}
        if column in columns and column not in known and direction in ("asc", "desc"):
            keys.append((str(column), direction == "asc"))
    return keys


def _rank(values: pd.Series, ascending: bool) -> np.ndarray:
    """A sort key of a column in the asked direction, blanks last either way."""
    if _is_number(values):
        numbers = values.to_numpy(dtype="float64", na_value=np.nan)
        return numbers if ascending else -numbers  # NaN stays NaN, which numpy sorts last
    if pd.api.types.is_datetime64_any_dtype(values):
        values = values.astype("int64").where(values.notna())
    # Sorted codes of the distinct values: hashing then sorting the distinct values is much
    # faster than comparing every row's Python string, and treats numbers, text and dates alike.
    codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
    ranks = codes if ascending else len(uniques) - 1 - codes
    return np.where(codes < 0, len(uniques), ranks)


def _order(rows: pd.DataFrame, keys: list[tuple[str, bool]]) -> np.ndarray:
    """Row positions in the order of ``keys``; ties keep the frame's order (lexsort is stable),
    so the frame's order is the default and blocks cut from it never overlap or skip."""
    if not keys:
        return np.arange(len(rows))
    return np.lexsort([_rank(rows[column], ascending) for column, ascending in reversed(keys)])


def _filter_mask(frame: pd.DataFrame, filter_model: object, columns: Sequence[str]) -> pd.Series:
    keep = pd.Series(True, index=frame.index)
    if not isinstance(filter_model, Mapping):
        return keep
    for column in columns:
        model = filter_model.get(column)
        if isinstance(model, Mapping):
            mask = _column_mask(frame[column], model)
            if mask is not None:
                keep &= mask
    return keep


def _column_mask(values: pd.Series, model: Mapping[Any, Any]) -> pd.Series | None:
    """Which rows pass one column's filter; None when nothing of it can be used."""
    if "conditions" not in model:
        return _condition_mask(values, model, None)
    # AG Grid joins conditions with AND when it names no operator.
    conditions, operator = model.get("conditions"), model.get("operator", "AND")
    if not isinstance(conditions, list) or operator not in ("AND", "OR"):
        return None
    masks = [
        mask
        for condition in conditions[:MAX_CONDITIONS]
        if isinstance(condition, Mapping)
        and (mask := _condition_mask(values, condition, model.get("filterType"))) is not None
    ]
    if not masks:
        return None
    combined = masks[0]
    for mask in masks[1:]:
        combined = (combined & mask) if operator == "AND" else (combined | mask)
    return combined


def _condition_mask(
    values: pd.Series, condition: Mapping[Any, Any], parent_type: object
) -> pd.Series | None:
    filter_type = condition.get("filterType", parent_type)
    kind = condition.get("type")
    numeric = _is_number(values)
    if filter_type == "number" and numeric and kind in NUMBER_TYPES:
        return _number_mask(values.astype("float64"), str(kind), condition)
    if filter_type == "text" and not numeric and kind in TEXT_TYPES:
        return _text_mask(_as_text(values), str(kind), condition.get("filter"))
    return None


def _is_number(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


NUMBER_TESTS: dict[str, Callable[[pd.Series, float], pd.Series]] = {
    "equals": lambda v, x: v == x,
    "notEqual": lambda v, x: (v != x) & v.notna(),
    "lessThan": lambda v, x: v < x,
    "lessThanOrEqual": lambda v, x: v <= x,
    "greaterThan": lambda v, x: v > x,
    "greaterThanOrEqual": lambda v, x: v >= x,
}


def _number_mask(values: pd.Series, kind: str, condition: Mapping[Any, Any]) -> pd.Series | None:
    if kind == "blank":
        return values.isna()
    if kind == "notBlank":
        return values.notna()
    low = _number(condition.get("filter"))
    if low is None:
        return None
    if kind == "inRange":
        high = _number(condition.get("filterTo"))
        return None if high is None else (values > low) & (values < high)
    return NUMBER_TESTS[kind](values, low)


def _as_text(values: pd.Series) -> pd.Series:
    """The column as the grid shows it, lower-cased; blanks as NA."""
    if pd.api.types.is_datetime64_any_dtype(values):
        shown: pd.Series = values.dt.strftime("%Y-%m-%d")
    else:
        shown = values
    lowered: pd.Series = shown.astype("string").str.lower()
    return lowered


TEXT_TESTS: dict[str, Callable[[pd.Series, str], pd.Series]] = {
    "contains": lambda v, x: v.str.contains(x, regex=False),
    "notContains": lambda v, x: ~v.str.contains(x, regex=False),
    "equals": lambda v, x: v == x,
    "notEqual": lambda v, x: v != x,
    "startsWith": lambda v, x: v.str.startswith(x),
    "endsWith": lambda v, x: v.str.endswith(x),
}
# AG Grid's text filter lets a missing value pass the negative tests only.
BLANK_PASSES = frozenset({"notContains", "notEqual"})


def _text_mask(values: pd.Series, kind: str, wanted: object) -> pd.Series | None:
    if kind in ("blank", "notBlank"):
        blank = (values.str.strip() == "").fillna(True).astype(bool)
        return blank if kind == "blank" else ~blank
    if not isinstance(wanted, str) or wanted == "":
        return None
    passed = TEXT_TESTS[kind](values, wanted.lower())
    return passed.fillna(kind in BLANK_PASSES).astype(bool)
