"""airflow-dataops: make ordinary Airflow DAGs supercluster-aware.

The names a DAG author needs are exported here, lazily: ``from airflow_dataops import
SuperclusterPodOperator`` imports the operator's module on first access, so importing
the package itself costs nothing and never loads a heavy SDK (qiskit, braket, mlflow,
trino, duckdb, boto3). The layout is shown in docs/provider.md: ``core`` decides (pure),
``runtime`` blocks and spawns, the rest are thin Airflow adapters.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_EXPORTS = {
    "SuperclusterPodOperator": "airflow_dataops.operators.kubernetes",
    "FailoverExhaustedError": "airflow_dataops.operators.kubernetes",
    "QuantumTaskOperator": "airflow_dataops.operators.quantum",
    "QuantumTaskSensor": "airflow_dataops.sensors.quantum",
    "VirtualizedQueryOperator": "airflow_dataops.operators.virtualized_data",
    "VirtualizedDataHook": "airflow_dataops.hooks.virtualized_data",
    "VirtualizedDataError": "airflow_dataops.hooks.virtualized_data",
    "SuperclusterHook": "airflow_dataops.hooks.supercluster",
    "BraketHook": "airflow_dataops.hooks.braket",
    "IbmQuantumHook": "airflow_dataops.hooks.ibm_quantum",
    "MlflowHook": "airflow_dataops.hooks.mlflow",
    "InvalidInputError": "airflow_dataops.core.errors",
}

__all__ = [
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

if TYPE_CHECKING:
    from airflow_dataops.core.errors import InvalidInputError
    from airflow_dataops.hooks.braket import BraketHook
    from airflow_dataops.hooks.ibm_quantum import IbmQuantumHook
    from airflow_dataops.hooks.mlflow import MlflowHook
    from airflow_dataops.hooks.supercluster import SuperclusterHook
    from airflow_dataops.hooks.virtualized_data import VirtualizedDataError, VirtualizedDataHook
    from airflow_dataops.operators.kubernetes import FailoverExhaustedError, SuperclusterPodOperator
    from airflow_dataops.operators.quantum import QuantumTaskOperator
    from airflow_dataops.operators.virtualized_data import VirtualizedQueryOperator
    from airflow_dataops.sensors.quantum import QuantumTaskSensor


def __getattr__(name: str) -> Any:
    """Import a public name's module on first access (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'airflow_dataops' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
