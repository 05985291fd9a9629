"""The facts a task shares with the lineage listener, the UI page, the extra links and OpenLineage: one schema.

A task publishes each fact once, as an XCom under the fact's key (the supercluster page
and users' own DAGs read it there) and in the operator's memory (the listener, the
extra links and the OpenLineage facet methods run in the task's process, after the try,
and read it there: no XCom round trip, no "XCom not found" for a fact a try never
wrote). Every writer and reader names a fact through a :class:`Fact` of this module; the
key strings appear nowhere else (a test checks).

The shapes are TypedDicts: what a reader may expect, and nothing enforced at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypedDict, TypeVar

T = TypeVar("T")


class Candidate(TypedDict, total=False):
    """A target the placement ranked."""

    target: str
    pool: str
    hourly_price: float
    headroom: float
    data_local: bool
    scores: dict[str, float]


class PodRecord(TypedDict):
    """The pod a try started, kept in the task state store so that a retry can reattach to it."""

    target: str
    name: str
    namespace: str
    uid: str


class PlacementDecision(TypedDict, total=False):
    """Where a SuperclusterPodOperator try chose to run, and why.

    ``chosen`` is always there. A fresh decision has ``policies``, ``candidates`` (ranked)
    and ``excluded`` (target -> reason); a try that reattached to a previous try's pod has
    ``reattached`` instead.
    """

    chosen: str
    policies: list[str]
    candidates: list[Candidate]
    excluded: dict[str, str]
    reattached: PodRecord


class Failover(TypedDict, total=False):
    """A target given up on during one try."""

    target: str
    fault: str


class PlacementOutcome(TypedDict):
    """Where the pod ran in the end (``None``: every target failed), the failovers, the image and its digest."""

    ran_on: str | None
    failovers: list[Failover]
    image: str | None
    image_digest: str | None


class RankedDevice(TypedDict):
    """A quantum device the choice ranked, with its cost estimate."""

    device: str
    estimate: dict[str, Any]


class QuantumDecision(TypedDict):
    """The quantum backend a try chose, the ranking and the exclusions."""

    chosen: str
    ranked: list[RankedDevice]
    excluded: dict[str, str]


class QuantumBudget(TypedDict):
    """The budgets a quantum try was held to (dollars; ``None``: no such limit)."""

    max_cost: float | None
    run_budget: float | None


@dataclass(frozen=True)
class Fact(Generic[T]):
    """A fact: its XCom key, and (as the type parameter) its shape."""

    key: str
    meaning: str


PLACEMENT = Fact[PlacementDecision]("placement", "where a SuperclusterPodOperator try chose to run, and why")
PLACEMENT_OUTCOME = Fact[PlacementOutcome]("placement_outcome", "where the pod ran, failovers, image digest")
QUANTUM_DECISION = Fact[QuantumDecision]("quantum_decision", "the quantum backend chosen, ranked, excluded")
QUANTUM_BUDGET = Fact[QuantumBudget]("quantum_budget", "the budgets a quantum try was held to")
QUANTUM_COST = Fact[float]("quantum_cost", "the actual cost of a quantum try, in dollars")
QUANTUM_TASK_ARN = Fact[str]("quantum_task_arn", "the Amazon Braket task a try submitted or watches")
QUANTUM_JOB_ID = Fact[str]("quantum_job_id", "the IBM Quantum job a try submitted")
#: What an operator returns (Airflow's own ``return_value`` XCom): a query's or a quantum task's result.
RESULT = Fact[dict[str, Any]]("return_value", "the operator's result")

#: The facts the supercluster page reads back from XCom.
PAGE_FACTS = (PLACEMENT, PLACEMENT_OUTCOME, QUANTUM_COST, QUANTUM_DECISION, QUANTUM_BUDGET)
ALL = (*PAGE_FACTS, QUANTUM_TASK_ARN, QUANTUM_JOB_ID, RESULT)
#: The task-state-store key of the pod a try started (a :class:`PodRecord`).
POD_RECORD_KEY = "airflow_dataops_placement"
