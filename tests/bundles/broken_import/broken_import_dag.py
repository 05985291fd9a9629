"""A DAG file that fails when parsed: the operator refuses an unknown placement policy."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_dataops.operators.kubernetes import SuperclusterPodOperator

with DAG("broken_import", start_date=datetime(2026, 1, 1), schedule=None):
    SuperclusterPodOperator(task_id="pod", image="python:3.11-slim", policies=["fastest"])
