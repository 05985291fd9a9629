"""Pods no declared target can run: too big for every pool, or only fits where the team is not entitled."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG
from kubernetes.client import models as k8s

from airflow_dataops.operators.kubernetes import SuperclusterPodOperator

with DAG("broken_placement", start_date=datetime(2026, 1, 1), schedule=None, tags=["analytics"]):
    SuperclusterPodOperator(
        task_id="too_big",
        image="python:3.11-slim",
        container_resources=k8s.V1ResourceRequirements(requests={"cpu": "128", "memory": "8Gi"}),
    )
    SuperclusterPodOperator(
        task_id="not_entitled",
        image="python:3.11-slim",
        container_resources=k8s.V1ResourceRequirements(requests={"cpu": "32", "memory": "64Gi"}),
        team="analytics",
    )
