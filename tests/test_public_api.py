"""The top-level package: a deliberate list of public names, each imported only when used."""

from __future__ import annotations

import subprocess
import sys

import pytest

import airflow_dataops


def test_public_surface_is_deliberate() -> None:
    assert airflow_dataops.__all__ == [
        "BraketHook",
        "FailoverExhaustedError",
        "IbmQuantumHook",
        "InvalidInputError",
        "MlflowHook",
        "QuantumTaskOperator",
        "QuantumTaskSensor",
        "SuperclusterHook",
        "SuperclusterPodOperator",
        "VirtualizedDataError",
        "VirtualizedDataHook",
        "VirtualizedQueryOperator",
        "__version__",
    ]


def test_every_export_is_listed() -> None:
    assert sorted(set(airflow_dataops.__all__) - {"__version__"}) == sorted(airflow_dataops._EXPORTS)


@pytest.mark.parametrize("name", [n for n in airflow_dataops.__all__ if n != "__version__"])
def test_every_public_name_is_the_defining_modules_class(name: str) -> None:
    value = getattr(airflow_dataops, name)
    assert value.__name__ == name
    assert value.__module__.startswith("airflow_dataops.")


def test_importing_the_package_imports_no_operator() -> None:
    script = (
        "import sys, airflow_dataops; print(sorted(m for m in sys.modules if m.startswith(('airflow', 'kubernetes'))))"
    )
    done = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "['airflow_dataops']"


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = airflow_dataops.Nope
