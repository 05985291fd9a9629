"""The provider's Airflow plugin: it installs the MLflow lineage listener (inactive without an mlflow connection)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin
from airflow.sdk.lineage import HookLineageReader

from airflow_dataops.lineage import listener


class DataopsPlugin(AirflowPlugin):
    """Registered through an entry point, so installing the package is enough.

    Its hook-lineage reader switches Airflow's collection of the tables and assets hooks
    report on (without a reader Airflow discards them); the listener reads them.
    """

    name = "airflow_dataops"
    listeners = [listener]  # noqa: RUF012
    hook_lineage_readers = [HookLineageReader]  # noqa: RUF012
