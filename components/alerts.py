"""What the alert rules say on a screen: the alerts firing now, the SLO's error budget and burn
rate, and each HorizontalPodAutoscaler against its bounds. Colour always comes with a symbol
and a word."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd
from dash import html
from dash.development.base_component import Component

from components.formatting import NOT_AVAILABLE, percent
from components.kpi import kpi_value
from queries.slo import FAST_BURN_RATE, SLOW_BURN_RATE, SloStatus

SEVERITY_SYMBOL = {"critical": "⚠", "warning": "▲", "info": "●"}


def age_text(since: dt.datetime, now: dt.datetime) -> str:
    """How long ago, in the largest whole unit that fits: "45 s", "12 min", "3 h 5 min", "2 d"."""
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} d"


def alert_items(alerts: pd.DataFrame, now: dt.datetime) -> list[Component]:
    """One line per firing alert (``firing_alerts`` rows, in their order): symbol, severity,
    name, summary, how long it has been active and its labels. No line at all when none fire."""
    items: list[Component] = []
    for name, severity_label, summary, since, labels in zip(
        alerts["alertname"].astype(str),
        alerts["severity"].astype(str),
        alerts["summary"].astype(str),
        alerts["active_since"].dt.to_pydatetime(),
        alerts["labels"].astype(str),
        strict=True,
    ):
        severity = severity_label or "none"
        data: dict[str, Any] = {"data-alertname": name}
        items.append(
            html.Div(
                [
                    html.Span(
                        f"{SEVERITY_SYMBOL.get(severity, '●')} {severity.upper()}",
                        className="alert-severity",
                    ),
                    html.Span(name, className="alert-name"),
                    html.Span(summary, className="alert-summary"),
                    html.Span(
                        f"for {age_text(since, now)}",
                        className="alert-age",
                        title=f"active since {since:%Y-%m-%d %H:%M:%S} UTC",
                    ),
                    html.Span(labels, className="alert-labels"),
                ],
                className=f"alert-item alert-{severity}",
                **data,
            )
        )
    return items


def _burn_level(status: SloStatus) -> str:
    return {"fast": "alert", "slow": "warning"}.get(status.burn_state, "normal")


def _budget_level(budget_left: float) -> str:
    if math.isnan(budget_left):
        return "normal"
    return "alert" if budget_left <= 0 else "warning" if budget_left < 0.25 else "normal"


def slo_figures(status: SloStatus) -> list[Component]:
    """The SLO in three figures: the objective and the availability so far, the error budget
    left this period, and the burn rate of the last hour (with what it means)."""
    days = status.period.days
    budget = status.budget_left
    rate = status.burn_rate
    budget_text = NOT_AVAILABLE if math.isnan(budget) else percent(budget, 0)
    if not math.isnan(budget) and budget <= 0:
        budget_text = f"spent ({percent(budget, 0)})"
    burn_words = {
        "fast": f"fast burn: at or above {FAST_BURN_RATE:g}x",
        "slow": f"slow burn: at or above {SLOW_BURN_RATE:g}x",
        "within": "1x spends the budget in exactly the period",
        "unknown": "no requests in the last hour",
    }[status.burn_state]
    figures = [
        (
            "slo-availability",
            f"Availability, {days} d",
            percent(status.availability, 2),
            f"objective {percent(status.objective, 2)} for {status.service}",
            "normal" if not status.availability < status.objective else "alert",
            status.availability,
        ),
        (
            "slo-budget",
            "Error budget left",
            budget_text,
            f"of {percent(status.error_budget, 2)} of requests allowed to fail in {days} d",
            _budget_level(budget),
            budget,
        ),
        (
            "slo-burn",
            "Burn rate, last hour",
            NOT_AVAILABLE if math.isnan(rate) else f"{rate:.1f}x",
            burn_words,
            _burn_level(status),
            rate,
        ),
    ]
    figures_shown: list[Component] = [
        html.Div(
            [
                html.Div(label, className="slo-label"),
                html.Div(
                    kpi_value(text, None if math.isnan(raw) else raw, level),
                    className="slo-value",
                ),
                html.Div(hint, className="slo-hint"),
            ],
            id=figure_id,
            className="slo-figure",
        )
        for figure_id, label, text, hint, level, raw in figures
    ]
    return figures_shown


def latest_replicas(hpas: pd.DataFrame) -> pd.DataFrame:
    """Each HorizontalPodAutoscaler's newest row of ``hpa_replicas`` rows, by namespace, name."""
    if hpas.empty:
        return hpas
    newest = hpas.sort_values("timestamp").groupby(["namespace", "hpa"], sort=True).tail(1)
    return newest.sort_values(["namespace", "hpa"]).reset_index(drop=True)


def hpa_rows(hpas: pd.DataFrame) -> list[Component]:
    """One line per HPA: its replicas now against its minimum and maximum, "AT CEILING" when
    it can add no more (``latest_replicas`` rows)."""
    lines: list[Component] = []
    newest = latest_replicas(hpas)
    counts = (
        newest[column].astype("float64").tolist()
        for column in ("current_replicas", "min_replicas", "max_replicas")
    )
    names = (newest["namespace"].astype(str) + "/" + newest["hpa"].astype(str)).tolist()
    for name, current, low, high in zip(names, *counts, strict=True):
        known = not any(math.isnan(value) for value in (current, low, high))
        at_ceiling = known and current >= high
        share = (current - low) / (high - low) if known and high > low else float(known)
        bounds = f"{low:.0f} to {high:.0f}" if known else "bounds unknown"
        data: dict[str, Any] = {"data-hpa": name, "data-at-ceiling": str(at_ceiling).lower()}
        lines.append(
            html.Div(
                [
                    html.Span(name, className="hpa-name"),
                    html.Span(
                        NOT_AVAILABLE if math.isnan(current) else f"{current:.0f}",
                        className="hpa-current",
                    ),
                    html.Span(f"replicas ({bounds})", className="hpa-bounds"),
                    html.Div(
                        html.Div(
                            className="hpa-fill",
                            style={"width": f"{100 * min(max(share, 0.0), 1.0):.0f}%"},
                        ),
                        className="hpa-bar",
                    ),
                    html.Span("⚠ AT CEILING" if at_ceiling else "", className="hpa-ceiling"),
                ],
                className="hpa-row" + (" hpa-at-ceiling" if at_ceiling else ""),
                **data,
            )
        )
    return lines or [html.Div("No HorizontalPodAutoscalers", className="empty-note")]
