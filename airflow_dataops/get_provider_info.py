"""Provider metadata read by Airflow's ProvidersManager through the entry point.

Airflow imports this module for every CLI call and every DAG parse that touches the
providers manager, so it must stay import-free: plain data only.
"""

from __future__ import annotations

from typing import Any

from airflow_dataops import __version__
from airflow_dataops.config import PROVIDER_CONFIG


def get_provider_info() -> dict[str, Any]:
    """Describe airflow-dataops to Airflow (the ``apache_airflow_provider`` entry point)."""
    return {
        "package-name": "airflow-dataops",
        "name": "DataOps supercluster",
        "description": (
            "Supercluster-aware Airflow: per-task cluster placement for pods, quantum tasks with "
            "capped cost, federated SQL and MLflow lineage."
        ),
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "DataOps supercluster",
                "external-doc-url": "https://github.com/airflow-dataops/airflow-dataops",
                "tags": ["software"],
            }
        ],
        "hooks": [
            {
                "integration-name": "DataOps supercluster",
                "python-modules": [
                    "airflow_dataops.hooks.braket",
                    "airflow_dataops.hooks.ibm_quantum",
                    "airflow_dataops.hooks.mlflow",
                    "airflow_dataops.hooks.supercluster",
                    "airflow_dataops.hooks.virtualized_data",
                ],
            }
        ],
        "operators": [
            {
                "integration-name": "DataOps supercluster",
                "python-modules": [
                    "airflow_dataops.operators.kubernetes",
                    "airflow_dataops.operators.quantum",
                    "airflow_dataops.operators.virtualized_data",
                ],
            }
        ],
        "sensors": [
            {"integration-name": "DataOps supercluster", "python-modules": ["airflow_dataops.sensors.quantum"]}
        ],
        "triggers": [
            {
                "integration-name": "DataOps supercluster",
                "python-modules": [
                    "airflow_dataops.triggers.quantum",
                    "airflow_dataops.triggers.thread_imported",
                    "airflow_dataops.triggers.virtualized_data",
                ],
            }
        ],
        "connection-types": [
            {"hook-class-name": "airflow_dataops.hooks.braket.BraketHook", "connection-type": "braket"},
            {"hook-class-name": "airflow_dataops.hooks.ibm_quantum.IbmQuantumHook", "connection-type": "ibm_quantum"},
            {"hook-class-name": "airflow_dataops.hooks.mlflow.MlflowHook", "connection-type": "mlflow"},
            {
                "hook-class-name": "airflow_dataops.hooks.virtualized_data.VirtualizedDataHook",
                "connection-type": "virtualized_data",
            },
        ],
        "extra-links": [
            "airflow_dataops.links.quantum.BraketTaskLink",
            "airflow_dataops.links.quantum.IbmJobLink",
            "airflow_dataops.links.supercluster.MlflowRunLink",
            "airflow_dataops.links.supercluster.SuperclusterTargetLink",
            "airflow_dataops.links.supercluster.TrinoQueryLink",
        ],
        # `airflow dataops ...`: Airflow calls this function on every CLI call; it imports nothing heavy.
        "cli": ["airflow_dataops.cli.definition.get_dataops_cli_commands"],
        "plugins": [{"name": "airflow_dataops", "plugin-class": "airflow_dataops.plugins.DataopsPlugin"}],
        "config": PROVIDER_CONFIG,
    }
