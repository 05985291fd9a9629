"""QuantumTaskOperator on Amazon Braket: the real Braket SDK, boto3 and the amazon provider's session
factory against a loopback Braket API (with S3 and STS), through an ``aws`` connection."""

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


def aws_connection(url: str, **extra: Any) -> str:
    """An amazon provider ``aws`` connection with static test keys, Braket and S3 at ``url``."""
    extra = {
        "region_name": "us-east-1",
        "endpoint_url": url,
        "service_config": {"braket": {"s3_bucket": "amazon-braket-test", "s3_prefix": "runs"}},
        **extra,
    }
    return json.dumps({"conn_type": "aws", "login": "AKIATESTKEY", "password": "not-a-real-secret", "extra": extra})


def assume_role_connection(url: str) -> str:
    """An ``aws`` connection that assumes a role: endpoints per service, STS at ``url`` too."""
    service_config = {
        "braket": {"endpoint_url": url, "s3_bucket": "amazon-braket-test", "s3_prefix": "runs"},
        "s3": {"endpoint_url": url},
        "sts": {"endpoint_url": url},
    }
    return aws_connection(
        url,
        endpoint_url=None,
        role_arn="arn:aws:iam::123456789012:role/braket-runner",
        service_config=service_config,
    )


@pytest.fixture(scope="module")
def braket(airflow_db: Path) -> Iterator[BraketServer]:
    server = BraketServer()
    saved = dict(os.environ)
    os.environ["AIRFLOW_CONN_AWS_DEFAULT"] = aws_connection(server.url)
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


def test_a_retry_after_a_failed_braket_task_submits_anew(fresh: BraketServer) -> None:
    fresh.control("controls", {"fail_next": 1})
    dag_run = run("q_braket_retry_while_waiting")
    assert dag_run.state == "success"
    state = fresh.control("state")
    tokens = [create["clientToken"] for create in state["creates"]]
    assert len(tokens) == len(set(tokens)) == 2, "the second submission needs its own idempotency token"
    assert [t["status"] for t in state["tasks"]] == ["FAILED", "COMPLETED"]


def test_killing_a_deferred_task_cancels_the_quantum_task(fresh: BraketServer) -> None:
    import asyncio

    from airflow_dataops.triggers.quantum import BraketTaskTrigger

    fresh.control("controls", {"hold": True})
    arn = submit_elsewhere(fresh)
    asyncio.run(BraketTaskTrigger(arn, poll_interval=0.1).on_kill())
    (task,) = fresh.control("state")["tasks"]
    assert task["status"] == "CANCELLED"


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

    assert BraketHook().test_connection() == (True, "Connected to Amazon Braket in us-east-1 (credentials: explicit)")
    assert fresh.control("state")["regions"] == ["POST devices us-east-1"]  # one SearchDevices call, signed


def test_the_connection_test_button_reports_an_unreachable_endpoint(
    fresh: BraketServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket
    import time

    from airflow_dataops.hooks.braket import BraketHook

    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    no_retries = {"retries": {"max_attempts": 1}, "connect_timeout": 2}
    monkeypatch.setenv("AIRFLOW_CONN_BRAKET_CLOSED", aws_connection(url, config_kwargs=no_retries))
    started = time.monotonic()
    ok, message = BraketHook("braket_closed").test_connection()
    assert (ok, message.split(":", 1)[0]) == (False, "Braket did not accept the connection")
    assert "EndpointConnectionError" in message
    assert url in message
    assert time.monotonic() - started < 10


def test_the_connection_test_button_reports_refused_credentials(
    fresh: BraketServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Static keys that Braket does not know fail the test, with Braket's own reason."""
    from airflow_dataops.hooks.braket import BraketHook

    fresh.control("controls", {"assumed_only": True})
    ok, message = BraketHook().test_connection()
    assert not ok
    assert "UnrecognizedClientException" in message
    assert "security token included in the request is invalid" in message


def test_deferrable_waiting_resumes_with_the_result(fresh: BraketServer) -> None:
    dag_run = run("q_braket_deferrable")
    assert dag_run.state == "success"
    result = xcom(dag_run, "bell")
    assert set(result["counts"]) == {"00", "11"}
    assert len(fresh.control("state")["creates"]) == 1


def submit_elsewhere(server: BraketServer) -> str:
    """A task submitted by another system, with boto3 directly."""
    import boto3

    client = boto3.client(
        "braket",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="AKIAOTHER",
        aws_secret_access_key="other-secret",
    )
    action = {
        "braketSchemaHeader": {"name": "braket.ir.openqasm.program", "version": "1"},
        "source": "OPENQASM 3.0;\nbit[1] b;\nqubit[1] q;\nh q[0];\nb[0] = measure q[0];",
    }
    created = client.create_quantum_task(
        action=json.dumps(action),
        deviceArn="arn:aws:braket:::device/quantum-simulator/amazon/sv1",
        outputS3Bucket="amazon-braket-test",
        outputS3KeyPrefix="elsewhere",
        shots=10,
    )
    return str(created["quantumTaskArn"])


@pytest.mark.parametrize("dag_id", ["s_braket", "s_braket_deferrable"])
def test_the_sensor_waits_for_a_task_submitted_elsewhere(fresh: BraketServer, dag_id: str) -> None:
    from airflow.dag_processing.dagbag import DagBag

    from conftest import TEST_DAGS_FOLDER

    arn = submit_elsewhere(fresh)
    dag = DagBag(dag_folder=str(TEST_DAGS_FOLDER), bundle_path=TEST_DAGS_FOLDER).dags[dag_id]
    dag_run = dag.test(run_conf={"arn": arn})
    assert dag_run.state == "success"
    fresh.control("controls", {"fail": True})
    failed = dag.test(run_conf={"arn": submit_elsewhere(fresh)})
    assert failed.state == "failed"


def test_the_trigger_rebuilds_from_its_serialization_and_reports_each_ending(fresh: BraketServer) -> None:
    import asyncio

    from airflow_dataops.triggers.quantum import BraketTaskTrigger

    original = BraketTaskTrigger(submit_elsewhere(fresh), "aws_default", poll_interval=0.1)
    classpath, kwargs = original.serialize()
    assert classpath == "airflow_dataops.triggers.quantum.BraketTaskTrigger"
    assert kwargs == {"task_arn": original.task_arn, "aws_conn_id": "aws_default", "poll_interval": 0.1}
    assert json.loads(json.dumps(kwargs)) == kwargs  # plain data: the triggerer stores it in the database
    rebuilt = BraketTaskTrigger(**kwargs)
    assert rebuilt.serialize() == original.serialize()

    async def first_event(trigger: BraketTaskTrigger) -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("no event")

    assert asyncio.run(first_event(rebuilt))["status"] == "success"
    fresh.control("controls", {"fail": True})
    failed = asyncio.run(first_event(BraketTaskTrigger(submit_elsewhere(fresh), poll_interval=0.1)))
    assert failed == {"status": "failed", "task_arn": failed["task_arn"], "message": "FAILED: device offline (test)"}
    missing = asyncio.run(
        first_event(BraketTaskTrigger("arn:aws:braket:us-east-1:1:quantum-task/none", poll_interval=0.1))
    )
    assert missing["status"] == "error"


def test_the_console_links_point_at_the_task() -> None:
    from airflow_dataops.links.quantum import braket_console_url, ibm_job_url

    assert ibm_job_url("d1abc") == "https://quantum.cloud.ibm.com/jobs/d1abc"

    url = braket_console_url("arn:aws:braket:eu-north-1:123456789012:quantum-task/abc")
    assert url == (
        "https://eu-north-1.console.aws.amazon.com/braket/home?region=eu-north-1"
        "#/tasks/arn:aws:braket:eu-north-1:123456789012:quantum-task/abc"
    )


def test_the_choice_skips_a_braket_device_that_is_offline(fresh: BraketServer) -> None:
    dm1 = "arn:aws:braket:::device/quantum-simulator/amazon/dm1"
    sv1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
    assert xcom(run("q_braket_choice"), "bell")["backend"] == dm1  # same price: name order
    fresh.control("controls", {"offline": [dm1]})
    dag_run = run("q_braket_choice")
    assert xcom(dag_run, "bell")["backend"] == sv1
    assert xcom(dag_run, "bell", "quantum_decision")["excluded"] == {dm1: "unavailable (OFFLINE)"}


def test_a_device_is_reached_in_its_own_region(fresh: BraketServer) -> None:
    """The connection says us-east-1; IQM Garnet lives in eu-north-1, and is asked there."""
    dag_run = run("q_braket_regional")
    assert dag_run.state == "success"
    regions = fresh.control("state")["regions"]
    assert "GET device eu-north-1" in regions
    assert "POST quantum-task eu-north-1" in regions
    assert not [r for r in regions if r.startswith(("GET device", "POST quantum-task")) and "us-east-1" in r]


def test_region_of_an_arn() -> None:
    from airflow_dataops.hooks.braket import region_of

    assert region_of("arn:aws:braket:eu-north-1::device/qpu/iqm/Garnet") == "eu-north-1"
    assert region_of("arn:aws:braket:::device/quantum-simulator/amazon/sv1") is None


def test_an_assumed_role_signs_every_braket_and_s3_call_and_is_refreshed(
    fresh: BraketServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The role's credentials live 3 s while the task queues for 5 s: the server refuses an
    unknown or expired key, so the run succeeds only if botocore assumed the role again."""
    import threading

    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", assume_role_connection(fresh.url))
    fresh.control("controls", {"assumed_only": True, "credential_seconds": 3, "hold": True})
    threading.Timer(5.0, lambda: fresh.control("controls", {"hold": False})).start()
    dag_run = run("q_braket")
    assert dag_run.state == "success"
    assert set(xcom(dag_run, "bell")["counts"]) == {"00", "11"}
    state = fresh.control("state")
    assumes = state["assumes"]
    assert {a["RoleArn"] for a in assumes} == {"arn:aws:iam::123456789012:role/braket-runner"}
    assert {a["signed_by"] for a in assumes} == {"AKIATESTKEY"}, "the connection's own keys only sign AssumeRole"
    calls = [c for c in state["calls"] if c["service"] != "sts"]
    assert {c["service"] for c in calls} == {"braket", "s3"}
    assert {c["key"] for c in calls} <= set(state["issued"]), "every Braket and S3 call used assumed credentials"
    assert len({c["key"] for c in calls}) > 1, "the credentials were refreshed while the task waited"


def test_a_connection_without_a_results_bucket_is_refused_before_submission(
    fresh: BraketServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_dataops.core.errors import InvalidInputError
    from airflow_dataops.hooks.braket import BraketHook

    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", aws_connection(fresh.url, service_config={}))
    with pytest.raises(InvalidInputError) as refused:
        BraketHook().results_folder()
    message = str(refused.value)
    assert message.startswith(
        "aws connection 'aws_default', field 'service_config.braket.s3_bucket': no results bucket"
    )
    assert '"service_config": {"braket": {"s3_bucket": "amazon-braket-' in message  # the fix, ready to paste
    assert run("q_braket").state == "failed"
    assert fresh.control("state")["creates"] == [], "nothing was submitted"
    with pytest.raises(InvalidInputError, match=r"'aws_missing'.*the connection does not exist.*create an aws"):
        BraketHook("aws_missing").results_folder()  # the amazon provider would go on with boto3's default chain


def test_the_results_folder_comes_from_the_connection(fresh: BraketServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_dataops.hooks.braket import DEFAULT_S3_PREFIX, BraketHook

    assert BraketHook().results_folder() == ("amazon-braket-test", "runs")
    bucket_only = {"braket": {"s3_bucket": "amazon-braket-other"}}
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", aws_connection(fresh.url, service_config=bucket_only))
    assert BraketHook().results_folder() == ("amazon-braket-other", DEFAULT_S3_PREFIX)
