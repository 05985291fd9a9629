"""Plain KubernetesPodOperator tasks, untouched: the cluster policy routes the tagged DAG's task only."""

from __future__ import annotations

from datetime import datetime

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import DAG
from kubernetes.client import models as k8s


# --8<-- [start:howto_cluster_policy]
def plain_pod(task_id: str) -> KubernetesPodOperator:
    """An ordinary KPO task as found in existing DAGs (it names its own connection)."""
    return KubernetesPodOperator(
        task_id=task_id,
        kubernetes_conn_id="kubernetes_default",
        image="python:3.11-slim",
        cmds=["python", "-c", "import os; print('routed to', os.environ.get('TARGET_REGION'))"],
        container_resources=k8s.V1ResourceRequirements(requests={"cpu": "1", "memory": "1Gi"}),
        schedule_timeout_seconds=3,
        startup_check_interval_seconds=1,
    )


with DAG("legacy_routed", start_date=datetime(2026, 1, 1), schedule=None, tags=["supercluster"]):
    plain_pod("existing_task")

with DAG("legacy_untouched", start_date=datetime(2026, 1, 1), schedule=None):
    plain_pod("existing_task")
# --8<-- [end:howto_cluster_policy]
