"""The devices a quantum task can run on, and the decision among candidates.

A device is named as a DAG author names it: a Braket device ARN, ``ibm_<name>``, or a
local simulator (``aer_simulator`` for Qiskit Aer, ``braket_local`` for Braket's local
state-vector simulator). Its facts (qubits, shot range) are kept here; the price is in
:mod:`airflow_dataops.core.quantum.pricing`.

The decision mirrors the meta-orchestrator's: every candidate is either ranked (with
its estimated cost and why it ranks there) or excluded with the reason. Small circuits
run classically: a circuit of at most ``classical_max_qubits`` qubits goes to a local
simulator when one is a candidate, because it is free and as exact as a QPU is noisy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_dataops.core.errors import InvalidInputError
from airflow_dataops.core.quantum.pricing import CostEstimate, estimate_cost


@dataclass(frozen=True)
class Device:
    """What the decision needs to know about a device."""

    name: str
    provider: str  # "aer", "braket", "ibm"
    kind: str  # "local", "simulator", "qpu"
    qubits: int
    min_shots: int = 1
    max_shots: int = 100_000


DEVICES: Mapping[str, Device] = {
    d.name: d
    for d in (
        Device("aer_simulator", "aer", "local", 30, 1, 10_000_000),
        Device("braket_local", "braket", "local", 26, 1, 1_000_000),
        Device("arn:aws:braket:::device/quantum-simulator/amazon/sv1", "braket", "simulator", 34, 1, 100_000),
        Device("arn:aws:braket:::device/quantum-simulator/amazon/dm1", "braket", "simulator", 17, 1, 100_000),
        Device("arn:aws:braket:::device/quantum-simulator/amazon/tn1", "braket", "simulator", 50, 1, 1_000),
        Device("arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1", "braket", "qpu", 36, 1, 5_000),
        Device("arn:aws:braket:us-east-1::device/qpu/ionq/Aria-1", "braket", "qpu", 25, 1, 5_000),
        Device("arn:aws:braket:eu-north-1::device/qpu/iqm/Garnet", "braket", "qpu", 20, 1, 20_000),
        Device("arn:aws:braket:us-west-1::device/qpu/rigetti/Ankaa-3", "braket", "qpu", 84, 10, 100_000),
    )
}


class DeviceError(InvalidInputError):
    """The device cannot take the task as given."""

    def __init__(self, device: str, field_name: str, problem: str, fix: str) -> None:
        super().__init__(f"device {device!r}", field_name, problem, fix)


class OverBudgetError(DeviceError):
    """Some candidates could run the circuit, but each one's estimate is over the budget.

    ``cheapest`` is the lowest of those estimates: what the budget would need to be.
    """

    def __init__(self, device: str, field_name: str, problem: str, fix: str, cheapest: CostEstimate) -> None:
        super().__init__(device, field_name, problem, fix)
        self.cheapest = cheapest


def device(name: str) -> Device:
    """The facts of ``name``; an unknown device is an error naming the known ones."""
    if name in DEVICES:
        return DEVICES[name]
    if name.startswith("ibm_"):
        return Device(name, "ibm", "qpu", 156, 1, 100_000)  # Heron-class; the backend's own width is checked too
    if name.startswith("fake_"):
        return Device(name, "ibm", "local", 156, 1, 100_000)  # qiskit-ibm-runtime's fake backends, simulated here
    raise DeviceError(
        name,
        "backend",
        "is not a known device or device ARN",
        f"use one of: {', '.join(DEVICES)}, an ibm_<name> backend, or a fake_<name> backend of qiskit-ibm-runtime",
    )


def check_fits(d: Device, qubits: int, shots: int) -> None:
    """Refuse a circuit wider than the device or shots outside its range, before submission."""
    if qubits > d.qubits:
        raise DeviceError(
            d.name, "circuit", f"the circuit has {qubits} qubits, the device {d.qubits}", "pick a wider device"
        )
    if not d.min_shots <= shots <= d.max_shots:
        raise DeviceError(
            d.name, "shots", f"{shots} shots is outside the device's range {d.min_shots}-{d.max_shots}", "change shots"
        )


@dataclass(frozen=True)
class BackendDecision:
    """Ranked devices with their estimates, and why the others were excluded."""

    ranked: tuple[tuple[Device, CostEstimate], ...]
    excluded: Mapping[str, str]

    @property
    def chosen(self) -> Device:
        """The device the task runs on."""
        return self.ranked[0][0]

    def explain(self) -> str:
        """For the task log, like the meta-orchestrator's placement explanation."""
        lines = [f"  #{i} {d.name} ({d.kind}): {e.breakdown}" for i, (d, e) in enumerate(self.ranked, start=1)]
        lines += [f"  excluded {name}: {why}" for name, why in sorted(self.excluded.items())]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for XCom and lineage."""
        return {
            "chosen": self.chosen.name,
            "ranked": [{"device": d.name, "kind": d.kind, "estimate": e.to_dict()} for d, e in self.ranked],
            "excluded": dict(self.excluded),
        }


def choose_device(
    candidates: Sequence[str],
    qubits: int,
    shots: int,
    *,
    classical_max_qubits: int = 20,
    budget: float | None = None,
    expected_seconds: float = 10.0,
    unavailable: Mapping[str, str] | None = None,
    faster_local: str | None = None,
    price_overrides: Mapping[str, Mapping[str, float]] | None = None,
) -> BackendDecision:
    """Rank ``candidates`` for a circuit of ``qubits`` qubits and ``shots`` shots.

    Order: local simulators first when the circuit is small enough (``faster_local``
    first among them), then by estimated cost, then by name. ``unavailable`` maps a
    device to why it cannot take work now (offline, retired).
    """
    ranked: list[tuple[Device, CostEstimate]] = []
    over_budget: list[CostEstimate] = []
    excluded: dict[str, str] = {}
    for name in candidates:
        d = device(name)
        if name in (unavailable or {}):
            excluded[name] = f"unavailable ({(unavailable or {})[name]})"
            continue
        try:
            check_fits(d, qubits, shots)
        except DeviceError as error:
            excluded[name] = error.problem
            continue
        estimate = estimate_cost(name, shots, 0 if d.kind == "local" else expected_seconds, price_overrides)
        if budget is not None and estimate.amount > budget:
            excluded[name] = f"estimated ${estimate.amount:.4f}, over the budget ${budget:.4f}"
            over_budget.append(estimate)
            continue
        ranked.append((d, estimate))
    if not ranked:
        reasons = "\n".join(f"  - {name}: {why}" for name, why in excluded.items())
        problem = f"no candidate can run this circuit:\n{reasons}"
        if over_budget:  # a budget, not the circuit, left nothing
            cheapest = min(over_budget, key=lambda e: e.amount)
            raise OverBudgetError(", ".join(candidates), "backend", problem, "see the reasons above", cheapest)
        raise DeviceError(", ".join(candidates), "backend", problem, "see the reasons above")
    small = qubits <= classical_max_qubits

    def order(item: tuple[Device, CostEstimate]) -> tuple[int, int, float, str]:
        d, estimate = item
        classical_first = 0 if (small and d.kind == "local") else 1
        return (classical_first, 0 if (small and d.name == faster_local) else 1, estimate.amount, d.name)

    ranked.sort(key=order)
    return BackendDecision(tuple(ranked), excluded)
