"""The quantum core on the real local simulators: circuit forms, counts conventions, prices, decisions."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from airflow_dataops.core.quantum.circuits import CircuitError, bind, fingerprint, load_circuit
from airflow_dataops.core.quantum.devices import DeviceError, OverBudgetError, choose_device, device
from airflow_dataops.core.quantum.pricing import BudgetExceededError, check_budget, estimate_cost
from airflow_dataops.runtime.local_quantum import run_local

GHZ_QASM2 = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg c[3];
h q[0];
cx q[0],q[1];
cx q[1],q[2];
measure q -> c;
"""
GHZ_QASM3 = """OPENQASM 3.0;
include "stdgates.inc";
qubit[3] q;
bit[3] c;
h q[0];
cx q[0], q[1];
cx q[1], q[2];
c = measure q;
"""
SHOTS = 4000


def ghz_forms() -> dict[str, object]:
    from braket.circuits import Circuit
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(3, 3)
    qc.h(0)
    qc.cx(0, 1)
    qc.cx(1, 2)
    qc.measure([0, 1, 2], [0, 1, 2])
    braket = Circuit().h(0).cnot(0, 1).cnot(1, 2)
    return {"qasm2": GHZ_QASM2, "qasm3": GHZ_QASM3, "qiskit": qc, "braket": braket}


def assert_close_to(counts: dict[str, int], expected: dict[str, float], shots: int) -> None:
    """Every outcome within 5 standard deviations of its expected frequency, nothing else seen."""
    assert set(counts) <= set(expected), f"unexpected outcomes {set(counts) - set(expected)}"
    for outcome, p in expected.items():
        sigma = math.sqrt(shots * p * (1 - p)) or 1.0
        assert abs(counts.get(outcome, 0) - shots * p) <= 5 * sigma, (outcome, counts)


@pytest.mark.parametrize("form", ["qasm2", "qasm3", "qiskit", "braket"])
@pytest.mark.parametrize("simulator", ["aer_simulator", "braket_local"])
def test_ghz_in_every_form_on_both_simulators(form: str, simulator: str) -> None:
    circuit = load_circuit(ghz_forms()[form])
    counts = run_local(simulator, circuit, SHOTS, seed=3).counts
    assert_close_to(counts, {"000": 0.5, "111": 0.5}, SHOTS)


def test_bit_order_is_the_same_on_both_simulators() -> None:
    """X on qubit 2 only: classical bit 2 is the leftmost character on both."""
    circuit = load_circuit('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\nx q[2];\nmeasure q -> c;\n')
    assert run_local("aer_simulator", circuit, 100).counts == {"100": 100}
    assert run_local("braket_local", circuit, 100).counts == {"100": 100}


def test_parameters_bind_by_name_and_missing_ones_are_named() -> None:
    text = (
        'OPENQASM 3.0;\ninclude "stdgates.inc";\ninput float theta;\n'
        "qubit[1] q;\nbit[1] c;\nrx(theta) q[0];\nc = measure q;\n"
    )
    circuit = load_circuit(text)
    flipped = run_local("aer_simulator", bind(circuit, {"theta": math.pi}), 200, seed=1).counts
    assert flipped == {"1": 200}
    with pytest.raises(CircuitError, match="parameters without a value: theta"):
        bind(circuit, {})
    with pytest.raises(CircuitError, match="unknown parameters: phi"):
        bind(circuit, {"theta": 1.0, "phi": 2.0})


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0]\ncx q[0],q[1];\n', "line 5, column 0"),
        ("OPENQASM 3.0;\nqubit[2] q;\nfoo q[0];\n", "line 3, column 0"),
        ('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nh q[0]\nx q[1];\n', "line 5, column 0"),
    ],
)
def test_unparsable_qasm_names_line_and_column(text: str, where: str) -> None:
    with pytest.raises(CircuitError, match=where):
        load_circuit(text)


def test_not_qasm_and_missing_file_are_clear() -> None:
    with pytest.raises(CircuitError, match="neither OpenQASM 2 nor 3"):
        load_circuit("h q[0];")
    with pytest.raises(CircuitError, match="does not exist"):
        load_circuit("/no/such/circuit.qasm")


def test_fingerprint_is_stable_and_tells_circuits_apart() -> None:
    assert fingerprint(load_circuit(GHZ_QASM2)) == fingerprint(load_circuit(GHZ_QASM2))
    assert fingerprint(load_circuit(GHZ_QASM2)) != fingerprint(load_circuit(GHZ_QASM2.replace("h q[0]", "x q[0]")))


def test_prices_per_task_shot_minute_and_second() -> None:
    forte = estimate_cost("arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1", 1000)
    assert forte.amount == pytest.approx(0.30 + 1000 * 0.08)
    sv1 = estimate_cost("arn:aws:braket:::device/quantum-simulator/amazon/sv1", 100, expected_seconds=1)
    assert sv1.amount == pytest.approx(0.075 * 3 / 60)  # 3-second minimum
    assert estimate_cost("ibm_torino", 100, expected_seconds=10).amount == pytest.approx(16.0)
    assert estimate_cost("aer_simulator", 10**6).amount == 0
    overridden = estimate_cost("aer_simulator", 10, overrides={"aer_simulator": {"per_task": 0.5}})
    assert overridden.amount == pytest.approx(0.5)


def test_budget_refusal_states_estimate_and_budget() -> None:
    estimate = estimate_cost("arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1", 100)
    with pytest.raises(BudgetExceededError, match=r"estimated cost \$8.3000 .* exceeds the task's budget \$5.0000"):
        check_budget(estimate, 5.0)


def test_small_circuits_run_classically_and_wide_ones_are_excluded() -> None:
    forte = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1"
    small = choose_device([forte, "braket_local", "aer_simulator"], qubits=5, shots=100, faster_local="aer_simulator")
    assert [d.name for d, _ in small.ranked] == ["aer_simulator", "braket_local", forte]
    wide = choose_device([forte, "aer_simulator"], qubits=33, shots=100)
    assert wide.chosen.name == forte
    assert wide.excluded["aer_simulator"] == "the circuit has 33 qubits, the device 30"
    with pytest.raises(DeviceError, match="no candidate can run this circuit"):
        choose_device(["aer_simulator"], qubits=40, shots=10)
    with pytest.raises(DeviceError) as too_wide:
        choose_device(["aer_simulator"], qubits=40, shots=10, budget=0.0)
    assert not isinstance(too_wide.value, OverBudgetError)  # the circuit, not the budget, left nothing
    with pytest.raises(OverBudgetError, match="over the budget") as over:
        choose_device([forte, "aer_simulator"], qubits=33, shots=100, budget=1.0)
    assert over.value.cheapest.device == forte
    assert over.value.cheapest.amount == pytest.approx(8.3)


def test_unknown_device_and_bad_shots_are_refused() -> None:
    with pytest.raises(DeviceError, match="is not a known device"):
        device("arn:aws:braket:::device/qpu/nobody/none")
    with pytest.raises(DeviceError, match="outside the device's range"):
        choose_device(["arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1"], qubits=2, shots=10**6)


OPAQUE = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nopaque magic a;\nqreg q[1];\ncreg c[1];\nmagic q[0];\nmeasure q -> c;\n'


@pytest.mark.parametrize(("simulator", "name"), [("aer_simulator", "Aer"), ("braket_local", "Braket")])
def test_a_gate_the_device_cannot_run_is_refused_before_running(simulator: str, name: str) -> None:
    with pytest.raises(CircuitError, match=f"{name} cannot run this circuit: .*magic"):
        run_local(simulator, load_circuit(OPAQUE), 10)


def test_a_qasm_file_path_is_read(tmp_path: Path) -> None:
    path = tmp_path / "ghz.qasm"
    path.write_text(GHZ_QASM3)
    assert fingerprint(load_circuit(str(path))) == fingerprint(load_circuit(GHZ_QASM3))
    assert fingerprint(load_circuit(path)) == fingerprint(load_circuit(GHZ_QASM3))
