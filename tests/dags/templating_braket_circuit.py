"""Test DAG: a Braket ``Circuit`` object given to QuantumTaskOperator as it is (a Braket circuit is callable).

Run by tests/test_operator_templating.py through dag.test(). Airflow calls a callable
template field to render it; the operator hands a Braket circuit to the templater
through ``airflow.sdk.literal`` so that it arrives unchanged, and it runs on Braket's
local simulator. The DAG file imports the Braket SDK itself, as a DAG that builds Braket
circuits does; the provider's modules never do.
"""

from __future__ import annotations

import math
from datetime import datetime

from airflow.sdk import DAG, task
from braket.circuits import Circuit, FreeParameter

from airflow_dataops.operators.quantum import QuantumTaskOperator


@task
def angles() -> dict[str, float]:
    """An upstream task that computes the rotation angle."""
    return {"theta": math.pi}


with DAG("tpl_q_braket_circuit", start_date=datetime(2026, 1, 1), schedule=None, tags=["test"]):
    QuantumTaskOperator(task_id="bell", circuit=Circuit().h(0).cnot(0, 1), backend="braket_local", shots=400)
    QuantumTaskOperator(
        task_id="rotation",
        circuit=Circuit().rx(0, FreeParameter("theta")),
        parameters=angles(),
        backend="braket_local",
        shots=100,
    )
