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
    chosen = [i for i in range(qubo.n_segments) if best[i]]
    return {
        "bits": list(best),
        "energy": round(qubo.energy(best), 4),
        "segments": chosen,
        "cost": round(sum(qubo.costs[i] for i in chosen), 2),
        "expected_profit": round(sum(qubo.profits[i] for i in chosen), 2),
        "solver": "exact-enumeration",
    }


def check_plan(plan: dict[str, object], budget: float) -> dict[str, object]:
    """Refuse a plan that breaks the budget or targets nobody, with the reason."""
    cost = float(plan["cost"])  # type: ignore[arg-type]
    if cost > budget:
        raise ValueError(f"campaign plan costs {cost:.2f}, over the budget of {budget:.2f}")
    if not plan["segments"]:
        raise ValueError("campaign plan targets no segment: raise the budget or check the segment profits")
    return {**plan, "budget": budget, "budget_left": round(budget - cost, 2)}
