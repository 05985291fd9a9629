"""What a quantum task costs, estimated before anything is submitted.

The price table lives here, in one place, transcribed from the public price lists of
Amazon Braket (https://aws.amazon.com/braket/pricing/) and IBM Quantum
(https://www.ibm.com/quantum/pricing). Prices change: every entry carries the date it
was transcribed (``PRICES_AS_OF``), and an operator can override any entry, or add
devices, in configuration (``[dataops] quantum_prices``, a JSON object keyed by device;
see docs/quantum.md). Amounts are US dollars.

Billing models: a QPU task costs a per-task fee plus a per-shot fee; a managed
simulator is billed per minute of run time with a minimum; IBM's pay-as-you-go plan
bills per second of quantum time; local simulators are free.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from airflow_dataops.core.errors import InvalidInputError

PRICES_AS_OF = "2025-06 (transcribed from the public price pages; verify before relying on them)"


@dataclass(frozen=True)
class DevicePrice:
    """How one device is billed."""

    per_task: float = 0.0
    per_shot: float = 0.0
    per_minute: float = 0.0
    per_second: float = 0.0
    minimum_seconds: float = 0.0


PRICES: Mapping[str, DevicePrice] = {
    # Amazon Braket QPUs: per task + per shot
    "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1": DevicePrice(per_task=0.30, per_shot=0.08),
    "arn:aws:braket:us-east-1::device/qpu/ionq/Aria-1": DevicePrice(per_task=0.30, per_shot=0.03),
    "arn:aws:braket:eu-north-1::device/qpu/iqm/Garnet": DevicePrice(per_task=0.30, per_shot=0.00145),
    "arn:aws:braket:us-west-1::device/qpu/rigetti/Ankaa-3": DevicePrice(per_task=0.30, per_shot=0.0009),
    "arn:aws:braket:us-east-1::device/qpu/quera/Aquila": DevicePrice(per_task=0.30, per_shot=0.01),
    # Amazon Braket managed simulators: per minute, 3-second minimum
    "arn:aws:braket:::device/quantum-simulator/amazon/sv1": DevicePrice(per_minute=0.075, minimum_seconds=3),
    "arn:aws:braket:::device/quantum-simulator/amazon/dm1": DevicePrice(per_minute=0.075, minimum_seconds=3),
    "arn:aws:braket:::device/quantum-simulator/amazon/tn1": DevicePrice(per_minute=0.275, minimum_seconds=3),
    # IBM Quantum pay-as-you-go: per second of quantum time (any ibm_* backend)
    "ibm": DevicePrice(per_second=1.60),
    # Local simulators
    "aer_simulator": DevicePrice(),
    "braket_local": DevicePrice(),
    "fake": DevicePrice(),  # qiskit-ibm-runtime's fake backends, simulated locally
}


class BudgetExceededError(InvalidInputError):
    """The estimate is over the budget; nothing was submitted."""


@dataclass(frozen=True)
class CostEstimate:
    """An estimate with the arithmetic that produced it, for the log and the result."""

    device: str
    amount: float
    breakdown: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data for XCom and lineage."""
        return {"device": self.device, "amount": round(self.amount, 6), "breakdown": self.breakdown}


def price_of(device: str, overrides: Mapping[str, Mapping[str, float]] | None = None) -> DevicePrice:
    """The price entry of ``device`` (IBM backends share the ``ibm`` entry), with overrides applied."""
    key = "ibm" if device.startswith("ibm_") and device not in PRICES else device
    key = "fake" if device.startswith("fake_") and device not in PRICES else key
    base = PRICES.get(key)
    override = (overrides or {}).get(device) or (overrides or {}).get(key)
    if base is None and override is None:
        raise InvalidInputError(
            f"device {device!r}",
            "price",
            "it is not in the price table, so its cost cannot be known before submission",
            "add it to [dataops] quantum_prices (per_task, per_shot, per_minute, per_second) or pick a listed device",
        )
    try:
        return replace(base or DevicePrice(), **dict(override or {}))
    except TypeError as error:
        raise InvalidInputError(
            f"device {device!r}", "quantum_prices", f"bad override ({error})", "use per_task, per_shot, ..."
        ) from None


def estimate_cost(
    device: str, shots: int, expected_seconds: float = 0.0, overrides: Mapping[str, Mapping[str, float]] | None = None
) -> CostEstimate:
    """Estimate what running ``shots`` shots on ``device`` costs (``expected_seconds``: run time for timed billing)."""
    p = price_of(device, overrides)
    parts: list[str] = []
    amount = 0.0
    if p.per_task:
        amount += p.per_task
        parts.append(f"${p.per_task:g} per task")
    if p.per_shot:
        amount += p.per_shot * shots
        parts.append(f"{shots} shots x ${p.per_shot:g}")
    billed = max(expected_seconds, p.minimum_seconds)
    if p.per_minute:
        amount += p.per_minute * billed / 60
        parts.append(f"{billed:g} s x ${p.per_minute:g}/min")
    if p.per_second:
        amount += p.per_second * billed
        parts.append(f"{billed:g} s x ${p.per_second:g}/s")
    breakdown = " + ".join(parts) or "free (local simulator)"
    return CostEstimate(device, amount, f"{breakdown} = ${amount:.4f} (prices as of {PRICES_AS_OF[:7]})")


def check_budget(estimate: CostEstimate, budget: float | None, what: str = "the task's budget") -> None:
    """Refuse, before submission, an estimate over ``budget`` (``None``: no budget)."""
    if budget is not None and estimate.amount > budget:
        raise BudgetExceededError(
            f"device {estimate.device!r}",
            "budget",
            f"the estimated cost ${estimate.amount:.4f} ({estimate.breakdown}) exceeds {what} ${budget:.4f}",
            "raise the budget, lower the shots, or choose a cheaper device or a simulator",
        )
