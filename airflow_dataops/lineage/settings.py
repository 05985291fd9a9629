"""The lineage settings of ``[dataops]`` (declared in :mod:`airflow_dataops.config`)."""

from __future__ import annotations

import os

from airflow_dataops.config import option


def mlflow_conn_id() -> str:
    """The connection lineage goes to (``[dataops] mlflow_conn_id``)."""
    return option("mlflow_conn_id") or "mlflow_default"


def spool_folder() -> str:
    """Where records wait until MLflow has them (``[dataops] lineage_spool``; empty: under ``$AIRFLOW_HOME``)."""
    home = os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow"))
    return option("lineage_spool") or os.path.join(home, "dataops", "lineage-spool")


def send_timeout() -> float:
    """How long a task waits for MLflow to take its records (``[dataops] lineage_send_timeout``)."""
    return float(option("lineage_send_timeout") or 0)
