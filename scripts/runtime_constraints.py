"""Print constraints.txt: every runtime dependency of invdash, pinned at the version installed.

Run with the project's interpreter after the test suite passed on it, so the image ships the
versions the tests ran: ``.venv/bin/python scripts/runtime_constraints.py > constraints.txt``.
Markers are evaluated for this interpreter and platform, which are the image's (CPython 3.11 on
Linux). The [test] extra is left out: the image does not carry it.
"""

from __future__ import annotations

import tomllib
from importlib.metadata import distribution
from importlib.metadata import version as installed_version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

HEADER = """\
# The runtime dependencies of invdash at the versions its tests ran against.
# Used by scripts/image-install.sh (the container image) and scripts/venv.sh (.venv).
# Regenerate after changing dependencies: .venv/bin/python scripts/runtime_constraints.py > constraints.txt
"""


def _applies(requirement: Requirement, extras: frozenset[str]) -> bool:
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({"extra": extra}) for extra in extras | {""})


PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _requirements_of(name: str) -> list[str]:
    # The project's own list from pyproject.toml: an editable install's metadata is only as new
    # as its last reinstall.
    if name == "invdash":
        project = tomllib.loads(PYPROJECT.read_text())["project"]
        return list(project["dependencies"])
    return distribution(name).requires or []


def runtime_closure(root: str = "invdash") -> dict[str, str]:
    """Canonical name -> installed version of everything ``root`` needs without extras."""
    pinned: dict[str, str] = {}
    wanted_extras: dict[str, frozenset[str]] = {}
    pending: list[tuple[str, frozenset[str]]] = [(root, frozenset())]
    while pending:
        name, extras = pending.pop()
        for line in _requirements_of(name):
            requirement = Requirement(line)
            if not _applies(requirement, extras):
                continue
            key = canonicalize_name(requirement.name)
            merged = wanted_extras.get(key, frozenset()) | frozenset(requirement.extras)
            # Visit a package again only when it is asked for with an extra not yet followed.
            if key in pinned and merged == wanted_extras[key]:
                continue
            pinned[key] = installed_version(requirement.name)
            wanted_extras[key] = merged
            pending.append((requirement.name, merged))
    return pinned


def constraints_text() -> str:
    pins = runtime_closure()
    return HEADER + "".join(f"{name}=={pins[name]}\n" for name in sorted(pins))


if __name__ == "__main__":
    print(constraints_text(), end="")
