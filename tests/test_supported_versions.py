"""The "Supported versions" table of docs/installation.md says what pyproject.toml declares.

The table repeats the lower bounds that ``make lowest`` installs and tests; a bound raised
in pyproject.toml without the table (or the other way round) would be a false promise.
"""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

from conftest import REPO_ROOT


def declared_bounds() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location("lowest_constraints", REPO_ROOT / "scripts" / "lowest_constraints.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    bounds: dict[str, str] = module.constraints(tomllib.loads((REPO_ROOT / "pyproject.toml").read_text()))
    return bounds


def documented_bounds(page: Path) -> dict[str, str]:
    """Package -> version, from the rows of the page's "Supported versions" table."""
    section = page.read_text().split("## Supported versions", 1)[1].split("\n## ", 1)[0]
    found: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not re.match(r"[0-9]", cells[1]):
            continue
        version = cells[1].split()[0]
        for name in cells[0].split(","):
            found[re.sub(r"[-_.]+", "-", name.strip()).lower()] = version
    return found


def same_version(a: str, b: str) -> bool:
    """``10.20`` and ``10.20.0`` are one version."""

    def parts(version: str) -> list[str]:
        numbers = version.split(".")
        while len(numbers) > 1 and numbers[-1] == "0":
            numbers.pop()
        return numbers

    return parts(a) == parts(b)


def test_the_documented_lower_bounds_are_the_declared_ones() -> None:
    declared = declared_bounds()
    documented = documented_bounds(REPO_ROOT / "docs" / "installation.md")
    assert len(documented) >= 15  # the table was found and read
    wrong = {
        name: (version, declared.get(name))
        for name, version in documented.items()
        if name not in declared or not same_version(version, declared[name])
    }
    assert wrong == {}  # package: (in the docs, in pyproject.toml)
