"""Extra links from a task in the Airflow UI: its MLflow run, its Trino query, the target its pod ran on.

Airflow 3 computes a task's extra links on the worker when the try ends and keeps them
in XCom, so each ``get_link`` here sees the operator that ran, with the facts it
published (:meth:`~airflow_dataops.operators._facts.FactPublisher.published`).

- :class:`MlflowRunLink` (any operator): the overview app's ``/dataops/mlflow/run``
  route, which looks the try's run up in MLflow by its lineage key when clicked (the
  record reaches MLflow after the try ends, through the spool); empty without an
  ``mlflow`` connection.
- :class:`TrinoQueryLink` (``VirtualizedQueryOperator``): the coordinator's query page,
  from the ``query_id`` of the task's result; empty on the embedded engine.
- :class:`SuperclusterTargetLink` (``SuperclusterPodOperator``): the target's row on the
  supercluster page (health, capacity, price).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from airflow.sdk import BaseOperatorLink

from airflow_dataops.core import facts
from airflow_dataops.ui import URL_PREFIX


def published(operator: Any, fact: facts.Fact[Any]) -> Any:
    """What ``operator`` published as ``fact`` in this try (None for operators that publish nothing)."""
    read = getattr(operator, "published", None)
    return read(fact) if callable(read) else None


def _base_url() -> str:
    """The api-server's address (``[api] base_url``), or nothing: links relative to the UI's host."""
    from airflow.providers.common.compat.sdk import conf

    return str(conf.get("api", "base_url", fallback="") or "").rstrip("/")


def overview_url(path: str = "/", query: dict[str, Any] | None = None, fragment: str = "") -> str:
    """A URL of the overview app."""
    url = f"{_base_url()}{URL_PREFIX}{path}"
    if query:
        url += "?" + urlencode(query)
    return url + (f"#{quote(fragment)}" if fragment else "")


class MlflowRunLink(BaseOperatorLink):
    """The task try's MLflow run (resolved by the overview app when clicked)."""

    name = "MLflow run"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        """The redirect URL naming the try, or nothing when lineage to MLflow is off."""
        from airflow.providers.common.compat.sdk import BaseHook

        from airflow_dataops.lineage.settings import mlflow_conn_id

        try:
            BaseHook.get_connection(mlflow_conn_id())
        except Exception:  # no mlflow connection: nothing was traced
            return ""
        try_number = getattr(ti_key, "try_number", None) or 1
        query = {
            "dag_id": ti_key.dag_id,
            "run_id": ti_key.run_id,
            "task_id": ti_key.task_id,
            "map_index": ti_key.map_index,
            "try_number": try_number,
        }
        return overview_url("/mlflow/run", query)


def trino_query_url(http_scheme: str, host: str, port: int, query_id: str) -> str:
    """The Trino web UI page of a query."""
    return f"{http_scheme}://{host}:{port}/ui/query.html?{quote(query_id)}"


class TrinoQueryLink(BaseOperatorLink):
    """The Trino query page of a virtualized-data task (empty on the embedded engine)."""

    name = "Trino query"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        """The coordinator's page for the ``query_id`` of the task's result."""
        result = published(operator, facts.RESULT)
        query_id = result.get("query_id") if isinstance(result, dict) else None
        conn_id = getattr(operator, "conn_id", None)
        if not query_id or not conn_id:
            return ""
        from airflow_dataops.hooks.virtualized_data import VirtualizedDataHook

        hook = VirtualizedDataHook(virtualized_data_conn_id=conn_id)
        if hook.engine != "trino":
            return ""
        settings = hook.trino_settings
        return trino_query_url(settings.http_scheme, settings.host, settings.port, str(query_id))


class SuperclusterTargetLink(BaseOperatorLink):
    """The supercluster target the pod ran on, on the overview page."""

    name = "Supercluster target"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        """The target's row of the page: the last target the try ran on, else the decision's choice."""
        outcome, placement = published(operator, facts.PLACEMENT_OUTCOME), published(operator, facts.PLACEMENT)
        target = (outcome or {}).get("ran_on") or (placement or {}).get("chosen")
        return overview_url("/", fragment=f"target-{target}") if target else ""
