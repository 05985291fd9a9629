"""A pod task whose supercluster declaration is not valid YAML: its placement cannot be checked."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_dataops.operators.kubernetes import SuperclusterPodOperator

with DAG("broken_declaration_yaml", start_date=datetime(2026, 1, 1), schedule=None):
    SuperclusterPodOperator(task_id="pod", image="python:3.11-slim")
