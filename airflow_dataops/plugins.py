"""The provider's Airflow plugin: it installs the MLflow lineage listener (inactive without an mlflow connection)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from airflow_dataops.lineage import listener


class DataopsPlugin(AirflowPlugin):
    """Registered through the provider's metadata, so installing the package is enough."""

    name = "airflow_dataops"
    listeners = [listener]  # noqa: RUF012
