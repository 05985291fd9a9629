"""The provider's Airflow plugin: the MLflow lineage listener and the supercluster page of the Airflow UI.

The listener is inactive without an mlflow connection; the page is read-only.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin
from airflow.sdk.lineage import HookLineageReader

from airflow_dataops.lineage import listener
from airflow_dataops.ui import URL_PREFIX, overview_app


class DataopsPlugin(AirflowPlugin):
    """Registered through an entry point, so installing the package is enough.

    Its hook-lineage reader switches Airflow's collection of the tables and assets hooks
    report on (without a reader Airflow discards them); the listener reads them. The
    api-server mounts the read-only overview app under ``/dataops`` and shows it in the
    navigation as "Supercluster" (an external view rendered inside the UI).
    """

    name = "airflow_dataops"
    listeners = [listener]  # noqa: RUF012
    hook_lineage_readers = [HookLineageReader]  # noqa: RUF012
    fastapi_apps = [{"app": overview_app, "url_prefix": URL_PREFIX, "name": "Supercluster overview"}]  # noqa: RUF012
    external_views = [  # noqa: RUF012
        {
            "name": "Supercluster",
            "href": f"{URL_PREFIX}/",
            "url_route": "supercluster",
            "destination": "nav",
            "nav_top_level": True,
        }
    ]
