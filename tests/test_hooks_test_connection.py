"""``test_connection()`` of every hook, against the real services, and Airflow's "Test" button path.

- MlflowHook: a real ``mlflow server`` behind MLflow's basic-auth app (right, wrong and no
  credentials), a dead port, and MLflow's SQLite store;
- IbmQuantumHook: IBM's cloud cannot be reached from the test machines, so only the
  settings checked locally and the message when IBM does not answer are tested (never a
  success);
- SuperclusterHook: a simulated Kubernetes cluster that answers, one whose port is closed,
  and a connection that does not exist;
- the API server: the connection form it serves (``/ui/connections/hook_meta``) and
  ``POST /api/v2/connections/test``, which calls the hook's ``test_connection()`` when
  ``[core] test_connection`` is ``Enabled``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_dataops.hooks.ibm_quantum import IbmQuantumHook
from airflow_dataops.hooks.mlflow import MlflowHook
from airflow_dataops.hooks.supercluster import SuperclusterHook
from kube_clusters import SimulatedCluster, start_cluster
from loopback import free_port
from mlflow_server import MlflowServer
from ui_supercluster import down_connection_env, write_declaration

ADMIN_PASSWORD = "admin-password-of-the-test-server"
ADMIN = {"login": "admin", "password": ADMIN_PASSWORD}  # the MLflow server's admin, as connection fields


def _connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: Any) -> str:
    """Define connection ``conn_id`` the way a deployment's environment does (``AIRFLOW_CONN_*``)."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))
    return conn_id


@pytest.fixture(scope="module")
def mlflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """A real MLflow server with MLflow's basic-auth app (one server: each takes minutes to start on a busy machine)."""
    server = MlflowServer(tmp_path_factory.mktemp("mlflow"), free_port(), admin_password=ADMIN_PASSWORD)
    try:
        server.start(timeout=480)
        yield server
    finally:
        server.stop()  # also when it never answered


# --- MLflow ------------------------------------------------------------------------------


def test_mlflow_server_that_answers(mlflow: MlflowServer, monkeypatch: pytest.MonkeyPatch) -> None:
    conn_id = _connection(monkeypatch, "tc_mlflow", conn_type="mlflow", host=mlflow.url, **ADMIN)
    assert MlflowHook(conn_id).test_connection() == (
        True,
        f"Connected to MLflow at {mlflow.url} (each DAG records to its experiment airflow/<dag_id>)",
    )


def test_mlflow_from_host_port_and_scheme_with_an_experiment(
    mlflow: MlflowServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn_id = _connection(
        monkeypatch, "tc_mlflow_parts", conn_type="mlflow", host="127.0.0.1", port=mlflow.port, schema="http",
        extra={"experiment": "airflow/all-dags"}, **ADMIN,
    )  # fmt: skip
    ok, message = MlflowHook(conn_id).test_connection()
    assert ok, message
    assert message == (
        f"Connected to MLflow at {mlflow.url} (experiment 'airflow/all-dags' does not exist yet; "
        "the first record creates it)"
    )


@pytest.mark.parametrize("credentials", [{}, {"login": "admin", "password": "not-the-password"}])
def test_mlflow_server_refusing_the_credentials(
    credentials: dict[str, str], mlflow: MlflowServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server's /health answers anyone: the test must still see that the credentials are refused."""
    conn_id = _connection(monkeypatch, "tc_mlflow_badauth", conn_type="mlflow", host=mlflow.url, **credentials)
    ok, message = MlflowHook(conn_id).test_connection()
    assert not ok
    assert message.startswith(f"The MLflow tracking server at {mlflow.url} refused the connection's credentials (401 ")
    assert message.endswith("check the username and password, or the token")
    assert "not-the-password" not in message


def test_mlflow_server_that_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    conn_id = _connection(monkeypatch, "tc_mlflow_down", conn_type="mlflow", host=url)
    ok, message = MlflowHook(conn_id).test_connection()
    assert not ok
    assert message == (
        f"The MLflow tracking server at {url} did not answer its /health check within 5 s: "
        "check host, port and scheme, and that the server runs"
    )


def test_mlflow_credentials_in_the_uri_stay_out_of_the_message(monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    conn_id = _connection(
        monkeypatch, "tc_mlflow_userinfo", conn_type="mlflow",
        extra={"tracking_uri": f"http://someone:uri-secret@127.0.0.1:{port}"},
    )  # fmt: skip
    ok, message = MlflowHook(conn_id).test_connection()
    assert not ok
    assert f"http://***@127.0.0.1:{port}" in message
    assert "uri-secret" not in message


def test_mlflow_local_store_opens_or_says_why_not(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    conn_id = _connection(monkeypatch, "tc_mlflow_store", conn_type="mlflow", extra={"tracking_uri": store})
    ok, message = MlflowHook(conn_id).test_connection()
    assert ok, message
    assert message.startswith(f"Connected to MLflow at {store}")

    (tmp_path / "a-file").write_text("a file where the store's folder should be")
    unwritable = f"sqlite:///{tmp_path / 'a-file' / 'mlflow.db'}"
    conn_id = _connection(monkeypatch, "tc_mlflow_nostore", conn_type="mlflow", extra={"tracking_uri": unwritable})
    ok, message = MlflowHook(conn_id).test_connection()
    assert not ok
    assert message.startswith(f"MLflow could not open the store {unwritable}: ")


def test_mlflow_connection_that_cannot_work_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    conn_id = _connection(monkeypatch, "tc_mlflow_nopass", conn_type="mlflow", host="http://127.0.0.1:1", login="me")
    assert MlflowHook(conn_id).test_connection() == (
        False,
        "connection 'tc_mlflow_nopass', field 'password': is empty while a username is set. Fix: set the "
        "password (basic auth), or clear the username and put a token in the password",
    )


# --- IBM Quantum -------------------------------------------------------------------------

CRN = "crn:v1:bluemix:public:quantum-computing:us-east:a/0123456789abcdef:01234567-89ab-cdef-0123-456789abcdef::"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"extra": {"instance": CRN}},
            "field 'password': is empty. Fix: put the IBM Cloud API key of the account in the password",
        ),
        (
            {"password": "api-key", "extra": {"channel": "ibm_quantum"}},
            "field 'extra.channel': 'ibm_quantum' is not a channel. Fix: use one of ibm_quantum_platform, ibm_cloud",
        ),
        (
            {"password": "api-key", "extra": {"instance": "crn:v1:bluemix:public:quantum-computing"}},
            "field 'extra.instance': 'crn:v1:bluemix:public:quantum-computing' is not a complete CRN.",
        ),
        (
            {"password": "api-key", "extra": {"url": "quantum.cloud.ibm.com"}},
            "field 'extra.url': 'quantum.cloud.ibm.com' is not an http(s) URL.",
        ),
    ],
)
def test_ibm_settings_are_checked_before_ibm_is_contacted(
    fields: dict[str, Any], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn_id = _connection(monkeypatch, "tc_ibm_bad", conn_type="ibm_quantum", **fields)
    ok, said = IbmQuantumHook(conn_id).test_connection()
    assert not ok
    assert said.startswith("connection 'tc_ibm_bad', ")
    assert message in said


def test_ibm_unreachable_is_a_failure_that_says_what_was_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """The well-formed settings of a real account, an endpoint that does not answer: no success, the cause named."""
    endpoint = f"http://127.0.0.1:{free_port()}"
    conn_id = _connection(
        monkeypatch, "tc_ibm", conn_type="ibm_quantum", password="the-api-key-of-the-test",
        extra={"channel": "ibm_cloud", "instance": CRN, "url": endpoint},
    )  # fmt: skip
    ok, message = IbmQuantumHook(conn_id).test_connection()
    assert not ok
    assert message.startswith(
        f"The settings are well-formed (channel ibm_cloud, instance {CRN}, url {endpoint}, token set), "
        "but IBM Quantum did not confirm them: "
    )
    assert "(cause: ConnectionError: " in message  # the network, not the token qiskit-ibm-runtime blames
    assert "the-api-key-of-the-test" not in message


def test_ibm_connection_that_does_not_exist() -> None:
    assert IbmQuantumHook("tc_ibm_missing").test_connection() == (False, "The conn_id `tc_ibm_missing` isn't defined")


# --- Supercluster ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cheap() -> Iterator[SimulatedCluster]:
    cluster = start_cluster("cheap", "k8s_tc_cheap")
    yield cluster
    cluster.stop()


def test_supercluster_whose_connections_all_exist(
    cheap: SimulatedCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in (cheap.connection_env(), down_connection_env()):
        monkeypatch.setenv(key, value)
    declaration = write_declaration(tmp_path, cheap, with_missing=False)
    ok, message = SuperclusterHook(declaration, probe_timeout=30.0).test_connection()
    assert ok, message
    assert message.startswith(
        f"{declaration}: 3 targets, every connection exists; cheap answers, down does not answer ("
    )
    assert "Cannot connect to host 127.0.0.1" in message


def test_supercluster_naming_a_connection_that_does_not_exist(
    cheap: SimulatedCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in (cheap.connection_env(), down_connection_env()):
        monkeypatch.setenv(key, value)
    declaration = write_declaration(tmp_path, cheap, with_missing=True)
    assert SuperclusterHook(declaration).test_connection() == (
        False,
        "target 'ghost' names the connection 'k8s_ui_missing', which does not exist. Fix: create a connection "
        f"of type 'kubernetes' with that id, or fix conn_id in {declaration}",
    )


def test_supercluster_declaration_with_errors_reports_them_all(tmp_path: Path) -> None:
    declaration = tmp_path / "supercluster.yaml"
    declaration.write_text(
        "version: 1\ntargets:\n"
        "  - {name: a, conn_id: k8s_a, provider: aws, region: eu-west-1, node_pools: []}\n"
        "  - {name: b, conn_id: k8s_b, provider: aws}\n"
    )
    ok, message = SuperclusterHook(declaration).test_connection()
    assert not ok
    assert message.startswith(f"{declaration}: target 'a', field ")
    assert "; target 'b', field " in message

    missing = tmp_path / "nothing-here.yaml"
    ok, message = SuperclusterHook(missing).test_connection()
    assert not ok
    assert message == (
        f"{missing}: the supercluster, field 'file': {missing} does not exist. "
        "Fix: create it in the DAG bundle or point the operator at it"
    )


# --- Airflow's API server ----------------------------------------------------------------


class ApiServer:
    """A running ``airflow api-server`` with connection testing enabled, and a token of its admin."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token

    def call(self, method: str, path: str, body: Any = None) -> Any:
        request = urllib.request.Request(
            f"{self.base}{path}",
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            method=method,
        )
        with urllib.request.urlopen(request, timeout=120) as answer:
            return json.loads(answer.read())


@pytest.fixture(scope="module")
def api_server(airflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    folder = tmp_path_factory.mktemp("api-server")
    (folder / "passwords.json").write_text(json.dumps({"admin": ADMIN_PASSWORD}))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(folder / "passwords.json"),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__API_AUTH__JWT_SECRET": "a-jwt-secret-of-the-connection-test-long-enough-for-hmac-sha512-0123456789",
        "AIRFLOW__API__BASE_URL": base,
    }
    log_path = folder / "api-server.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("airflow")), "api-server", "--host", "127.0.0.1", "--port", str(port),
             "--workers", "1", "--apps", "core"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"airflow api-server exited ({process.returncode}); see {log_path}")
            try:
                with urllib.request.urlopen(f"{base}/api/v2/monitor/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"airflow api-server did not answer within 180 s; see {log_path}") from None
                time.sleep(0.5)
        login = urllib.request.Request(
            f"{base}/auth/token",
            data=json.dumps({"username": "admin", "password": ADMIN_PASSWORD}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(login, timeout=30) as answer:
            token = str(json.loads(answer.read())["access_token"])
        yield ApiServer(base, token)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.slow
def test_the_api_server_serves_the_connection_forms(api_server: ApiServer) -> None:
    """What the UI's connection form is built from: the provider info's declarations, as served."""
    from airflow_dataops.get_provider_info import CONNECTION_TYPES

    served = {meta["connection_type"]: meta for meta in api_server.call("GET", "/ui/connections/hook_meta")}
    for declared in CONNECTION_TYPES:
        meta = served[declared["connection-type"]]
        assert meta["hook_class_name"] == declared["hook-class-name"]
        assert meta["hook_name"] == declared["hook-name"]
        behaviour = declared["ui-field-behaviour"]
        for name in ("host", "port", "login", "password"):
            field = meta["standard_fields"][name]
            if name in behaviour["hidden-fields"]:
                assert field["hidden"] is True, (declared["connection-type"], name)
            else:
                assert field["hidden"] is False
                assert field["placeholder"] == behaviour["placeholders"][name]
                assert field["title"] == behaviour["relabeling"].get(name)
        extra = meta["extra_fields"]
        assert list(extra) == list(declared["conn-fields"])
        for name, field in declared["conn-fields"].items():
            assert extra[name]["schema"]["title"] == field["label"]
            assert extra[name]["description"] == field["description"]
    assert served["ibm_quantum"]["extra_fields"]["channel"]["schema"]["enum"] == ["ibm_quantum_platform", "ibm_cloud"]
    assert "braket" not in served


@pytest.mark.slow
def test_the_api_servers_test_button_runs_test_connection(api_server: ApiServer, mlflow: MlflowServer) -> None:
    answer = api_server.call(
        "POST", "/api/v2/connections/test",
        {"connection_id": "tc_ui_mlflow", "conn_type": "mlflow", "host": mlflow.url, **ADMIN},
    )  # fmt: skip
    assert answer == {
        "status": True,
        "message": f"Connected to MLflow at {mlflow.url} (each DAG records to its experiment airflow/<dag_id>)",
    }
    down = f"http://127.0.0.1:{free_port()}"
    answer = api_server.call(
        "POST", "/api/v2/connections/test", {"connection_id": "tc_ui_mlflow", "conn_type": "mlflow", "host": down}
    )
    assert answer["status"] is False
    assert answer["message"].startswith(f"The MLflow tracking server at {down} did not answer its /health check")

    answer = api_server.call(
        "POST", "/api/v2/connections/test",
        {"connection_id": "tc_ui_ibm", "conn_type": "ibm_quantum", "extra": json.dumps({"channel": "ibm_quantum"})},
    )  # fmt: skip
    assert answer["status"] is False
    assert "field 'password': is empty" in answer["message"]
