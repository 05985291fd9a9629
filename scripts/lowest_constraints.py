"""Print pip constraints that pin every dependency of pyproject.toml to its lower bound.

``make lowest`` installs the project with these constraints (and uv's
``--resolution lowest-direct``) into ``.venv-lowest`` and runs the fast tests there, so
every ``>=`` bound we declare is a version that was installed and tested, all of them
together. ``--resolution lowest-direct`` alone is not enough: when the resolver has to
backtrack it settles some direct dependencies above their bound (it chose the trino
provider 6.2.0 and boto3 1.43 while 6.0.0 and 1.34.90 resolve), and a bound nobody
installs is a claim nobody tested. With ``==bound`` constraints the install either gets
exactly the bounds or fails, naming the bound to raise.

Covered: the runtime dependencies, every extra and the ``dev`` dependency group (with the
groups it includes). Exact pins (``==``) are kept; a requirement without a lower bound is
an error, since "any version" cannot be tested. Runs on the machine's own Python
(tomllib, no third-party import): it is called before any virtualenv exists.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
GROUP = "dev"
# name[extras] >=X[, <Y] ; markers: the subset of PEP 508 this pyproject uses.
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*([^;]*?)\s*(?:;.*)?$")
_BOUND = re.compile(r"(>=|==)\s*([0-9][A-Za-z0-9.]*)")


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _group(groups: dict[str, list[object]], name: str) -> list[str]:
    """The requirements of dependency group ``name``, with its ``include-group`` entries expanded."""
    found: list[str] = []
    for entry in groups[name]:
        if isinstance(entry, dict):
            found += _group(groups, str(entry["include-group"]))
        else:
            found.append(str(entry))
    return found


def requirements(pyproject: dict[str, object]) -> list[str]:
    """Every requirement string the project declares: dependencies, extras, the dev group."""
    project = pyproject["project"]
    assert isinstance(project, dict)
    found = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        found += extra
    groups = pyproject.get("dependency-groups", {})
    assert isinstance(groups, dict)
    return found + _group(groups, GROUP)


def constraints(pyproject: dict[str, object]) -> dict[str, str]:
    """Package name -> its lowest allowed version; raises ValueError on a requirement without a bound."""
    project = pyproject["project"]
    assert isinstance(project, dict)
    own_name = _normalized(str(project["name"]))
    pins: dict[str, str] = {}
    for requirement in requirements(pyproject):
        match = _REQUIREMENT.match(requirement)
        if match is None:
            raise ValueError(f"{requirement!r}: not a requirement this script understands; write name>=X")
        name, specifier = _normalized(match.group(1)), match.group(2)
        if name == own_name:
            continue  # a self-referencing extra such as airflow-dataops[quantum]
        bound = _BOUND.search(specifier)
        if bound is None:
            raise ValueError(f"{requirement!r} has no lower bound: add '>=X' with the lowest version that works")
        version = bound.group(2)
        if pins.get(name, version) != version:
            raise ValueError(f"{name} has two lower bounds, {pins[name]} and {version}: declare one")
        pins[name] = version
    return pins


def main() -> int:
    """Print the constraints, one ``name==version`` a line; exit 1 naming the requirement that has no bound."""
    try:
        pins = constraints(tomllib.loads(PYPROJECT.read_text()))
    except ValueError as error:
        print(f"{PYPROJECT}: {error}", file=sys.stderr)
        return 1
    for name, version in sorted(pins.items()):
        print(f"{name}=={version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
