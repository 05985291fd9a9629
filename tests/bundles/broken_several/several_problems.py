"""One DAG file with a problem of every kind, and one task that is fine: all must be reported in one run."""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import DAG
from kubernetes.client import models as k8s

from airflow_dataops.operators.kubernetes import SuperclusterPodOperator
from airflow_dataops.operators.quantum import QuantumTaskOperator
from airflow_dataops.operators.virtualized_data import VirtualizedQueryOperator

FORTE = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1"
BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'

with DAG("several_problems", start_date=datetime(2026, 1, 1), schedule=None):
    SuperclusterPodOperator(
        task_id="too_big",
        image="python:3.11-slim",
        container_resources=k8s.V1ResourceRequirements(requests={"cpu": "128"}),
    )
    SuperclusterPodOperator(task_id="on_the_edge", image="python:3.11-slim", supercluster="other.yaml")
    SuperclusterPodOperator(task_id="fine", image="python:3.11-slim")
    QuantumTaskOperator(task_id="qasm_typo", circuit="OPENQASM 2.0;\nqreg q[1];\nhh q[0];\n", backend="aer_simulator")
    QuantumTaskOperator(task_id="expensive", circuit=BELL, backend=FORTE, shots=1000, max_cost=10.0)
    VirtualizedQueryOperator(task_id="bad_sql", conn_id="several_vd", sql="SELECT a, FROM t WHERE")
    SQLExecuteQueryOperator(
        task_id="common_sql", conn_id="several_vd", sql=["SELECT 1", "SELECT count(*) FROM lake.x.y WHERE ("]
    )
    VirtualizedQueryOperator(
        task_id="jinja_blocks",
        conn_id="several_vd",
        sql="SELECT * FROM t {% if params.since %}WHERE day >= '{{ params.since }}'{% endif %}",
    )
