"""Test DAGs for metrics and notifications, run by tests/test_metrics.py in a process of its own.

``m_failover`` moves its pod off a cluster that holds it pending (the test sets the
fault); its failover notifiers are a broken one and a working one, in that order.
``m_budget`` spends $3 on a charged-back simulator, then has one task refused by the
run's remaining budget and one by its own ``max_cost``; the refusal notifier comes
from the DAG's ``default_args``.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG
from kubernetes.client import models as k8s

from airflow_dataops.operators.kubernetes import SuperclusterPodOperator
from airflow_dataops.operators.quantum import QuantumTaskOperator
from file_notifier import BrokenNotifier, FileNotifier

BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'
FORTE = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1"
CHARGED = {"aer_simulator": {"per_task": 3.0}}

with DAG("m_failover", start_date=datetime(2026, 1, 1), schedule=None, tags=["test"]):
    SuperclusterPodOperator(
        task_id="work",
        supercluster="supercluster_metrics.yaml",
        image="python:3.11-slim",
        cmds=["python", "-c", "print('done')"],
        container_resources=k8s.V1ResourceRequirements(requests={"cpu": "1", "memory": "1Gi"}),
        schedule_timeout_seconds=3,
        startup_timeout_seconds=10,
        startup_check_interval_seconds=1,
        poll_interval=1,
        # --8<-- [start:howto_on_failover_callback]
        on_failover_callback=[
            BrokenNotifier(),  # logged as a warning; the next notifier is still called
            FileNotifier("{{ ti.task_id }}: {{ dataops_event.failed_target }} -> {{ dataops_event.next_target }}"),
        ],
        # --8<-- [end:howto_on_failover_callback]
    )

# --8<-- [start:howto_on_budget_refusal_callback]
with DAG(
    "m_budget",
    start_date=datetime(2026, 1, 1),
    schedule=None,
    tags=["test"],
    default_args={"on_budget_refusal_callback": FileNotifier("{{ ti.task_id }}: {{ dataops_event.summary }}")},
):
    first = QuantumTaskOperator(task_id="first", circuit=BELL, backend="aer_simulator", price_overrides=CHARGED)
    second = QuantumTaskOperator(
        task_id="second", circuit=BELL, backend="aer_simulator", price_overrides=CHARGED, run_budget=5.0
    )
    first >> second
    QuantumTaskOperator(task_id="qpu", circuit=BELL, backend=FORTE, shots=100, max_cost=1.0)
# --8<-- [end:howto_on_budget_refusal_callback]
