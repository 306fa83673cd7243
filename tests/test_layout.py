"""The tree shows the architecture: data flows one way (sources and computations in queries/,
figures in components/, the app in dashboard/), the demo world stays in demo/ and reaches the
product through dashboard/demo.py alone, and no module uses another one's private names."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from components import theme

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("queries", "components", "dashboard", "demo")
# What each package may import of the others.
MAY_IMPORT = {
    "queries": set(),
    "demo": {"queries"},
    "components": {"queries"},
    "dashboard": {"queries", "components", "demo"},
}
# The one module of the product that imports demo/ (seed, demo orders, demo telemetry).
DEMO_WIRING = Path("dashboard/demo.py")


def _imports(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line, imported module, names taken from it) of every absolute import in ``path``."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module, [alias.name for alias in node.names]


def _modules(*packages: str) -> list[Path]:
    return sorted(
        path.relative_to(REPO_ROOT)
        for package in packages
        for path in (REPO_ROOT / package).rglob("*.py")
    )


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_imports_only_the_layers_below_it(package: str) -> None:
    wrong = [
        f"{path}:{line} imports {module}"
        for path in _modules(package)
        for line, module, _ in _imports(REPO_ROOT / path)
        if (top := module.split(".")[0]) in PACKAGES
        and top != package
        and top not in MAY_IMPORT[package]
    ]
    assert wrong == []


def test_the_demo_world_reaches_the_product_through_one_module() -> None:
    importers = {
        path
        for path in _modules("queries", "components", "dashboard")
        for _, module, _ in _imports(REPO_ROOT / path)
        if module.split(".")[0] == "demo"
    }
    assert importers == {DEMO_WIRING}


OURS = (*PACKAGES, "bench", "tests")


def _private_uses(path: Path) -> list[str]:
    """Where ``path`` takes an underscored name from a module of ours: imported by name
    (``from queries.inventory import _rows``) or reached through a module (``risk._z``)."""
    found = []
    modules: set[str] = set()  # names the imports bind (``from queries import risk``)
    for line, module, names in _imports(path):
        if module.split(".")[0] not in OURS:
            continue
        found += [f"{line}: {module}.{name}" for name in names if _private(name)]
        modules.update(names)
    found += [
        f"{node.lineno}: {node.value.id}.{node.attr}"
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in modules
        and _private(node.attr)
    ]
    return found


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_module_uses_private_names_of_another() -> None:
    wrong = [f"{path}:{use}" for path in _modules(*OURS) for use in _private_uses(REPO_ROOT / path)]
    assert wrong == []


def test_the_private_name_check_finds_both_forms(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import numpy as np\n"
        "from queries.inventory import _rows, naive_utc\n"
        "from queries import risk\n"
        "risk._z(np._core, naive_utc)\n"
    )
    assert _private_uses(sample) == ["2: queries.inventory._rows", "4: risk._z"]


# A colour as CSS or Plotly write it: #rgb or #rrggbb standing alone (an id selector such as
# #ops-kpi-risk goes on past its hex digits), rgb(...) and rgba(...).
COLOUR = re.compile(r"#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{3})(?![0-9a-zA-Z_-])|\brgba?\(")
THEME = Path("components/theme.py")


def _colour_literals(path: Path) -> list[str]:
    text = (REPO_ROOT / path).read_text()
    return [
        f"{path}:{number}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), start=1)
        if COLOUR.search(line)
    ]


def test_colours_are_named_only_in_the_theme() -> None:
    paths = [
        *_modules("components", "dashboard"),
        *sorted(p.relative_to(REPO_ROOT) for p in (REPO_ROOT / "assets").glob("*.css")),
    ]
    assert THEME in paths
    found = [hit for path in paths if path != THEME for hit in _colour_literals(path)]
    assert found == []


def test_the_colour_check_finds_hex_and_rgb_but_not_selectors() -> None:
    assert COLOUR.search('marker_color="#3a5f86"')
    assert COLOUR.search("border: 1px solid #fff;")
    assert COLOUR.search('fillcolor="rgba(77,171,247,0.18)"')
    assert not COLOUR.search("#ops-kpi-risk { color: var(--alert); }")
    assert not COLOUR.search("a#add-button { }")


def test_every_custom_property_the_stylesheet_reads_is_defined_by_the_theme() -> None:
    read = set(re.findall(r"var\((--[a-z0-9-]+)\)", (REPO_ROOT / "assets/theme.css").read_text()))
    assert read <= set(theme.CSS_VARIABLES), sorted(read - set(theme.CSS_VARIABLES))
    assert set(theme.CSS_VARIABLES) <= read, "a colour the stylesheet no longer reads"
