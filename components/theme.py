"""invdash's look, in one place: its colours, the Mantine theme, the Plotly template every figure
is drawn with, the AG Grid theme, and the CSS custom properties assets/theme.css reads (the page
writes them into its head: ``css_variables``). Nothing else in components/, dashboard/ or
assets/ names a colour.

The colours are shades of Mantine's default palette (https://mantine.dev/theming/colors/, dark
scheme), named here by what they mean on a page.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

# Surfaces, darkest first.
PAGE = "#0f1115"
PANEL = "#15171c"  # panels, figures, grids
HEADER = "#181b21"  # the header bar
TILE = "#1b1e24"  # pod and node tiles, odd grid rows
GRID_HEADER = "#23262e"
RULE = "#2c313c"  # lines between table rows, under the header
LINE = "#3a3f4b"  # figure grid lines, grid and chip borders
ALERT_SURFACE = "#2a1416"  # behind a tile in alert

# Text.
TEXT = "#f1f3f5"  # gray.1
STRONG_TEXT = "#ffffff"
MUTED = "#adb5bd"  # gray.5

# Meaning.
ACCENT = "#4dabf7"  # blue.4: values, the primary colour
COST = "#ffa94d"  # orange.4
OK = "#51cf66"  # green.5
WARN = "#ffd43b"  # yellow.4
ALERT = "#ff6b6b"  # red.5
DONE = "#5c7cfa"  # indigo.5: finished pods (Completed, Succeeded)
NORMAL_EVENT = "#91a7ff"  # indigo.3: Kubernetes events of type Normal, finished pods' text
ORDER_BARS = "#3a5f86"  # order volume, a quieter blue than the lines drawn over it
BAND = "rgba(77,171,247,0.18)"  # ACCENT, translucent: a band around a line
FORECAST = "#b197fc"  # violet.3: what is forecast, not yet measured
FORECAST_BAND = "rgba(177,151,252,0.22)"  # FORECAST, translucent: its 80% band

# Series colours for workloads: light enough on the dark background, none of them red (alerts).
WORKLOAD_PALETTE = (
    ACCENT, COST, "#b197fc", "#63e6be", WARN, "#f783ac", "#a9e34b", "#74c0fc", "#e599f7",
    "#ffc078",
)  # fmt: skip

# Printed pages (the executive review on paper): black on white.
PRINT_PAPER = "#ffffff"
PRINT_TEXT = "#000000"
PRINT_MUTED = "#333333"

FONT_FAMILY = "Inter, 'DejaVu Sans', system-ui, sans-serif"

MANTINE_THEME: dict[str, Any] = {"fontFamily": FONT_FAMILY, "primaryColor": "blue"}

# What assets/theme.css reads, by custom property.
CSS_VARIABLES = {
    "--bg": PAGE,
    "--panel": PANEL,
    "--header": HEADER,
    "--tile": TILE,
    "--rule": RULE,
    "--line": LINE,
    "--alert-surface": ALERT_SURFACE,
    "--text": TEXT,
    "--muted": MUTED,
    "--accent": ACCENT,
    "--ok": OK,
    "--warn": WARN,
    "--alert": ALERT,
    "--done": DONE,
    "--forecast": FORECAST,
    "--done-text": NORMAL_EVENT,
    "--print-paper": PRINT_PAPER,
    "--print-text": PRINT_TEXT,
    "--print-muted": PRINT_MUTED,
}


def css_variables() -> str:
    """A ``:root`` rule that defines CSS_VARIABLES."""
    declarations = " ".join(f"{name}: {value};" for name, value in CSS_VARIABLES.items())
    return f":root {{ {declarations} }}"


def _figure_template() -> go.layout.Template:
    template = go.layout.Template(pio.templates["plotly_dark"])
    template.layout.update(
        paper_bgcolor=PANEL,
        plot_bgcolor=PANEL,
        font={"color": TEXT},
        colorway=list(WORKLOAD_PALETTE),
    )
    template.layout.xaxis.gridcolor = LINE
    template.layout.yaxis.gridcolor = LINE
    return template


# The template of every figure (plotly_dark on invdash's surfaces), registered once under this
# name when the module is imported: a figure names it and only the colours of its own series.
FIGURE_TEMPLATE = "invdash"
pio.templates[FIGURE_TEMPLATE] = _figure_template()

# AG Grid's Quartz theme in invdash's colours (a function dash-ag-grid evaluates in the browser).
GRID_THEME = {
    "function": (
        f"themeQuartz.withParams({{backgroundColor: '{PANEL}', foregroundColor: '{TEXT}', "
        f"headerBackgroundColor: '{GRID_HEADER}', headerTextColor: '{STRONG_TEXT}', "
        f"oddRowBackgroundColor: '{TILE}', borderColor: '{LINE}', accentColor: '{ACCENT}', "
        "fontSize: 17, headerFontSize: 17, rowHeight: 40, headerHeight: 44})"
    )
}
