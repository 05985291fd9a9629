"""Unit tests of the showcase's business logic, without Airflow."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import pytest

from customer_campaign.dataset import COLUMNS, generate_customers
from customer_campaign.optimise import BUDGET_UNITS, build_campaign_qubo, check_plan, solve_exactly
from customer_campaign.prepare import detect_missing_values, impute_sql


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_generation_is_deterministic(tmp_path: Path) -> None:
    generate_customers(tmp_path / "a.csv", n_customers=500, seed=3)
    generate_customers(tmp_path / "b.csv", n_customers=500, seed=3)
    generate_customers(tmp_path / "c.csv", n_customers=500, seed=4)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "a.csv").read_bytes() != (tmp_path / "c.csv").read_bytes()


def test_missing_values_are_detected_and_filled_in_sql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_dataops.hooks.virtualized_data import VirtualizedDataHook
    from customer_campaign.prepare import CLEAN, scale_features

    monkeypatch.setenv("DATAOPS_SHOWCASE_DIR", str(tmp_path))
    generate_customers(tmp_path / "lake" / "crm" / "customers.csv", n_customers=800, seed=1, missing_rate=0.1)
    sql = VirtualizedDataHook("showcase_data")
    missing = detect_missing_values(sql)
    assert set(missing) == set(COLUMNS)
    assert missing["customer_id"] == 0
    assert 40 < missing["age"] < 130  # about 10% of 800
    assert sql.materialize(impute_sql(), CLEAN) == 800
    assert all(count == 0 for count in detect_missing_values(sql, CLEAN).values())
    scaler = scale_features(sql, tmp_path / "clean.csv", tmp_path / "features.npy")
    assert len(scaler["mean"]) == 5
    assert (tmp_path / "clean.csv").read_text().count("\n") == 801


def test_bad_input_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="n_customers must be positive"):
        generate_customers(tmp_path / "x.csv", n_customers=0)


def _profiles(costs_profits: list[tuple[float, float]]) -> list[dict[str, float | int]]:
    return [{"campaign_cost": c, "expected_profit": p} for c, p in costs_profits]


@pytest.mark.parametrize(
    "items",
    [
        [(300.0, 500.0), (450.0, 700.0), (200.0, 100.0), (600.0, 1200.0)],
        [(100.0, 50.0), (100.0, 60.0), (100.0, -30.0)],
        [(2000.0, 9000.0), (10.0, 5.0)],
    ],
)
def test_qubo_minimum_is_the_knapsack_optimum(items: list[tuple[float, float]]) -> None:
    budget = 1000.0
    plan = solve_exactly(build_campaign_qubo(_profiles(items), budget))
    unit = budget / BUDGET_UNITS
    # Reference: enumerate subsets whose costs, rounded up to budget units, fit.
    feasible = [
        subset
        for r in range(len(items) + 1)
        for subset in itertools.combinations(range(len(items)), r)
        if sum(-(-items[i][0] // unit) for i in subset) <= BUDGET_UNITS
    ]
    best = max(feasible, key=lambda s: sum(items[i][1] for i in s))
    assert plan["expected_profit"] == pytest.approx(sum(items[i][1] for i in best))
    assert float(plan["cost"]) <= budget  # type: ignore[arg-type]


def test_plan_checks_name_the_problem() -> None:
    with pytest.raises(ValueError, match="over the budget"):
        check_plan({"cost": 11.0, "segments": [0]}, budget=10.0)
    with pytest.raises(ValueError, match="targets no segment"):
        check_plan({"cost": 0.0, "segments": []}, budget=10.0)
    with pytest.raises(ValueError, match="budget must be positive"):
        build_campaign_qubo([], budget=0)


def test_customer_ids_are_unique(tmp_path: Path) -> None:
    generate_customers(tmp_path / "raw.csv", n_customers=300)
    ids = [row["customer_id"] for row in _rows(tmp_path / "raw.csv")]
    assert len(ids) == len(set(ids)) == 300


def test_qaoa_sampling_finds_the_exact_optimum() -> None:
    """The quantum step's circuit, sampled on Aer, contains the assignment enumeration finds."""
    from airflow_dataops.core.quantum.circuits import load_circuit
    from airflow_dataops.runtime.local_quantum import run_local
    from customer_campaign.optimise import best_sampled_plan, qaoa_program

    qubo = build_campaign_qubo(
        _profiles([(2500, 12000), (3100, 9000), (4000, 15000), (1500, 3000), (2600, 7000)]), 9000
    )
    program = qaoa_program(qubo)
    assert str(program["qasm"]).startswith("OPENQASM 2.0;")
    counts = run_local("aer_simulator", load_circuit(program["qasm"]), 8000, seed=7).counts
    plan = best_sampled_plan(qubo, counts)
    assert plan["segments"] == solve_exactly(qubo)["segments"]
    assert plan["solver"] == "qaoa-sampling"


def test_qaoa_program_refuses_problems_too_large_to_tune() -> None:
    from customer_campaign.optimise import qaoa_program

    qubo = build_campaign_qubo(_profiles([(100.0, 10.0)] * 11), 100.0)
    with pytest.raises(ValueError, match="at most 14 variables"):
        qaoa_program(qubo)
