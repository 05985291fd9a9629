"""Circuits refused before submission: one does not parse, one is wider than its device."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_dataops.operators.quantum import QuantumTaskOperator

DM1 = "arn:aws:braket:::device/quantum-simulator/amazon/dm1"
BAD = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[1];
h q[0]
x q[0];
"""
WIDE = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[20];\ncreg c[20];\nh q;\nmeasure q -> c;\n'

with DAG("broken_circuit", start_date=datetime(2026, 1, 1), schedule=None):
    QuantumTaskOperator(task_id="bad_qasm", circuit=BAD, backend="aer_simulator")
    QuantumTaskOperator(task_id="too_wide", circuit=WIDE, backend=DM1, shots=100, max_cost=5.0)
    QuantumTaskOperator(task_id="unbound", circuit="circuits/rotation.qasm", backend="aer_simulator", shots=10)
