"""``make forecast-report`` writes docs/forecast.md from one run: every figure computed."""

from __future__ import annotations

import datetime as dt

from bench.forecast_report import build_report
from demo.seed import Scale

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


def test_the_report_has_every_section_and_the_run_s_figures() -> None:
    text = build_report(
        Scale(skus=18, warehouses=2, days=120, lines_per_series_day=3.0), 7, NOW, "make x"
    )
    for heading in ("## Method", "## Overall", "## By category", "## Why the baseline was kept"):
        assert heading in text
    assert "| command | `make x` |" in text
    assert "18 SKUs" in text
    assert "| SKUs where the model beats the baseline | " in text
    assert " of 18 (" in text
    assert "n/a" not in text.split("## Overall")[1].split("## By category")[0]
