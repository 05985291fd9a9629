"""Test DAGs for SuperclusterPodOperator, run by tests/test_operator_kubernetes.py through dag.test().

One DAG per execution mode; the tests steer behaviour through the simulated clusters'
faults and the run's params (how long the pod works, its exit code).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.providers.cncf.kubernetes.callbacks import KubernetesPodOperatorCallback
from airflow.sdk import DAG
from kubernetes.client import models as k8s

from airflow_dataops.operators.kubernetes import SuperclusterPodOperator

# --8<-- [start:howto_supercluster_pod]
# The pod prints its target's region (an override), works a while, then exits.
POD_SCRIPT = (
    "import os, sys, time\n"
    "print('region', os.environ.get('TARGET_REGION'), flush=True)\n"
    "time.sleep(float(sys.argv[1]))\n"
    "print('done', flush=True)\n"
    "sys.exit(int(sys.argv[2]))\n"
)


def pod_task(**kwargs: object) -> SuperclusterPodOperator:
    """The task every test DAG runs, with fast timeouts so failover tests take seconds."""
    options: dict[str, Any] = {
        "task_id": "work",
        "container_resources": k8s.V1ResourceRequirements(requests={"cpu": "1", "memory": "1Gi"}),
        **kwargs,
    }
    return SuperclusterPodOperator(
        image="python:3.11-slim",
        cmds=["python", "-c", POD_SCRIPT],
        arguments=["{{ params.seconds }}", "{{ params.exit_code }}"],
        schedule_timeout_seconds=3,
        startup_timeout_seconds=10,
        startup_check_interval_seconds=1,
        poll_interval=1,
        get_logs=True,
        **options,
    )


# --8<-- [end:howto_supercluster_pod]


# --8<-- [start:howto_supercluster_sync]
PARAMS = {"seconds": 0.5, "exit_code": 0}

with DAG("sc_sync", start_date=datetime(2026, 1, 1), schedule=None, params=PARAMS, tags=["test"]):
    pod_task()
# --8<-- [end:howto_supercluster_sync]

# --8<-- [start:howto_supercluster_deferrable]
with DAG("sc_deferrable", start_date=datetime(2026, 1, 1), schedule=None, params=PARAMS, tags=["test"]):
    pod_task(deferrable=True)
# --8<-- [end:howto_supercluster_deferrable]

# --8<-- [start:howto_supercluster_entitlement]
with DAG("sc_not_entitled", start_date=datetime(2026, 1, 1), schedule=None, params=PARAMS, tags=["test"]):
    pod_task(supercluster="supercluster_restricted.yaml", team="analytics")
# --8<-- [end:howto_supercluster_entitlement]


class CrashAfterCreation(KubernetesPodOperatorCallback):
    """Fails the first try right after its pod is created, as a worker crash would, leaving the pod running."""

    @staticmethod
    def on_pod_creation(*, pod: k8s.V1Pod, client: object, mode: str, **kwargs: Any) -> None:
        context = kwargs["context"]
        if context["ti"].try_number == 1:
            raise RuntimeError("simulated worker crash after the pod was created")


with DAG("sc_retry", start_date=datetime(2026, 1, 1), schedule=None, params=PARAMS, tags=["test"]):
    pod_task(
        callbacks=CrashAfterCreation,
        on_finish_action="delete_succeeded_pod",
        retries=1,
        retry_delay=timedelta(seconds=0),
    )

with DAG("sc_unknown_connection", start_date=datetime(2026, 1, 1), schedule=None, params=PARAMS, tags=["test"]):
    pod_task(supercluster="supercluster_unknown_connection.yaml")

# --8<-- [start:howto_supercluster_no_fit]
with DAG("sc_no_fit", start_date=datetime(2026, 1, 1), schedule=None, params=PARAMS, tags=["test"]):
    pod_task(task_id="huge", container_resources=k8s.V1ResourceRequirements(requests={"cpu": "64"}))
# --8<-- [end:howto_supercluster_no_fit]

# --8<-- [start:howto_supercluster_mapped]
# Dynamic task mapping: one routed pod per part; each mapped task decides on its own.
with DAG(
    "sc_mapped",
    start_date=datetime(2026, 1, 1),
    schedule=None,
    tags=["test"],
    default_args={"max_failovers": 1},  # placement arguments may come from default_args
):
    SuperclusterPodOperator.partial(
        task_id="part",
        image="python:3.11-slim",
        cmds=["python", "-c", POD_SCRIPT],
        container_resources=k8s.V1ResourceRequirements(requests={"cpu": "1", "memory": "1Gi"}),
        policies=["cheapest", "fastest_start"],
        schedule_timeout_seconds=3,
        poll_interval=1,
    ).expand(arguments=[["0.2", "0"], ["0.2", "0"]])
# --8<-- [end:howto_supercluster_mapped]
