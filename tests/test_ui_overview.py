"""The overview's pure summaries: spend by price and duration, decisions with failovers, quantum budgets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from airflow_dataops.core.placement.decision import Candidate, Decision, LiveState
from airflow_dataops.core.placement.supercluster import NodePool, Prices, Supercluster, Target
from airflow_dataops.ui.overview import (
    TaskRun,
    explain,
    failover_path,
    lineage_task_key,
    quantum_spend,
    recent_decisions,
    summarise_spend,
    target_rows,
)

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


def decision() -> Decision:
    return Decision(
        candidates=(
            Candidate("cheap", "general", 0.5, 0.5, False, {"cheapest": 0.5}),
            Candidate("middle", "general", 1.0, 0.75, True, {"cheapest": 1.0}),
            Candidate("dear", "gpu", 2.0, 0.88, False, {"cheapest": 2.0}),
        ),
        excluded={"vault": "not entitled (team -, tags ['test'])", "ghost": "unreachable (no answer within 2s)"},
        policies=("cheapest",),
    )


def pod(task_id: str, hours: float, *, ended: datetime = NOW, ran_on: str | None = None, dag: str = "d") -> TaskRun:
    return TaskRun(
        dag_id=dag,
        run_id="r1",
        task_id=task_id,
        start=ended - timedelta(hours=hours),
        end=ended,
        state="success",
        placement=decision().to_dict(),
        ran_on=ran_on,
    )


def quantum(task_id: str, cost: float, budget: dict[str, Any] | None = None, run_id: str = "r1") -> TaskRun:
    return TaskRun(
        dag_id="q",
        run_id=run_id,
        task_id=task_id,
        start=NOW - timedelta(minutes=5),
        end=NOW,
        quantum_cost=cost,
        quantum_backend="arn:aws:braket:::device/quantum-simulator/amazon/sv1",
        quantum_budget=budget,
    )


def test_the_explanation_is_the_task_logs() -> None:
    assert explain(decision().to_dict()) == decision().explain()


def test_a_reattached_pod_is_explained_as_such() -> None:
    text = explain({"chosen": "cheap", "reattached": {"name": "pod-1", "uid": "u-1", "target": "cheap"}})
    assert text == "reattached to pod pod-1 (uid u-1) left running by a previous try"


def test_failover_path_follows_the_candidate_order() -> None:
    placement = decision().to_dict()
    assert failover_path(placement, None) == []
    assert failover_path(placement, "cheap") == []
    assert failover_path(placement, "dear") == ["cheap", "middle", "dear"]
    assert failover_path(placement, "unknown") == []


def test_pod_spend_is_the_price_of_the_target_it_ran_on_times_its_duration() -> None:
    runs = [pod("a", 2.0), pod("b", 1.0, ran_on="dear")]  # a: 2h x $0.5; b failed over to dear: 1h x $2
    summary = summarise_spend(runs, NOW)
    assert summary.today.pods == pytest.approx(3.0)
    assert summary.per_target_today == {"cheap": pytest.approx(1.0), "dear": pytest.approx(2.0)}
    rows = {r.run.task_id: r for r in recent_decisions(runs, NOW)}
    assert rows["b"].failovers == [{"target": "cheap", "fault": None}, {"target": "middle", "fault": None}]
    assert rows["b"].hourly_price == 2.0
    assert rows["b"].spend == pytest.approx(2.0)
    assert rows["a"].ran_on == "cheap"


def test_the_recorded_outcome_wins_over_the_derived_path() -> None:
    outcome = {"ran_on": "middle", "failovers": [{"target": "cheap", "fault": "evicted (Evicted)"}]}
    moved = TaskRun("d", "r", "t", start=NOW - timedelta(hours=1), end=NOW, placement=decision().to_dict(),
                    outcome=outcome, ran_on="dear")  # fmt: skip
    (row,) = recent_decisions([moved], NOW)
    assert (row.ran_on, row.failovers) == ("middle", [{"target": "cheap", "fault": "evicted (Evicted)"}])
    assert row.spend == pytest.approx(1.0)
    gave_up = {"ran_on": None, "failovers": [{"target": "cheap", "fault": "x"}, {"target": "middle", "fault": "y"}]}
    failed_everywhere = TaskRun("d", "r", "t", placement=decision().to_dict(), outcome=gave_up)
    (row,) = recent_decisions([failed_everywhere], NOW)
    assert row.ran_on is None
    assert row.spend == 0.0


def test_spend_counts_for_the_day_the_task_ended_and_per_dag() -> None:
    yesterday = NOW - timedelta(days=1)
    runs = [pod("a", 1.0, dag="x"), pod("b", 1.0, ended=yesterday, dag="x"), quantum("s", 0.25)]
    summary = summarise_spend(runs, NOW)
    assert summary.today.to_dict() == {"pods": 0.5, "quantum": 0.25, "total": 0.75}
    assert summary.window.total == pytest.approx(1.25)
    assert summary.per_dag["x"]["today"].total == pytest.approx(0.5)
    assert summary.per_dag["x"]["window"].total == pytest.approx(1.0)
    assert summary.per_dag["q"]["window"].quantum == pytest.approx(0.25)


def test_a_running_pod_is_priced_up_to_now() -> None:
    running = TaskRun("d", "r", "t", start=NOW - timedelta(minutes=30), placement=decision().to_dict())
    assert summarise_spend([running], NOW).today.pods == pytest.approx(0.25)


def test_decisions_are_newest_first_and_limited() -> None:
    runs = [pod(f"t{i}", 1.0, ended=NOW - timedelta(minutes=i)) for i in range(5)]
    rows = recent_decisions([*runs, quantum("s", 1.0)], NOW, limit=3)
    assert [r.run.task_id for r in rows] == ["t0", "t1", "t2"]


def test_quantum_spend_is_held_against_the_declared_budgets() -> None:
    runs = [
        quantum("a", 0.6, {"max_cost": 1.0, "run_budget": 1.0}),
        quantum("b", 0.5, {"max_cost": 0.5, "run_budget": 1.0}),
        quantum("c", 0.1, None, run_id="r2"),
    ]
    by_run = {r.run_id: r for r in quantum_spend(runs)}
    assert by_run["r1"].spent == pytest.approx(1.1)
    assert by_run["r1"].over_budget
    assert [t["max_cost"] for t in by_run["r1"].tasks] == [1.0, 0.5]
    assert by_run["r2"].run_budget is None
    assert not by_run["r2"].over_budget


def supercluster() -> Supercluster:
    pool = NodePool("general", nodes=2, cpu=4.0, memory_gib=16.0)
    return Supercluster(
        (
            Target("local", "local", None, "worker", "local", (NodePool("worker", 1, 2.0, 8.0),)),
            Target("cheap", "kubernetes", "k8s_cheap", "onprem", "eu", (pool,), Prices(0.01, 0.001), concurrency=4),
            Target("ghost", "kubernetes", "k8s_ghost", "aws", "us", (pool,), Prices(0.05, 0.005)),
        )
    )


def test_targets_show_health_capacity_and_load_and_never_hide_an_unreachable_one() -> None:
    live = {
        "cheap": LiveState(reachable=True, latency_ms=12.0, free={"general": (3.5, 12.0, 0)}, running_tasks=2),
        "ghost": LiveState(reachable=False, latency_ms=2000.0, error="no answer within 2s"),
    }
    rows = {r.target.name: r.to_dict() for r in target_rows(supercluster(), live, {"cheap": 0.4})}
    assert list(rows) == ["local", "cheap", "ghost"]
    assert rows["local"]["health"] == "not probed"
    assert rows["cheap"]["health"] == "reachable"
    assert rows["cheap"]["pools"][0]["free"] == {"cpu": 3.5, "memory_gib": 12.0, "gpus": 0}
    assert rows["cheap"]["load"] == 0.5
    assert rows["cheap"]["prices"]["vcpu_hour"] == 0.01
    assert rows["cheap"]["spend_today"] == 0.4
    assert (rows["ghost"]["health"], rows["ghost"]["reason"]) == ("unreachable", "no answer within 2s")
    assert rows["ghost"]["pools"][0]["free"] is None


def test_the_lineage_key_is_the_listeners() -> None:
    from types import SimpleNamespace

    from airflow_dataops.lineage.listener import task_record

    task = SimpleNamespace(template_fields=(), queue="default", inlets=[], outlets=[])
    ti = SimpleNamespace(
        dag_id="d", run_id="r", task_id="t", map_index=-1, try_number=2, task=task, start_date=NOW, end_date=NOW
    )
    assert task_record(ti, "success").key == lineage_task_key("d", "r", "t", -1, 2)
