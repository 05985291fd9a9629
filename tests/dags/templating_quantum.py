"""Test DAGs: every templated argument of QuantumTaskOperator and QuantumTaskSensor, rendered then used.

Run by tests/test_operator_templating.py through dag.test(). Each value comes either
from an upstream task (an ``XComArg``) or from a Jinja template over the run's params
(which ``dag.test(run_conf=...)`` overrides), and the circuit makes the rendered value
visible in its result: an X gate, or a rotation by pi, turns every shot into ``1``.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, task

from airflow_dataops.operators.quantum import QuantumTaskOperator
from airflow_dataops.sensors.quantum import QuantumTaskSensor

#: One qubit, one gate chosen by the run (``x``: always 1, ``id``: always 0).
GATE_TEMPLATE = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[1];
creg c[1];
{{ params.gate }} q[0];
measure q -> c;
"""
#: A rotation by the parameter ``theta`` (0: always 0, pi: always 1).
ROTATION = """OPENQASM 3.0;
include "stdgates.inc";
input float[64] theta;
qubit[1] q;
bit[1] c;
rx(theta) q[0];
c[0] = measure q[0];
"""


def dag(dag_id: str, **params: Any) -> DAG:
    """A manual test DAG with ``params`` the runs override."""
    return DAG(dag_id, start_date=datetime(2026, 1, 1), schedule=None, tags=["test"], params=params)


# --8<-- [start:howto_quantum_templated]
@task
def circuit_text(gate: str) -> str:
    """An upstream task that writes the circuit."""
    return GATE_TEMPLATE.replace("{{ params.gate }}", gate)


@task
def angles(theta: float) -> dict[str, float]:
    """An upstream task that computes the parameters."""
    return {"theta": theta}


with dag("tpl_q_from_upstream"):
    QuantumTaskOperator(task_id="circuit", circuit=circuit_text("x"), backend="aer_simulator", shots=200, seed=1)
    QuantumTaskOperator(
        task_id="parameters", circuit=ROTATION, parameters=angles(math.pi), backend="aer_simulator", shots=200, seed=1
    )

with dag("tpl_q_from_jinja", gate="id", angles={"theta": 0.0}, theta=0.0):
    QuantumTaskOperator(task_id="circuit", circuit=GATE_TEMPLATE, backend="braket_local", shots=200)
    # Rendered to a string ("{'theta': 3.14...}") without native rendering: read as a dict.
    QuantumTaskOperator(
        task_id="parameters",
        circuit=ROTATION,
        parameters="{{ params.angles }}",
        backend="aer_simulator",
        shots=200,
        seed=1,
    )
    QuantumTaskOperator(
        task_id="parameter_value",
        circuit=ROTATION,
        parameters={"theta": "{{ params.theta }}"},
        backend="aer_simulator",
        shots=200,
        seed=1,
    )
# --8<-- [end:howto_quantum_templated]

with dag("tpl_q_bad_rendered_parameters", angles="not angles"):
    QuantumTaskOperator(
        task_id="run", circuit=ROTATION, parameters="{{ params.angles }}", backend="aer_simulator", shots=10
    )


@task
def submitted_arn(**context: Any) -> str:
    """An upstream task handing over the ARN of a task submitted elsewhere (given in the run's conf)."""
    return str(context["dag_run"].conf["arn"])


with dag("tpl_s_arn", arn="arn:aws:braket:us-east-1:123456789012:quantum-task/none"):
    QuantumTaskSensor(
        task_id="from_upstream", task_arn=submitted_arn(), aws_conn_id="tpl_aws", poke_interval=0.2, timeout=30
    )
    QuantumTaskSensor(
        task_id="from_jinja", task_arn="{{ params.arn }}", aws_conn_id="tpl_aws", poke_interval=0.2, timeout=30
    )
