"""The lineage settings of ``[dataops]``: which connection, which spool, how long a task waits for MLflow."""

from __future__ import annotations

import os

#: Seconds a task waits for MLflow to take its records before it ends (the rest waits in the spool).
DEFAULT_SEND_TIMEOUT = 10.0


def _setting(name: str, fallback: str) -> str:
    from airflow.providers.common.compat.sdk import conf

    return str(conf.get("dataops", name, fallback=fallback))


def mlflow_conn_id() -> str:
    """The connection lineage goes to (``[dataops] mlflow_conn_id``)."""
    return _setting("mlflow_conn_id", "mlflow_default")


def spool_folder() -> str:
    """Where records wait until MLflow has them (``[dataops] lineage_spool``)."""
    home = os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow"))
    return _setting("lineage_spool", os.path.join(home, "dataops", "lineage-spool"))


def send_timeout() -> float:
    """How long a task waits for MLflow to take its records (``[dataops] lineage_send_timeout``)."""
    return float(_setting("lineage_send_timeout", str(DEFAULT_SEND_TIMEOUT)))
