"""Test DAGs for QuantumTaskOperator, run by tests/test_operator_quantum.py through dag.test()."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG

from airflow_dataops.operators.quantum import QuantumTaskOperator
from airflow_dataops.sensors.quantum import QuantumTaskSensor

# --8<-- [start:howto_quantum_circuit]
BELL = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0],q[1];
measure q -> c;
"""
# --8<-- [end:howto_quantum_circuit]
# --8<-- [start:howto_quantum_qpu]
FORTE = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1"
# --8<-- [end:howto_quantum_qpu]
GHZ7 = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[7];\ncreg c[7];\nh q[0];\n' + "".join(
    f"cx q[{i}],q[{i + 1}];\n" for i in range(6)
)
# --8<-- [start:howto_quantum_price_overrides]
CHARGED = {"aer_simulator": {"per_task": 3.0}}  # a local run charged back at $3, to test run budgets
# --8<-- [end:howto_quantum_price_overrides]


def fail_first_try(context: Any, result: Any) -> None:
    """After the circuit ran, fail try 1, as a worker dying after the run would."""
    if context["ti"].try_number == 1:
        raise RuntimeError("simulated crash after the quantum task finished")


# --8<-- [start:howto_quantum_dag]
def dag(dag_id: str) -> DAG:
    """A manual test DAG."""
    return DAG(dag_id, start_date=datetime(2026, 1, 1), schedule=None, tags=["test"])


# --8<-- [end:howto_quantum_dag]
# --8<-- [start:howto_quantum_candidates]
with dag("q_bell"):
    QuantumTaskOperator(task_id="bell", circuit=BELL, candidates=["braket_local", "aer_simulator"], shots=2000, seed=5)
# --8<-- [end:howto_quantum_candidates]

# --8<-- [start:howto_quantum_max_cost]
with dag("q_over_budget"):
    QuantumTaskOperator(task_id="qpu", circuit=BELL, backend=FORTE, shots=100, max_cost=1.0)
# --8<-- [end:howto_quantum_max_cost]

# --8<-- [start:howto_quantum_ibm]
with dag("q_ibm_fake"):
    QuantumTaskOperator(task_id="bell", circuit=BELL, backend="fake_manila", shots=2000)
# --8<-- [end:howto_quantum_ibm]

with dag("q_ibm_too_wide"):
    QuantumTaskOperator(task_id="wide", circuit=GHZ7, backend="fake_manila", shots=100)

with dag("q_ibm_no_connection"):
    QuantumTaskOperator(task_id="qpu", circuit=BELL, backend="ibm_torino", shots=100, max_cost=100.0)

# --8<-- [start:howto_quantum_run_budget]
with dag("q_run_budget"):
    first = QuantumTaskOperator(task_id="first", circuit=BELL, backend="aer_simulator", price_overrides=CHARGED)
    second = QuantumTaskOperator(
        task_id="second", circuit=BELL, backend="aer_simulator", price_overrides=CHARGED, run_budget=5.0
    )
    first >> second
# --8<-- [end:howto_quantum_run_budget]

with dag("q_retry"):
    QuantumTaskOperator(
        task_id="bell",
        circuit=BELL,
        backend="aer_simulator",
        post_execute=fail_first_try,
        retries=1,
        retry_delay=timedelta(seconds=0),
    )

with dag("q_bad_qasm"):
    QuantumTaskOperator(
        task_id="bad",
        circuit='OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\nh q[0]\nx q[0];\n',
        backend="aer_simulator",
    )

# --8<-- [start:howto_quantum_braket]
SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"


def braket_task(**kwargs: Any) -> QuantumTaskOperator:
    """A Bell pair on Braket's SV1 through the test server, polled quickly."""
    return QuantumTaskOperator(
        task_id="bell", circuit=BELL, backend=SV1, shots=1000, max_cost=1.0, poll_interval=0.2, **kwargs
    )


# --8<-- [end:howto_quantum_braket]


with dag("q_braket"):
    braket_task()

with dag("q_braket_retry_after_finish"):
    braket_task(post_execute=fail_first_try, retries=1, retry_delay=timedelta(seconds=0))

with dag("q_braket_retry_while_waiting"):
    braket_task(retries=1, retry_delay=timedelta(seconds=0))

with dag("q_braket_timeout"):
    braket_task(execution_timeout=timedelta(seconds=3))

# --8<-- [start:howto_quantum_deferrable]
with dag("q_braket_deferrable"):
    braket_task(deferrable=True)
# --8<-- [end:howto_quantum_deferrable]

# --8<-- [start:howto_quantum_sensor]
for deferrable in (False, True):
    with DAG(
        f"s_braket{'_deferrable' if deferrable else ''}",
        start_date=datetime(2026, 1, 1),
        schedule=None,
        params={"arn": ""},
        tags=["test"],
    ):
        QuantumTaskSensor(task_id="wait", task_arn="{{ params.arn }}", poke_interval=0.2, deferrable=deferrable)
# --8<-- [end:howto_quantum_sensor]

with dag("q_large_result"):
    QuantumTaskOperator(
        task_id="wide",
        circuit='OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[16];\ncreg c[16];\nh q;\nmeasure q -> c;\n',
        backend="aer_simulator",
        shots=4000,
        seed=1,
    )

# --8<-- [start:howto_quantum_braket_candidates]
DM1 = "arn:aws:braket:::device/quantum-simulator/amazon/dm1"

with dag("q_braket_choice"):
    QuantumTaskOperator(task_id="bell", circuit=BELL, candidates=[DM1, SV1], shots=100, max_cost=1.0, poll_interval=0.2)
# --8<-- [end:howto_quantum_braket_candidates]

GARNET = "arn:aws:braket:eu-north-1::device/qpu/iqm/Garnet"

with dag("q_braket_regional"):
    QuantumTaskOperator(task_id="bell", circuit=BELL, candidates=[GARNET], shots=100, max_cost=1.0, poll_interval=0.2)

# --8<-- [start:howto_quantum_qasm_file]
with dag("q_qasm_file"):
    QuantumTaskOperator(task_id="bell", circuit="circuits/bell.qasm", backend="aer_simulator", shots=500, seed=2)
# --8<-- [end:howto_quantum_qasm_file]
