"""Provider metadata read by Airflow's ProvidersManager through the entry point.

Airflow imports this module for every CLI call and every DAG parse that touches the
providers manager, so it must stay import-free: plain data only.
"""

from __future__ import annotations

from typing import Any

from airflow_dataops import __version__
from airflow_dataops.config import PROVIDER_CONFIG

_OPTIONAL_STRING = {"type": ["string", "null"]}

#: The connection types this provider owns, with their forms declared as data (``hook-name``,
#: ``conn-fields``, ``ui-field-behaviour``), as Airflow's own providers do since Airflow 3.2:
#: the API server serves the forms from here without importing a hook or needing wtforms.
#: Braket uses the amazon provider's ``aws`` connection and Trino the trino provider's
#: ``trino`` connection, so neither has a type of its own here.
CONNECTION_TYPES: list[dict[str, Any]] = [
    {
        "hook-class-name": "airflow_dataops.hooks.ibm_quantum.IbmQuantumHook",
        "hook-name": "IBM Quantum",
        "connection-type": "ibm_quantum",
        "conn-fields": {
            "channel": {
                "label": "Channel",
                "description": "ibm_quantum_platform (IBM Quantum Platform) or ibm_cloud (IBM Cloud).",
                "schema": {
                    "type": ["string", "null"],
                    "enum": ["ibm_quantum_platform", "ibm_cloud"],
                    "default": "ibm_quantum_platform",
                },
            },
            "instance": {
                "label": "Instance",
                "description": "The instance's CRN (crn:v1:bluemix:public:quantum-computing:...) or its name.",
                "schema": _OPTIONAL_STRING,
            },
            "url": {
                "label": "API URL",
                "description": "Only for a different endpoint than the channel's own; usually empty.",
                "schema": _OPTIONAL_STRING,
            },
        },
        "ui-field-behaviour": {
            "hidden-fields": ["host", "schema", "port", "login", "extra"],
            "relabeling": {"password": "API token"},
            "placeholders": {"password": "IBM Cloud API key of the account"},
        },
    },
    {
        "hook-class-name": "airflow_dataops.hooks.mlflow.MlflowHook",
        "hook-name": "MLflow",
        "connection-type": "mlflow",
        "conn-fields": {
            "tracking_uri": {
                "label": "Tracking URI",
                "description": (
                    "Wins over host, port and scheme; also a local store such as sqlite:////var/mlflow/mlflow.db."
                ),
                "schema": _OPTIONAL_STRING,
            },
            "experiment": {
                "label": "Experiment",
                "description": "One experiment for every DAG; empty: each DAG gets airflow/<dag_id>.",
                "schema": _OPTIONAL_STRING,
            },
        },
        "ui-field-behaviour": {
            "hidden-fields": ["extra"],
            "relabeling": {
                "host": "Tracking URI or host",
                "schema": "Scheme",
                "login": "Username (basic auth)",
                "password": "Password, or token without a username",
            },
            "placeholders": {
                "host": "https://mlflow.example.com or mlflow.example.com",
                "schema": "https (default: http)",
                "port": "5000",
                "login": "empty for a bearer token",
                "password": "the user's password, or a bearer token",
            },
        },
    },
    {
        "hook-class-name": "airflow_dataops.hooks.virtualized_data.VirtualizedDataHook",
        "hook-name": "Virtualized data (embedded engine; Trino through a trino connection)",
        "connection-type": "virtualized_data",
        "conn-fields": {
            "catalog": {
                "label": "Default catalog",
                "description": "The catalog of two-part and one-part table names; one of the sources' catalogs.",
                "schema": _OPTIONAL_STRING,
            },
            "sources": {
                "label": "Sources",
                "description": (
                    'Each source a catalog: {"catalog": "lake", "kind": "csv", "path": "$DATA_ROOT/lake"}; '
                    "kind csv or parquet (a folder <schema>/<table>.<kind>), duckdb or sqlite (a database file)."
                ),
                "schema": {"type": ["array", "null"], "items": {"type": "object"}},
            },
            "asset_authority": {
                "label": "Asset authority",
                "description": "host:port in the trino:// assets of the tables written here (default localhost:8080).",
                "schema": _OPTIONAL_STRING,
            },
        },
        "ui-field-behaviour": {
            "hidden-fields": ["host", "port", "login", "password"],
            "relabeling": {"schema": "Default schema"},
            "placeholders": {"schema": "main (the default)"},
        },
    },
]


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
        "connection-types": CONNECTION_TYPES,
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
