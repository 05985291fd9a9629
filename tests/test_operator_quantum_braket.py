"""QuantumTaskOperator on Amazon Braket: the real Braket SDK and boto3 against a loopback Braket API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from test_operator_quantum import run, xcom

pytestmark = pytest.mark.slow
SERVER = Path(__file__).with_name("braket_api_server.py")


class BraketServer:
    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, str(SERVER)], stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.url = f"http://127.0.0.1:{int(self.process.stdout.readline().split()[1])}"

    def control(self, action: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}/_test/{action}", data=data, method="POST" if data else "GET")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture(scope="module")
def braket(airflow_db: Path) -> Iterator[BraketServer]:
    server = BraketServer()
    extra = {
        "region_name": "us-east-1",
        "s3_bucket": "amazon-braket-test",
        "s3_prefix": "runs",
        "endpoint_url": server.url,
    }
    connection = {"conn_type": "braket", "login": "AKIATESTKEY", "password": "not-a-real-secret", "extra": extra}
    saved = dict(os.environ)
    os.environ["AIRFLOW_CONN_BRAKET_DEFAULT"] = json.dumps(connection)
    try:
        yield server
    finally:
        os.environ.clear()
        os.environ.update(saved)
        server.stop()


@pytest.fixture
def fresh(braket: BraketServer) -> BraketServer:
    braket.control("reset", {})
    return braket


def test_a_circuit_runs_on_braket_and_its_result_comes_back(fresh: BraketServer) -> None:
    dag_run = run("q_braket")
    assert dag_run.state == "success"
    result = xcom(dag_run, "bell")
    state = fresh.control("state")
    (task,) = state["tasks"]
    assert result["task_id"] == task["quantumTaskArn"] == xcom(dag_run, "bell", "quantum_task_arn")
    assert set(result["counts"]) == {"00", "11"}
    assert sum(result["counts"].values()) == 1000
    assert task["deviceArn"] == "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
    assert state["creates"][0]["clientToken"]  # the idempotency token was sent
    assert set(state["access_keys"]) == {"AKIATESTKEY"}  # credentials came from the connection
    assert result["cost"]["estimate"]["amount"] == pytest.approx(0.075 * 10 / 60)
    assert "not-a-real-secret" not in json.dumps(all_xcom(dag_run)), "the secret key must never reach XCom"


def all_xcom(dag_run: Any) -> list[Any]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(XComModel).filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id).all()
        return [row.value for row in rows]


def test_a_retry_after_the_run_finished_does_not_submit_again(fresh: BraketServer) -> None:
    dag_run = run("q_braket_retry_after_finish")
    assert dag_run.state == "success"
    assert len(fresh.control("state")["creates"]) == 1


def test_a_retry_while_waiting_reattaches_to_the_submitted_task(fresh: BraketServer) -> None:
    fresh.control("controls", {"hold": True, "deny_gets": 1})  # try 1 dies reading the status
    import threading

    threading.Timer(8.0, lambda: fresh.control("controls", {"hold": False})).start()
    dag_run = run("q_braket_retry_while_waiting")
    assert dag_run.state == "success"
    state = fresh.control("state")
    assert len(state["creates"]) == 1, "exactly one submission per logical task"
    assert xcom(dag_run, "bell")["task_id"] == state["tasks"][0]["quantumTaskArn"]


def test_a_failed_braket_task_fails_the_airflow_task(fresh: BraketServer) -> None:
    fresh.control("controls", {"fail": True})
    dag_run = run("q_braket")
    assert dag_run.state == "failed"
    (task,) = fresh.control("state")["tasks"]
    assert task["status"] == "FAILED"
    assert xcom(dag_run, "bell") is None


def test_killing_the_airflow_task_cancels_the_quantum_task(fresh: BraketServer) -> None:
    fresh.control("controls", {"hold": True})
    dag_run = run("q_braket_timeout")
    assert dag_run.state == "failed"
    state = fresh.control("state")
    (task,) = state["tasks"]
    assert state["cancels"] == [task["quantumTaskArn"]]
    assert task["status"] == "CANCELLED"


def test_the_connection_test_button_works(fresh: BraketServer) -> None:
    from airflow_dataops.hooks.braket import BraketHook

    assert BraketHook().test_connection() == (True, "Connected to Amazon Braket")
