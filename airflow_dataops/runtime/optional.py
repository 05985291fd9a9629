"""Lazy loading of the heavy SDKs that live in the provider's extras.

DAG files are parsed over and over by the dag-processor; qiskit, braket and mlflow
each cost up to ~1.7 s to import. So modules that DAGs import never import them at
module level (ruff's TID253 enforces it) and load them here, on first use, turning a
bare ``ModuleNotFoundError`` into an error that names the extra to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: Top-level module -> the extra of ``airflow-dataops`` that installs it.
EXTRA_FOR_MODULE: dict[str, str] = {
    "qiskit": "quantum",
    "qiskit_aer": "quantum",
    "braket": "quantum",
    "qiskit_braket_provider": "quantum",
    "qiskit_ibm_runtime": "ibm",
    "trino": "data",
    "duckdb": "data",
    "sqlglot": "data",
    "mlflow": "lineage",
    "boto3": "aws",
}


class MissingExtraError(ImportError):
    """An optional SDK is not installed; the message names the extra that installs it."""

    def __init__(self, module: str, extra: str, feature: str | None = None) -> None:
        what = f"{feature} needs" if feature else "This feature needs"
        super().__init__(
            f"{what} the '{module}' package, which is not installed. "
            f"Install it with: pip install 'airflow-dataops[{extra}]'",
            name=module,
        )
        self.extra = extra


def import_optional(module: str, feature: str | None = None) -> ModuleType:
    """Import ``module`` (e.g. ``"qiskit"`` or ``"braket.circuits"``) or explain how to get it.

    ``feature`` names what the user was doing, for the error message
    (``"QuantumTaskOperator"``). Only a missing top-level package becomes a
    :class:`MissingExtraError`; any other import failure inside an installed SDK is
    re-raised unchanged, because hiding it would send the user to reinstall for nothing.
    """
    top_level = module.partition(".")[0]
    if top_level not in EXTRA_FOR_MODULE:
        raise ValueError(f"{top_level!r} is not an optional dependency; known: {sorted(EXTRA_FOR_MODULE)}")
    try:
        return importlib.import_module(module)
    except ImportError as error:
        if error.name is not None and error.name.partition(".")[0] != top_level:
            raise
        raise MissingExtraError(top_level, EXTRA_FOR_MODULE[top_level], feature) from error
