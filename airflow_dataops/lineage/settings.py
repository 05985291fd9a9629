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


#: Seconds kept between the end of a task's send and the supervisor's kill.
OVERTIME_MARGIN = 2.0


def send_timeout() -> float:
    """How long a task waits for MLflow to take its records (``[dataops] lineage_send_timeout``).

    A task that reported success is ended by Airflow's supervisor ``[core]
    task_success_overtime`` seconds later (SIGTERM, then SIGKILL), and a send cut that way
    leaves a claimed record on the worker's disk, lost with an ephemeral worker. So the
    wait ends before the supervisor's: raise both where MLflow may be slow.
    """
    from airflow.providers.common.compat.sdk import conf

    wanted = float(option("lineage_send_timeout") or 0)
    overtime = float(conf.getfloat("core", "task_success_overtime", fallback=20.0))
    return max(0.0, min(wanted, overtime - OVERTIME_MARGIN))
