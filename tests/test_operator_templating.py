"""Template fields are rendered before they are interpreted, on every operator of the provider.

Each templated argument of QuantumTaskOperator, VirtualizedQueryOperator and
QuantumTaskSensor runs through the real Airflow (dag.test) with its value coming from an
upstream task (an ``XComArg``) and from a Jinja template, and the result shows that the
rendered value was used: the circuit's distribution, the table written and its rows,
the ARN waited for. Literals are refused when the DAG is parsed, rendered values at the
start of the task, before anything is submitted. The engines are the local simulators,
the embedded SQL engine and the loopback Braket API.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import TEST_DAGS_FOLDER
from sql_data import embedded_connection, write_sources
from test_operator_quantum import xcom

pytestmark = pytest.mark.slow

BRAKET_SERVER = Path(__file__).with_name("braket_api_server.py")
SENSOR_KEY = "AKIATEMPLATING"


def run(file: str, dag_id: str, conf: dict[str, Any] | None = None) -> Any:
    """One run of ``dag_id`` from the test DAG file ``file``, through dag.test()."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(TEST_DAGS_FOLDER / file), bundle_path=TEST_DAGS_FOLDER)
    assert bag.import_errors == {}
    return bag.dags[dag_id].test(run_conf=conf)


def counts(dag_run: Any, task_id: str) -> dict[str, int]:
    return dict(xcom(dag_run, task_id)["counts"])


# ----------------------------------------------------------------------------- QuantumTaskOperator


def test_circuit_and_parameters_from_upstream_tasks_are_what_runs(airflow_db: Path) -> None:
    dag_run = run("templating_quantum.py", "tpl_q_from_upstream")
    assert dag_run.state == "success"
    assert counts(dag_run, "circuit") == {"1": 200}  # the upstream task's X gate
    assert counts(dag_run, "parameters") == {"1": 200}  # rotated by the upstream task's pi


def test_circuit_and_parameters_from_jinja_are_what_runs(airflow_db: Path) -> None:
    conf = {"gate": "x", "angles": {"theta": math.pi}, "theta": math.pi}  # the DAG's defaults measure 0
    dag_run = run("templating_quantum.py", "tpl_q_from_jinja", conf)
    assert dag_run.state == "success"
    assert counts(dag_run, "circuit") == {"1": 200}
    assert counts(dag_run, "parameters") == {"1": 200}  # "{{ params.angles }}" rendered to a dict's text
    assert counts(dag_run, "parameter_value") == {"1": 200}  # {"theta": "{{ params.theta }}"}


def test_rendered_parameters_that_are_not_a_mapping_are_refused_before_running(
    airflow_db: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    dag_run = run("templating_quantum.py", "tpl_q_bad_rendered_parameters")
    assert dag_run.state == "failed"
    out = capfd.readouterr().out
    expected = (
        "task 'run', field 'parameters': 'not angles' is not a mapping of parameter names to values "
        "(rendered from '{{ params.angles }}'). Fix: give the values by parameter name"
    )
    assert expected in out
    assert "Circuit:" not in out  # refused before the circuit was even read
    assert xcom(dag_run, "run") is None


def test_a_braket_circuit_object_runs_through_the_operator(airflow_db: Path) -> None:
    dag_run = run("templating_braket_circuit.py", "tpl_q_braket_circuit")
    assert dag_run.state == "success"
    bell = xcom(dag_run, "bell")
    assert bell["backend"] == "braket_local"
    assert set(bell["counts"]) == {"00", "11"}  # an entangled pair
    assert min(bell["counts"].values()) > 100
    assert counts(dag_run, "rotation") == {"1": 100}  # its FreeParameter bound by an upstream task


def dag_of(dag_id: str) -> Any:
    from datetime import datetime

    from airflow.sdk import DAG

    return DAG(dag_id, start_date=datetime(2026, 1, 1), schedule=None)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"circuit": "h q[0];"}, r"task 'q', field 'circuit': 'h q\[0\];' is neither OpenQASM text"),
        ({"circuit": ""}, "task 'q', field 'circuit': it is empty"),
        ({"circuit": 42}, "task 'q', field 'circuit': a int is not a circuit"),
        ({"circuit": "/nowhere/missing.qasm"}, "task 'q', field 'circuit': the file /nowhere/missing.qasm does not"),
        ({"parameters": ["theta"]}, r"task 'q', field 'parameters': \['theta'\] is not a mapping"),
        ({"parameters": {"theta": "half"}}, "task 'q', field 'parameters': the value of 'theta', 'half', is not a"),
    ],
)
def test_literal_quantum_arguments_are_refused_when_the_dag_is_parsed(arguments: dict[str, Any], message: str) -> None:
    from airflow_dataops.core.errors import InvalidInputError
    from airflow_dataops.operators.quantum import QuantumTaskOperator

    given = {"circuit": 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\n', **arguments}
    with dag_of("parse_time"), pytest.raises(InvalidInputError, match=message):
        QuantumTaskOperator(task_id="q", backend="aer_simulator", **given)


def test_a_qiskit_circuit_with_literal_parameters_is_bound_when_the_dag_is_parsed() -> None:
    from qiskit import QuantumCircuit
    from qiskit.circuit import Parameter

    from airflow_dataops.core.errors import InvalidInputError
    from airflow_dataops.operators.quantum import QuantumTaskOperator

    circuit = QuantumCircuit(1)
    circuit.rx(Parameter("theta"), 0)
    with dag_of("parse_time"):
        QuantumTaskOperator(task_id="ok", circuit=circuit, parameters={"theta": 1}, backend="aer_simulator")
        with pytest.raises(InvalidInputError, match="task 'q', field 'parameters': parameters without a value: theta"):
            QuantumTaskOperator(task_id="q", circuit=circuit, parameters={}, backend="aer_simulator")


def test_the_bundle_check_leaves_values_from_upstream_tasks_to_run_time(airflow_db: Path, tmp_path: Path) -> None:
    import shutil

    from airflow_dataops.cli.bundle_check import check_bundle

    shutil.copy(TEST_DAGS_FOLDER / "templating_quantum.py", tmp_path)
    report = check_bundle(tmp_path)
    assert [p.message for p in report.errors if p.check in ("import", "quantum")] == []
    unchecked = {(p.dag_id, p.task_id) for p in report.notices if p.check == "quantum"}
    assert ("tpl_q_from_upstream", "circuit") in unchecked  # an XComArg circuit: known at run time
    assert ("tpl_q_from_upstream", "parameters") in unchecked


# ----------------------------------------------------------------------------- VirtualizedQueryOperator


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The embedded engine over real files, as connection ``vd_tpl``; returns its hook."""
    monkeypatch.setenv("AIRFLOW_CONN_VD_TPL", embedded_connection(write_sources(tmp_path), asset_authority="t:1"))
    from airflow_dataops.hooks.virtualized_data import VirtualizedDataHook

    return VirtualizedDataHook(virtualized_data_conn_id="vd_tpl")


def asset_events(uri: str) -> list[tuple[dict[str, Any], list[str]]]:
    """(extra, source alias names) of every asset event of ``uri``."""
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        return [
            (dict(e.extra), sorted(a.name for a in e.source_aliases))
            for e in session.query(AssetEvent).all()
            if e.asset.uri == uri
        ]


def rows_of(engine: Any, table: str) -> int:
    return int(engine.get_records(f"SELECT count(*) FROM {table}")[0][0])


def test_target_sql_and_parameters_from_upstream_tasks_are_what_runs(airflow_db: Path, engine: Any) -> None:
    dag_run = run("templating_virtualized.py", "tpl_vd_from_upstream")
    assert dag_run.state == "success"
    written = xcom(dag_run, "target_table")
    assert written["table"] == "warehouse.marts.from_upstream"  # the upstream task's choice
    assert rows_of(engine, "warehouse.marts.from_upstream") == 3
    assert xcom(dag_run, "sql")["rows"] == 1  # the upstream query keeps amounts >= 10
    assert xcom(dag_run, "parameters")["rows"] == 2  # ... and the upstream bound 7: 10.0 and 7.5
    # The rendered table's asset, through the alias the task declared (its table was unknown at parse).
    uri = "trino://t:1/warehouse/marts/from_upstream"
    assert written["asset_uri"] == uri
    assert asset_events(uri)[-1] == ({"rows": 3}, ["virtualized_data/vd_tpl/tpl_vd_from_upstream/target_table"])


def test_target_sql_and_parameters_from_jinja_are_what_runs(airflow_db: Path, engine: Any) -> None:
    dag_run = run("templating_virtualized.py", "tpl_vd_from_jinja", {"column": "customer_id", "bounds": [9]})
    assert dag_run.state == "success"
    table = f"warehouse.marts.orders_{dag_run.logical_date:%Y%m%d}"  # "orders_{{ ds_nodash }}"
    assert xcom(dag_run, "target_table")["table"] == table
    assert rows_of(engine, table) == 3
    assert asset_events(f"trino://t:1/{table.replace('.', '/')}")[-1][1] == [
        "virtualized_data/vd_tpl/tpl_vd_from_jinja/target_table"
    ]
    assert xcom(dag_run, "sql")["rows"] == 2  # distinct customer_id: 1 and 3 (the default, amount, gives 3)
    assert xcom(dag_run, "parameters")["rows"] == 1  # "[9]" read as a list: amount >= 9 (default [0]: 3)
    # A literal target keeps the alias named after its table.
    assert asset_events("trino://t:1/warehouse/marts/sql_from_params")[-1][1] == [
        "virtualized_data/vd_tpl/warehouse.marts.sql_from_params"
    ]


def test_a_rendered_unsafe_table_name_is_refused_before_any_sql(
    airflow_db: Path, engine: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    dag_run = run("templating_virtualized.py", "tpl_vd_bad_rendered_target")
    assert dag_run.state == "failed"
    out = capfd.readouterr().out
    assert (
        "task 'write', field 'target_table': 'warehouse.marts.x; DROP TABLE y': part 'x; DROP TABLE y' is not a "
        "plain identifier (letters, digits, '_', not starting with a digit) (rendered from '{{ params.target }}')"
    ) in out
    assert engine.get_records("SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'marts'") == [(0,)]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"target_table": "marts.x"}, "task 'v', field 'target_table': 'marts.x': is not catalog.schema.table"),
        ({"sql": ""}, "task 'v', field 'sql': '' is not SQL text"),
        ({"parameters": "7"}, "task 'v', field 'parameters': '7' is not a list"),
        ({"parameters": [7], "deferrable": True}, "field 'parameters': a deferred Trino query cannot take parameters"),
    ],
)
def test_literal_query_arguments_are_refused_when_the_dag_is_parsed(arguments: dict[str, Any], message: str) -> None:
    from airflow_dataops.core.errors import InvalidInputError
    from airflow_dataops.operators.virtualized_data import VirtualizedQueryOperator

    given = {"sql": "SELECT 1", **arguments}
    with dag_of("parse_time"), pytest.raises(InvalidInputError, match=re.escape(message)):
        VirtualizedQueryOperator(task_id="v", conn_id="vd_tpl", **given)


def test_the_declared_alias_is_the_table_or_the_task() -> None:
    from airflow_dataops.operators.virtualized_data import VirtualizedQueryOperator

    with dag_of("aliases"):
        literal = VirtualizedQueryOperator(task_id="a", sql="SELECT 1", target_table="lake.marts.t")
        templated = VirtualizedQueryOperator(task_id="b", sql="SELECT 1", target_table="lake.marts.t_{{ ds_nodash }}")
    assert [o.name for o in literal.outlets] == ["virtualized_data/virtualized_data_default/lake.marts.t"]
    assert [o.name for o in templated.outlets] == ["virtualized_data/virtualized_data_default/aliases/b"]


# ----------------------------------------------------------------------------- QuantumTaskSensor


class BraketServer:
    """The loopback Braket API (tests/braket_api_server.py) in its own process."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, str(BRAKET_SERVER)], stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.url = f"http://127.0.0.1:{int(self.process.stdout.readline().split()[1])}"

    def state(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/_test/state", timeout=10) as response:
            return dict(json.loads(response.read()))

    def submit(self) -> str:
        """A task submitted by another system, with boto3 directly; its ARN."""
        import boto3

        client = boto3.client(
            "braket", endpoint_url=self.url, region_name="us-east-1", aws_access_key_id="AKIAOTHER",
            aws_secret_access_key="other-secret",
        )  # fmt: skip
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

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def braket(airflow_db: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BraketServer]:
    """The Braket API on loopback, reached through the amazon provider's ``aws`` connection ``tpl_aws``."""
    server = BraketServer()
    connection = {
        "conn_type": "aws",
        "login": SENSOR_KEY,
        "password": "not-a-real-secret",
        "extra": {"region_name": "us-east-1", "endpoint_url": server.url},
    }
    monkeypatch.setenv("AIRFLOW_CONN_TPL_AWS", json.dumps(connection))
    try:
        yield server
    finally:
        server.stop()


def test_the_sensor_waits_for_the_arn_from_an_upstream_task_and_from_jinja(braket: BraketServer) -> None:
    arn = braket.submit()
    dag_run = run("templating_quantum.py", "tpl_s_arn", {"arn": arn})
    assert dag_run.state == "success"
    assert xcom(dag_run, "from_upstream") == {"task_arn": arn, "status": "COMPLETED"}
    assert xcom(dag_run, "from_jinja") == {"task_arn": arn, "status": "COMPLETED"}
    assert SENSOR_KEY in braket.state()["access_keys"]


def test_a_rendered_value_that_is_no_arn_is_refused_before_braket_is_asked(
    braket: BraketServer, capfd: pytest.CaptureFixture[str]
) -> None:
    dag_run = run("templating_quantum.py", "tpl_s_arn", {"arn": "sv1-task-7"})
    assert dag_run.state == "failed"
    out = capfd.readouterr().out
    assert "task 'from_jinja', field 'task_arn': 'sv1-task-7' is not a Braket quantum-task ARN" in out
    assert "(rendered from '{{ params.arn }}')" in out
    assert SENSOR_KEY not in braket.state()["access_keys"]


def test_a_literal_value_that_is_no_arn_is_refused_when_the_dag_is_parsed() -> None:
    from airflow_dataops.core.errors import InvalidInputError
    from airflow_dataops.sensors.quantum import QuantumTaskSensor

    with dag_of("parse_time"), pytest.raises(InvalidInputError, match="task 's', field 'task_arn': 'arn:aws:s3:::b'"):
        QuantumTaskSensor(task_id="s", task_arn="arn:aws:s3:::b")


def test_supercluster_pod_reads_is_taken_as_given_and_read_once_rendered() -> None:
    """``reads`` (templated) from Jinja or an upstream task: kept at parse, a list once Airflow rendered it."""
    from airflow.sdk import DAG, task

    from airflow_dataops.core.errors import InvalidInputError
    from airflow_dataops.operators.kubernetes import SuperclusterPodOperator

    with DAG("templated_reads", schedule=None):

        @task
        def uris() -> list[str]:
            return ["s3://lake/a"]

        upstream = uris()
        from_jinja = SuperclusterPodOperator(task_id="from_jinja", image="busybox", reads="{{ params.uris }}")
        from_task = SuperclusterPodOperator(task_id="from_task", image="busybox", reads=upstream)
        literal = SuperclusterPodOperator(task_id="literal", image="busybox", reads=("s3://lake/b",))
    assert from_jinja.reads == "{{ params.uris }}"  # not ['{', '{', ' ', 'p', ...]
    assert from_task.upstream_task_ids == {"uris"}
    assert literal._rendered_reads() == ["s3://lake/b"]
    from_jinja.reads = "['s3://lake/a', 's3://lake/c']"  # what Airflow renders a list param to
    assert from_jinja._rendered_reads() == ["s3://lake/a", "s3://lake/c"]
    from_jinja.reads = "s3://lake/one"
    assert from_jinja._rendered_reads() == ["s3://lake/one"]
    from_task.reads = {"not": "a list"}  # type: ignore[assignment]  # what a bad XCom may render to
    with pytest.raises(InvalidInputError, match=r"'reads'.*is not a list of URIs"):
        from_task._rendered_reads()
