"""Pod tasks in a bundle whose supercluster declaration has one invalid target.

``pod`` fits the valid ``local`` target; ``too_big`` fits none of the valid targets, which
the check must still say although the declaration is broken.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG
from kubernetes.client import models as k8s

from airflow_dataops.operators.kubernetes import SuperclusterPodOperator

with DAG("broken_declaration", start_date=datetime(2026, 1, 1), schedule=None):
    SuperclusterPodOperator(task_id="pod", image="python:3.11-slim")
    SuperclusterPodOperator(
        task_id="too_big",
        image="python:3.11-slim",
        container_resources=k8s.V1ResourceRequirements(requests={"cpu": "6", "memory": "1Gi"}),
    )
