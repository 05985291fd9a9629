"""Test DAG for the extra links of airflow_dataops/links/supercluster.py, run by tests/test_ui_links.py.

The provider's operators carry these links; this small operator carries all three at once
and publishes the facts they read (a placement decision and a result with a Trino
``query_id``, as SuperclusterPodOperator and VirtualizedQueryOperator do), so the links are
checked without a Kubernetes or Trino stand-in.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, BaseOperator

from airflow_dataops.core import facts
from airflow_dataops.links.supercluster import MlflowRunLink, SuperclusterTargetLink, TrinoQueryLink
from airflow_dataops.operators._facts import FactPublisher

QUERY_ID = "20260101_120000_00042_abcde"


class LinkedOperator(FactPublisher, BaseOperator):
    """Publishes the facts the links read, like the provider's operators."""

    operator_extra_links = (MlflowRunLink(), TrinoQueryLink(), SuperclusterTargetLink())

    def __init__(self, *, conn_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id

    def execute(self, context: Any) -> dict[str, Any]:
        """Publish a decision and return a query id."""
        decision: facts.PlacementDecision = {"chosen": "cheap", "policies": ["cheapest"]}
        self.publish(context, facts.PLACEMENT, decision)
        return self.publish(context, facts.RESULT, {"conn_id": self.conn_id, "query_id": QUERY_ID})


with DAG("ui_links", start_date=datetime(2026, 1, 1), schedule=None, tags=["test"]):
    LinkedOperator(task_id="on_trino", conn_id="vd_links_trino")
    LinkedOperator(task_id="embedded", conn_id="vd_links_embedded")
