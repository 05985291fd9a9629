"""QuantumTaskOperator through the real Airflow (dag.test) and the real local simulators."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from conftest import TEST_DAGS_FOLDER

pytestmark = pytest.mark.slow


def run(dag_id: str) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(TEST_DAGS_FOLDER), bundle_path=TEST_DAGS_FOLDER).dags[dag_id].test()


def xcom(dag_run: Any, task_id: str, key: str = "return_value") -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id, task_id=task_id, key=key)
            .first()
        )
        return row.value if row else None


def test_bell_pair_runs_and_returns_counts_cost_and_decision(airflow_db: Path) -> None:
    dag_run = run("q_bell")
    assert dag_run.state == "success"
    result = xcom(dag_run, "bell")
    assert result["backend"] == "aer_simulator"  # small circuit, both local: the faster one first
    assert set(result["counts"]) == {"00", "11"}
    assert sum(result["counts"].values()) == result["shots"] == 2000
    assert abs(result["probabilities"]["00"] - 0.5) < 0.05
    assert result["cost"]["actual"] == 0
    assert result["circuit"]["qubits"] == 2
    assert xcom(dag_run, "bell", "quantum_decision")["chosen"] == "aer_simulator"


@pytest.mark.parametrize(
    ("dag_id", "message"),
    [
        ("q_over_budget", r"Forte-1: estimated \$8.3000, over the budget \$1.0000"),
        ("q_ibm_too_wide", "device 'fake_manila', field 'circuit': the circuit has 7 qubits, the backend 5"),
        ("q_ibm_no_connection", "ibm_quantum_default"),
        ("q_bad_qasm", "OpenQASM 2 does not parse: line 5, column 0: needed ';'"),
    ],
)
def test_refused_before_anything_runs(
    airflow_db: Path, dag_id: str, message: str, capfd: pytest.CaptureFixture[str]
) -> None:
    dag_run = run(dag_id)
    assert dag_run.state == "failed"
    assert re.search(message, capfd.readouterr().out)


def test_an_ibm_fake_backend_runs_the_circuit_with_its_noise(airflow_db: Path) -> None:
    dag_run = run("q_ibm_fake")
    assert dag_run.state == "success"
    result = xcom(dag_run, "bell")
    assert result["backend"] == "fake_manila"
    assert result["task_id"].startswith("local-")
    correlated = result["counts"].get("00", 0) + result["counts"].get("11", 0)
    assert correlated / result["shots"] > 0.8  # a Bell pair through a noisy 5-qubit device model


def test_the_run_budget_counts_what_earlier_tasks_spent(airflow_db: Path, capfd: pytest.CaptureFixture[str]) -> None:
    dag_run = run("q_run_budget")
    assert dag_run.state == "failed"
    assert xcom(dag_run, "first", "quantum_cost") == 3.0
    assert xcom(dag_run, "second") is None
    expected = "exceeds the DAG run's remaining budget (run_budget $5.0000, $3.0000 already spent): $2.0000"
    assert expected in capfd.readouterr().out


def test_a_retry_returns_the_finished_run_instead_of_running_again(
    airflow_db: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    dag_run = run("q_retry")
    assert dag_run.state == "success"
    out = capfd.readouterr().out
    assert out.count("Ran 1000 shots on aer_simulator") == 1
    (reused,) = re.findall(r"A previous try already ran this circuit \((local-[0-9a-f-]+)\)", out)
    assert xcom(dag_run, "bell")["task_id"] == reused


def test_results_over_the_xcom_limit_go_to_object_storage(airflow_db: Path) -> None:
    import json

    dag_run = run("q_large_result")
    assert dag_run.state == "success"
    result = xcom(dag_run, "wide")
    assert "counts" not in result
    assert result["distinct_outcomes"] > 3000
    stored = json.loads(Path(result["counts_ref"].removeprefix("file://")).read_text())
    assert sum(stored["counts"].values()) == 4000


def test_a_relative_qasm_path_is_read_from_the_dag_folder(airflow_db: Path) -> None:
    dag_run = run("q_qasm_file")
    assert dag_run.state == "success"
    assert set(xcom(dag_run, "bell")["counts"]) == {"00", "11"}
