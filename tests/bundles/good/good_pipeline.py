"""A bundle the check must pass: every kind of task, each one valid."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG
from kubernetes.client import models as k8s

from airflow_dataops.operators.kubernetes import SuperclusterPodOperator
from airflow_dataops.operators.quantum import QuantumTaskOperator
from airflow_dataops.operators.virtualized_data import VirtualizedQueryOperator

BELL = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0],q[1];
measure q -> c;
"""

with DAG("good_pipeline", start_date=datetime(2026, 1, 1), schedule=None, tags=["check"]):
    SuperclusterPodOperator(
        task_id="small_pod",
        image="python:3.11-slim",
        cmds=["python", "-c", "print('hello')"],
        container_resources=k8s.V1ResourceRequirements(requests={"cpu": "1", "memory": "1Gi"}),
        do_xcom_push=True,
    )
    SuperclusterPodOperator(
        task_id="gpu_pod",
        image="trainer:1",
        container_resources=k8s.V1ResourceRequirements(limits={"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": "1"}),
        gpu_type="nvidia-l4",
        team="ml",
    )
    QuantumTaskOperator(task_id="bell", circuit=BELL, candidates=["aer_simulator", "braket_local"], shots=1000)
    QuantumTaskOperator(task_id="bell_file", circuit="circuits/bell.qasm", backend="braket_local", shots=100)
    QuantumTaskOperator(
        task_id="bell_on_sv1",
        circuit=BELL,
        backend="arn:aws:braket:::device/quantum-simulator/amazon/sv1",
        shots=100,
        max_cost=1.0,
    )
    QuantumTaskOperator(
        task_id="from_upstream",
        circuit="{{ ti.xcom_pull(task_ids='build')['qasm'] }}",
        backend="aer_simulator",
    )
    VirtualizedQueryOperator(
        task_id="totals",
        conn_id="lakehouse",
        sql="""
SELECT c.name, sum(o.amount) AS total
FROM lake.sales.orders AS o
JOIN lake.crm.customers AS c ON o.customer_id = c.id
WHERE o.day = DATE '{{ ds }}'
GROUP BY c.name
""",
        target_table="warehouse.marts.totals",
    )
    VirtualizedQueryOperator(task_id="totals_from_file", conn_id="lakehouse", sql="sql/daily_totals.sql")
    VirtualizedQueryOperator(
        task_id="cleanup",
        conn_id="lakehouse",
        sql="DELETE FROM {{ params.table }} WHERE day < current_date - INTERVAL '{{ params.days }}' DAY",
    )
