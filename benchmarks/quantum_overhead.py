"""Benchmark: QuantumTaskOperator's overhead over the simulator SDKs, and the faster-simulator choice.

Targets (quantum issue):
- the operator's time for a 20-qubit, depth-20, 1000-shot circuit is within 5% of
  calling the simulator SDK directly, on each local simulator, side by side in one run;
- report the speedup of choosing the faster local simulator over always using the slower.

Method. The circuit is Qiskit's ``random_circuit(20, 20, measure=True, seed=3)``. The
direct call is what a user writes without the operator: for Aer, ``transpile`` then
``AerSimulator.run``; for Braket, qiskit-braket-provider's ``to_braket`` then
``LocalSimulator("braket_sv").run``. The operator is timed through its ``execute``
with a minimal task context (XCom kept in a dict, no task state store): this isolates
the operator's own work (reading, binding, fingerprinting, deciding, estimating,
normalising counts) from Airflow's scheduling, which any task pays. Rounds alternate
which goes first. The choice section runs a mix of circuits (5 to 20 qubits) on the
device the operator's decision picks and on the other one.

Run:  make bench   (or: .venv/bin/python benchmarks/quantum_overhead.py)
"""

from __future__ import annotations

import logging
import os
import statistics
import tempfile
import time
from typing import Any

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-airflow-"))
logging.getLogger("qiskit").setLevel(logging.WARNING)  # the transpiler logs every pass at INFO

SHOTS = 1000


class _TaskInstance:
    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}
        self.try_number = 1

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value

    def xcom_pull(self, **_: Any) -> list[Any]:
        return []


class _Dag:
    task_ids = ("bench",)


def _direct(device: str, circuit: Any) -> dict[str, int]:
    if device == "aer_simulator":
        from qiskit import transpile
        from qiskit_aer import AerSimulator

        simulator = AerSimulator(seed_simulator=1)
        return dict(simulator.run(transpile(circuit, simulator), shots=SHOTS).result().get_counts())
    from braket.devices import LocalSimulator
    from qiskit_braket_provider.providers.adapter import to_braket

    return dict(LocalSimulator("braket_sv").run(to_braket(circuit), shots=SHOTS).result().measurement_counts)


def _operator(device: str, circuit: Any) -> dict[str, Any]:
    from airflow_dataops.operators.quantum import QuantumTaskOperator

    operator = QuantumTaskOperator(task_id="bench", circuit=circuit, backend=device, shots=SHOTS, seed=1)
    context = {"ti": _TaskInstance(), "dag": _Dag(), "task_state_store": None}
    result: dict[str, Any] = operator.execute(context)  # type: ignore[arg-type]
    return result


def _timed(call: Any, *args: Any) -> float:
    start = time.perf_counter()
    call(*args)
    return time.perf_counter() - start


def overhead(rounds: int) -> dict[str, dict[str, float]]:
    """Per simulator: median direct and operator seconds, and the median per-round ratio."""
    from qiskit.circuit.random import random_circuit

    circuit = random_circuit(20, 20, measure=True, seed=3)
    _operator("aer_simulator", circuit)  # warm-up: imports on both paths
    _direct("aer_simulator", circuit)
    out = {}
    for device in ("aer_simulator", "braket_local"):
        direct, operator, ratios = [], [], []
        for i in range(rounds):
            if i % 2 == 0:
                d, o = _timed(_direct, device, circuit), _timed(_operator, device, circuit)
            else:
                o, d = _timed(_operator, device, circuit), _timed(_direct, device, circuit)
            direct.append(d)
            operator.append(o)
            ratios.append(o / d)
            print(f"{device} round {i + 1}: direct {d:.3f} s, operator {o:.3f} s")
        out[device] = {
            "direct": statistics.median(direct),
            "operator": statistics.median(operator),
            "ratio": statistics.median(ratios),
        }
    return out


def choice() -> dict[str, float]:
    """Total time of a circuit mix on the chosen simulator and on the other one."""
    from qiskit.circuit.random import random_circuit

    from airflow_dataops.core.quantum.devices import choose_device

    mix = [random_circuit(n, 10, measure=True, seed=n) for n in (5, 10, 14, 18, 20)]
    totals = {"chosen": 0.0, "other": 0.0}
    for circuit in mix:
        decision = choose_device(
            ["braket_local", "aer_simulator"], circuit.num_qubits, SHOTS, faster_local="aer_simulator"
        )
        chosen = decision.chosen.name
        other = "braket_local" if chosen == "aer_simulator" else "aer_simulator"
        totals["chosen"] += _timed(_direct, chosen, circuit)
        totals["other"] += _timed(_direct, other, circuit)
    return totals


def measure(rounds: int) -> str:
    """The markdown block kept in docs/benchmarks.md."""
    import platform

    results = overhead(rounds)
    totals = choice()
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, Python {platform.python_version()}, "
        f"{rounds} alternating rounds per simulator; 20 qubits, depth 20, {SHOTS} shots.",
        "",
        "| simulator | SDK directly | through QuantumTaskOperator | ratio (median per round) |",
        "|---|---|---|---|",
    ]
    for device, r in results.items():
        lines.append(f"| {device} | {r['direct']:.3f} s | {r['operator']:.3f} s | **{r['ratio']:.3f}** |")
    worst = max(r["ratio"] for r in results.values())
    lines += [
        "",
        f"Target: at most 1.05 on each simulator. This run {'meets' if worst <= 1.05 else 'MISSES'} it.",
        "",
        "| circuit mix (5, 10, 14, 18, 20 qubits; depth 10) | total |",
        "|---|---|",
        f"| on the simulator the decision chooses (Aer) | {totals['chosen']:.2f} s |",
        f"| always on the other one (Braket local) | {totals['other']:.2f} s |",
        f"| **speedup of the choice** | **{totals['other'] / totals['chosen']:.1f}x** |",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    from _report import run_benchmark

    run_benchmark("quantum_overhead", __doc__, measure, default_rounds=9)
