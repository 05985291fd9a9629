"""The showcase DAG runs end to end through the real Airflow, and its results hold up."""

from __future__ import annotations

import csv
import itertools
import json
import os
from pathlib import Path

import pytest

from conftest import DAGS_FOLDER


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def showcase_run(airflow_db: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(DAGS_FOLDER), bundle_path=DAGS_FOLDER).dags["showcase_customer_campaign"]
    workdir = tmp_path_factory.mktemp("showcase")
    dag_run = dag.test(run_conf={"workdir": str(workdir), "budget": 9000.0})
    (run_dir,) = (workdir / "runs").iterdir()
    return dag_run, run_dir


def test_run_succeeds(showcase_run) -> None:  # type: ignore[no-untyped-def]
    dag_run, _ = showcase_run
    assert dag_run.state == "success"


def test_prepared_data_has_no_gaps(showcase_run) -> None:  # type: ignore[no-untyped-def]
    _, run_dir = showcase_run
    raw = _rows(Path(os.environ["DATAOPS_SHOWCASE_DIR"]) / "lake" / "crm" / "customers.csv")
    clean = _rows(run_dir / "clean" / "customers.csv")
    assert len(raw) == len(clean) == 3000
    assert any("" in row.values() for row in raw), "the synthetic data should contain gaps to detect"
    assert not any("" in row.values() for row in clean)


def test_plan_is_the_best_within_budget(showcase_run) -> None:  # type: ignore[no-untyped-def]
    """Check the QUBO answer against a direct knapsack enumeration over the profiles."""
    _, run_dir = showcase_run
    profiles = json.loads((run_dir / "segments" / "profiles.json").read_text())
    report = json.loads((run_dir / "publish" / "report.json").read_text())
    plan = report["plan"]
    assert plan["cost"] <= 9000.0
    assert sum(p["size"] for p in profiles) == 3000
    affordable = [
        subset
        for r in range(len(profiles) + 1)
        for subset in itertools.combinations(profiles, r)
        if sum(p["campaign_cost"] for p in subset) <= 9000.0
    ]
    best = max(affordable, key=lambda subset: sum(p["expected_profit"] for p in subset))
    # The QUBO rounds costs up to budget units, so it may leave a little profit on
    # the table but must come close to the true optimum and never exceed the budget.
    assert plan["expected_profit"] <= sum(p["expected_profit"] for p in best) + 1e-6
    assert plan["expected_profit"] >= 0.8 * sum(p["expected_profit"] for p in best)


def test_target_list_matches_chosen_segments(showcase_run) -> None:  # type: ignore[no-untyped-def]
    _, run_dir = showcase_run
    report = json.loads((run_dir / "publish" / "report.json").read_text())
    profiles = {p["segment"]: p for p in json.loads((run_dir / "segments" / "profiles.json").read_text())}
    targets = _rows(Path(report["targets_path"]))
    assert len(targets) == report["targets"] == sum(profiles[s]["size"] for s in report["plan"]["segments"])
    assert {int(row["segment"]) for row in targets} == set(report["plan"]["segments"])
    assert report["targets_table"] == "trino://localhost:8080/warehouse/campaign/targets"
