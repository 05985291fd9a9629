"""Finer steps of the business step "optimise the campaign".

Which segments should the campaign target, under a budget, to maximise expected
profit? That is a knapsack problem; we state it as a QUBO (quadratic unconstrained
binary optimisation) because that is the form a quantum sampler (QAOA, annealing)
accepts. In the foundation the QUBO is solved exactly by enumeration; a later step
samples it on a quantum backend and this exact answer becomes its reference.

Encoding: one binary variable per segment, plus slack bits that turn
``cost(x) <= budget`` into the equality ``cost(x) + slack = budget``, enforced by a
quadratic penalty. Costs are rounded *up* to budget units so that any assignment the
penalty accepts is also within the real budget.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

BUDGET_UNITS = 15  # resolution of the budget: 4 slack bits


@dataclass(frozen=True)
class CampaignQubo:
    """A QUBO over ``n_segments`` decision bits followed by slack bits."""

    matrix: list[list[float]]
    n_segments: int
    profits: list[float]
    costs: list[float]
    budget: float

    @property
    def n_variables(self) -> int:
        """Decision bits plus slack bits."""
        return len(self.matrix)

    def energy(self, bits: tuple[int, ...]) -> float:
        """The QUBO objective ``x^T Q x`` of an assignment (lower is better)."""
        return sum(
            self.matrix[i][j] * bits[i] * bits[j]
            for i in range(self.n_variables)
            for j in range(self.n_variables)
            if bits[i] and bits[j]
        )

    def to_dict(self) -> dict[str, object]:
        """Plain data for XCom."""
        return {
            "matrix": self.matrix,
            "n_segments": self.n_segments,
            "profits": self.profits,
            "costs": self.costs,
            "budget": self.budget,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> CampaignQubo:
        """Rebuild from :meth:`to_dict` output."""
        return cls(**data)  # type: ignore[arg-type]


def build_campaign_qubo(profiles: list[dict[str, float | int]], budget: float) -> CampaignQubo:
    """Build the QUBO for choosing segments under ``budget`` from segment profiles."""
    if budget <= 0:
        raise ValueError(f"budget must be positive, got {budget}")
    profits = [float(p["expected_profit"]) for p in profiles]
    costs = [float(p["campaign_cost"]) for p in profiles]
    unit = budget / BUDGET_UNITS
    weights = [math.ceil(cost / unit) for cost in costs]
    n_slack = BUDGET_UNITS.bit_length()
    slack_weights = [2**b for b in range(n_slack)]
    all_weights = weights + slack_weights
    # Penalty larger than any achievable profit gain, so a violated budget never pays.
    penalty = 1.0 + sum(abs(p) for p in profits)
    size = len(all_weights)
    matrix = [[0.0] * size for _ in range(size)]
    for i, profit in enumerate(profits):
        matrix[i][i] -= profit
    # penalty * (sum_i w_i x_i - B)^2, dropping the constant B^2 and using x_i^2 = x_i.
    for i in range(size):
        matrix[i][i] += penalty * (all_weights[i] ** 2 - 2 * BUDGET_UNITS * all_weights[i])
        for j in range(i + 1, size):
            matrix[i][j] += 2 * penalty * all_weights[i] * all_weights[j]
    return CampaignQubo(matrix=matrix, n_segments=len(profits), profits=profits, costs=costs, budget=budget)


def solve_exactly(qubo: CampaignQubo) -> dict[str, object]:
    """Enumerate every assignment (fine up to ~20 variables) and return the best one."""
    if qubo.n_variables > 20:
        raise ValueError(f"exact enumeration is capped at 20 variables, this QUBO has {qubo.n_variables}")
    best = min(itertools.product((0, 1), repeat=qubo.n_variables), key=qubo.energy)
    return _plan(qubo, best, "exact-enumeration")


def _plan(qubo: CampaignQubo, bits: tuple[int, ...], solver: str) -> dict[str, object]:
    """The campaign an assignment stands for: its segments, cost, profit and energy."""
    chosen = [i for i in range(qubo.n_segments) if bits[i]]
    return {
        "bits": list(bits),
        "energy": round(qubo.energy(bits), 4),
        "segments": chosen,
        "cost": round(sum(qubo.costs[i] for i in chosen), 2),
        "expected_profit": round(sum(qubo.profits[i] for i in chosen), 2),
        "solver": solver,
    }


def check_plan(plan: dict[str, object], budget: float) -> dict[str, object]:
    """Refuse a plan that breaks the budget or targets nobody, with the reason."""
    cost = float(plan["cost"])  # type: ignore[arg-type]
    if cost > budget:
        raise ValueError(f"campaign plan costs {cost:.2f}, over the budget of {budget:.2f}")
    if not plan["segments"]:
        raise ValueError("campaign plan targets no segment: raise the budget or check the segment profits")
    return {**plan, "budget": budget, "budget_left": round(budget - cost, 2)}


def qaoa_program(qubo: CampaignQubo, grid: int = 24) -> dict[str, object]:
    """A one-layer QAOA circuit for the QUBO, as OpenQASM 2 text, with its angles.

    The cost layer is exp(-i gamma C) for the scaled QUBO objective C, written directly
    as phase gates on |1> (diagonal terms) and controlled phases (couplings); the mixer
    is an RX on every qubit. The two angles are chosen by a classical grid search of the
    expected energy on the exact state vector, which is cheap at this size (at most a
    few thousand amplitudes) and is how small QAOA instances are tuned in practice.
    """
    import numpy as np

    n = qubo.n_variables
    if n > 14:
        raise ValueError(f"the QAOA program is built for at most 14 variables, this QUBO has {n}")
    low, high = min(min(r) for r in qubo.matrix), max(max(r) for r in qubo.matrix)
    scale = 1.0 / (max(abs(low), abs(high)) or 1.0)  # keeps the phases of the largest terms within one turn
    # Energy of every assignment (index bit i = variable i), scaled like the circuit's phases.
    raw = np.array([qubo.energy(tuple((i >> b) & 1 for b in range(n))) for i in range(2**n)]) * scale

    def expected(gamma: float, beta: float) -> float:
        state = np.exp(-1j * gamma * raw) / np.sqrt(2**n)
        rx = np.array([[np.cos(beta), -1j * np.sin(beta)], [-1j * np.sin(beta), np.cos(beta)]])
        tensor = state.reshape([2] * n)
        for axis in range(n):
            tensor = np.moveaxis(np.tensordot(rx, tensor, axes=([1], [n - 1 - axis])), 0, n - 1 - axis)
        probabilities = np.abs(tensor.reshape(-1)) ** 2
        return float(probabilities @ raw)

    gammas = np.linspace(0.05, 2 * np.pi, grid)
    betas = np.linspace(0.05, np.pi / 2, grid)
    gamma, beta = (float(x) for x in min(((g, b) for g in gammas for b in betas), key=lambda gb: expected(*gb)))
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', f"qreg q[{n}];", f"creg c[{n}];"]
    lines += [f"h q[{i}];" for i in range(n)]
    for i in range(n):
        if qubo.matrix[i][i]:
            lines.append(f"u1({-gamma * scale * qubo.matrix[i][i]!r}) q[{i}];")
        for j in range(i + 1, n):
            if qubo.matrix[i][j]:
                lines.append(f"cu1({-gamma * scale * qubo.matrix[i][j]!r}) q[{i}],q[{j}];")
    lines += [f"rx({2 * beta!r}) q[{i}];" for i in range(n)]
    lines.append("measure q -> c;")
    return {"qasm": "\n".join(lines) + "\n", "gamma": gamma, "beta": beta, "layers": 1}


def best_sampled_plan(qubo: CampaignQubo, counts: dict[str, int]) -> dict[str, object]:
    """The lowest-energy assignment among the sampled bit strings (classical bit i = variable i)."""
    if not counts:
        raise ValueError("the quantum task returned no samples")
    samples = {key: tuple(int(key[-1 - i]) for i in range(qubo.n_variables)) for key in counts}
    best_key = min(samples, key=lambda key: (qubo.energy(samples[key]), key))
    plan = _plan(qubo, samples[best_key], "qaoa-sampling")
    return {**plan, "times_sampled": counts[best_key], "distinct_samples": len(counts)}
