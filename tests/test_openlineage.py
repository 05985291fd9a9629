"""The provider's operators through Airflow's real OpenLineage provider: facets, not a black box.

``airflow dags test`` runs the showcase in a process of its own, with OpenLineage's file
transport configured by environment (the OpenLineage plugin decides at import whether its
listener is on, so it cannot be switched on inside this test process). The events are
read back from the file.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def events(airflow_db: Path, venv_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("openlineage")
    log_file = folder / "events.jsonl"
    env = {
        **os.environ,
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps({"type": "file", "log_file_path": str(log_file), "append": True}),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "dataops-tests",
    }
    conf = json.dumps({"workdir": str(folder / "work"), "budget": 9000.0})
    done = subprocess.run(
        [str(venv_bin / "airflow"), "dags", "test", "showcase_customer_campaign", "-c", conf],
        env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    (folder / "dags-test.log").write_text(done.stdout + done.stderr)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return [json.loads(line) for line in log_file.read_text().splitlines() if line.strip()]


def completed(events: list[dict[str, Any]], task_id: str) -> dict[str, Any]:
    (event,) = [
        e
        for e in events
        if e["eventType"] == "COMPLETE" and e["job"]["name"] == f"showcase_customer_campaign.{task_id}"
    ]
    return event


def test_a_pods_run_carries_its_placement(events: list[dict[str, Any]]) -> None:
    facet = completed(events, "segment_customers.run_kmeans")["run"]["facets"]["dataops_placement"]
    assert facet["chosen"] == "local"
    assert facet["ranOn"] == "local"
    assert facet["failovers"] == []
    assert facet["candidates"][0]["target"] == "local"
    assert facet["_schemaURL"].endswith("docs/lineage.md#openlineage-placement")


def test_a_quantum_run_carries_backend_shots_and_cost(events: list[dict[str, Any]]) -> None:
    (quantum,) = [
        e["run"]["facets"]["dataops_quantum"]
        for e in events
        if e["eventType"] == "COMPLETE" and "dataops_quantum" in e["run"]["facets"]
    ]
    assert quantum["backend"]
    assert quantum["shots"] > 0
    assert quantum["actualCost"] == 0.0  # a local simulator costs nothing
    assert quantum["estimatedCost"] == 0.0
    assert len(quantum["circuitFingerprint"]) == 64


def test_a_query_run_carries_its_tables_and_sql(events: list[dict[str, Any]]) -> None:
    event = completed(events, "prepare_customer_data.impute_missing_values")
    assert [(d["namespace"], d["name"]) for d in event["outputs"]] == [
        ("trino://localhost:8080", "warehouse.crm.customers_clean")
    ]
    assert event["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 3000
    assert event["inputs"]
    assert all(d["namespace"] == "trino://localhost:8080" for d in event["inputs"])
    assert "SELECT" in event["job"]["facets"]["sql"]["query"].upper()
