"""Quantum tasks whose estimate is over their budget: max_cost, and the DAG run's run_budget."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_dataops.operators.quantum import QuantumTaskOperator

FORTE = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1"
BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'

with DAG("broken_budget", start_date=datetime(2026, 1, 1), schedule=None):
    QuantumTaskOperator(task_id="over_max_cost", circuit=BELL, backend=FORTE, shots=100, max_cost=1.0)
    QuantumTaskOperator(task_id="over_run_budget", circuit=BELL, backend=FORTE, shots=10, max_cost=5.0, run_budget=0.5)
