"""Running a circuit on a local simulator: Qiskit Aer or Braket's local state-vector simulator.

Counts are returned in one convention whatever the simulator: keys are bit strings over
all classical bits, classical bit 0 rightmost (Qiskit's convention, without the spaces
Qiskit puts between registers). Braket reports measured *qubits*, qubit 0 leftmost; the
circuit's measure instructions map them onto classical bits.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from airflow_dataops.core.quantum.circuits import CircuitError, ensure_measured

LOCAL_DEVICES = ("aer_simulator", "braket_local")


@dataclass(frozen=True)
class LocalRun:
    """The outcome of one run."""

    counts: dict[str, int]
    seconds: float


def _measure_map(circuit: Any) -> dict[int, int]:
    """Qubit index -> classical bit index, from the circuit's measure instructions."""
    mapping = {}
    for instruction in circuit.data:
        if instruction.operation.name == "measure":
            q = circuit.find_bit(instruction.qubits[0]).index
            c = circuit.find_bit(instruction.clbits[0]).index
            mapping[q] = c
    return mapping


def run_aer(circuit: Any, shots: int, seed: int | None = None) -> LocalRun:
    """Run on Qiskit Aer (transpiled to Aer's gate set first)."""
    from qiskit import transpile
    from qiskit.transpiler.exceptions import TranspilerError
    from qiskit_aer import AerSimulator

    simulator = AerSimulator(seed_simulator=seed) if seed is not None else AerSimulator()
    try:
        compiled = transpile(ensure_measured(circuit), simulator)
    except TranspilerError as error:
        raise CircuitError(f"Aer cannot run this circuit: {error}", "define the gate or use standard gates") from None
    start = time.perf_counter()
    counts = simulator.run(compiled, shots=shots).result().get_counts()
    seconds = time.perf_counter() - start
    return LocalRun({key.replace(" ", ""): int(value) for key, value in counts.items()}, seconds)


def run_braket_local(circuit: Any, shots: int) -> LocalRun:
    """Run on Braket's LocalSimulator (state vector), converted by qiskit-braket-provider."""
    from braket.devices import LocalSimulator

    measured = ensure_measured(circuit)
    program = to_braket_program(measured)
    start = time.perf_counter()
    result = LocalSimulator("braket_sv").run(program, shots=shots).result()
    seconds = time.perf_counter() - start
    return LocalRun(braket_counts(measured, result.measured_qubits, result.measurement_counts), seconds)


def to_braket_program(circuit: Any) -> Any:
    """The Braket circuit for ``circuit`` (measured), converted by qiskit-braket-provider."""
    from qiskit_braket_provider.providers.adapter import to_braket

    try:
        return to_braket(ensure_measured(circuit))
    except Exception as error:  # the converter names the gate it cannot map
        raise CircuitError(
            f"Braket cannot run this circuit: {error}", "define the gate or use gates Braket supports"
        ) from None


def braket_counts(measured: Any, measured_qubits: Any, measurement_counts: Any) -> dict[str, int]:
    """Braket's counts (measured qubits, qubit 0 leftmost) in our convention (classical bit 0 rightmost)."""
    mapping = _measure_map(measured)
    order = list(measured_qubits)
    counts: Counter[str] = Counter()
    for bits, count in measurement_counts.items():
        clbits = ["0"] * measured.num_clbits
        for qubit, clbit in mapping.items():
            if qubit in order:
                clbits[clbit] = bits[order.index(qubit)]
        counts["".join(reversed(clbits))] += int(count)
    return dict(counts)


def run_local(device: str, circuit: Any, shots: int, seed: int | None = None) -> LocalRun:
    """Run ``circuit`` on the local simulator ``device``."""
    if device == "aer_simulator":
        return run_aer(circuit, shots, seed)
    if device == "braket_local":
        return run_braket_local(circuit, shots)
    raise ValueError(f"{device!r} is not a local simulator; local ones are {', '.join(LOCAL_DEVICES)}")
