"""``airflow dataops check``: a good bundle passes, each kind of broken bundle fails with the right message and place.

The bundles live in ``tests/bundles/``: ``good`` (every kind of task, valid), one
``broken_*`` per kind of problem, and ``broken_several`` with problems of every kind
at once. Most tests run the check in-process (:func:`run_check` / :func:`check_bundle`,
what the CLI action calls); ``test_the_real_cli_command`` runs ``airflow dataops check``
as Airflow's CLI finds it, through the provider info's ``cli`` key.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_dataops.cli.bundle_locate import declaration_line, task_line, text_line, traceback_location
from airflow_dataops.cli.bundle_preflight import sql_findings
from airflow_dataops.cli.bundle_report import Problem, Report, format_github, format_json, format_text
from conftest import REPO_ROOT

BUNDLES = Path(__file__).parent / "bundles"
#: The connection ``broken_several``'s SQLExecuteQueryOperator uses, as CI would define it.
VIRTUALIZED_CONN = ("AIRFLOW_CONN_SEVERAL_VD", '{"conn_type": "virtualized_data"}')


def line_of(path: Path, snippet: str) -> int:
    """The 1-based line of the first line of ``path`` containing ``snippet``."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if snippet in line:
            return number
    raise AssertionError(f"{snippet!r} not in {path}")


@pytest.fixture(scope="module")
def reports() -> dict[str, Report]:
    """Every bundle checked once, in this process."""
    from airflow_dataops.cli.bundle_check import check_bundle

    os.environ[VIRTUALIZED_CONN[0]] = VIRTUALIZED_CONN[1]
    try:
        return {path.name: check_bundle(path) for path in sorted(BUNDLES.iterdir()) if path.is_dir()}
    finally:
        del os.environ[VIRTUALIZED_CONN[0]]


def errors(report: Report, check: str) -> list[Problem]:
    return [p for p in report.errors if p.check == check]


# ----------------------------------------------------------------------------- bundles


def test_the_good_bundle_passes_and_says_what_it_could_not_check(reports: dict[str, Report]) -> None:
    report = reports["good"]
    assert report.errors == [], format_text(report)
    assert report.exit_code == 0
    # Everything was looked at: not a pass by having checked nothing.
    assert report.checked == {"import": 1, "declaration": 1, "placement": 2, "quantum": 4, "sql": 3}
    (notice,) = report.notices
    assert (notice.check, notice.task_id) == ("quantum", "from_upstream")
    assert "Jinja" in notice.message


def test_an_import_error_is_reported_at_the_dag_files_line(reports: dict[str, Report]) -> None:
    report = reports["broken_import"]
    (problem,) = report.errors
    dag_file = BUNDLES / "broken_import" / "broken_import_dag.py"
    assert problem.check == "import"
    assert "unknown placement policy ['fastest']" in problem.message
    assert (problem.file, problem.line) == (str(dag_file), line_of(dag_file, 'policies=["fastest"]'))
    assert report.exit_code == 1


def test_a_pod_no_target_fits_or_is_entitled_to(reports: dict[str, Report]) -> None:
    report = reports["broken_placement"]
    dag_file = BUNDLES / "broken_placement" / "broken_placement_dag.py"
    by_task = {p.task_id: p for p in errors(report, "placement")}
    assert set(by_task) == {"too_big", "not_entitled"}
    assert "small: pool general: nodes too small (4 CPU, 16 GiB per node)" in by_task["too_big"].message
    assert "vault: not entitled (team analytics" in by_task["not_entitled"].message
    for task_id, problem in by_task.items():
        assert (problem.file, problem.line) == (str(dag_file), line_of(dag_file, f'task_id="{task_id}"') - 1)
    assert report.exit_code == 1


def test_bad_circuits_are_refused_with_their_line(reports: dict[str, Report]) -> None:
    report = reports["broken_circuit"]
    folder = BUNDLES / "broken_circuit"
    by_task = {p.task_id: p for p in errors(report, "quantum")}
    assert set(by_task) == {"bad_qasm", "too_wide", "unbound"}
    # The parse error points into the OpenQASM literal: its line 5 is `x q[0];` after `h q[0]` lacks a ';'.
    assert "OpenQASM 2 does not parse: line 5" in by_task["bad_qasm"].message
    assert by_task["bad_qasm"].line == line_of(folder / "broken_circuit_dag.py", "x q[0];")
    assert "the circuit has 20 qubits, the device 17" in by_task["too_wide"].message
    assert "parameters without a value: theta" in by_task["unbound"].message
    assert by_task["unbound"].file == str(folder / "circuits" / "rotation.qasm")


def test_estimates_over_budget_are_refused(reports: dict[str, Report]) -> None:
    by_task = {p.task_id: p for p in errors(reports["broken_budget"], "quantum")}
    assert "estimated $8.3000, over the budget $1.0000" in by_task["over_max_cost"].message
    assert "$1.1000" in by_task["over_run_budget"].message
    assert "exceeds the DAG run's budget (run_budget) $0.5000" in by_task["over_run_budget"].message


def test_sql_that_is_not_trino_sql(reports: dict[str, Report]) -> None:
    folder = BUNDLES / "broken_sql"
    dag_file = folder / "broken_sql_dag.py"
    by_task = {p.task_id: p for p in errors(reports["broken_sql"], "sql")}
    assert set(by_task) == {"inline", "from_file", "one_line"}
    assert all("does not parse as Trino SQL" in p.message for p in by_task.values())
    # The line of the error inside a multi-line literal, and inside a .sql file Airflow read into the task.
    assert (by_task["inline"].file, by_task["inline"].line) == (str(dag_file), line_of(dag_file, "amount > = 10"))
    assert (by_task["from_file"].file, by_task["from_file"].line) == (str(folder / "report.sql"), 4)
    assert "Expected TYPE after CAST" in by_task["from_file"].message
    assert by_task["one_line"].line == line_of(dag_file, 'task_id="one_line"')


def test_an_invalid_declaration_is_reported_at_its_yaml_line(reports: dict[str, Report]) -> None:
    report = reports["broken_declaration"]
    declaration = BUNDLES / "broken_declaration" / "supercluster.yaml"
    (problem,) = errors(report, "declaration")
    assert "target 'onprem', field 'node_pools[0].allocatable.memory': '64GB' is not a Kubernetes quantity" in (
        problem.message
    )
    assert (problem.file, problem.line) == (str(declaration), line_of(declaration, "memory: 64GB"))
    # The valid targets are still checked: a task that fits none of them is reported, ...
    (too_big,) = errors(report, "placement")
    assert too_big.task_id == "too_big"
    assert report.checked["placement"] == 2
    # ... and each task says it was checked against the valid targets only.
    assert {p.task_id for p in report.notices} == {"pod", "too_big"}
    assert all("valid targets" in p.message and "(local)" in p.message for p in report.notices)


def test_placement_against_a_declaration_that_is_not_yaml_is_not_counted_as_checked(
    reports: dict[str, Report],
) -> None:
    report = reports["broken_declaration_yaml"]
    (problem,) = report.errors
    assert (problem.check, problem.line) == ("declaration", 4)
    assert "is not valid YAML" in problem.message
    assert report.checked["placement"] == 0  # nothing was placed: not a pass
    (notice,) = report.notices
    assert (notice.check, notice.task_id) == ("placement", "pod")
    assert "has no valid target" in notice.message


def test_every_problem_of_a_bundle_is_reported_in_one_run(reports: dict[str, Report]) -> None:
    report = reports["broken_several"]
    found = {(p.check, p.task_id) for p in report.errors}
    assert found == {
        ("declaration", None),
        ("import", None),
        ("placement", "too_big"),
        ("quantum", "qasm_typo"),
        ("quantum", "expensive"),
        ("sql", "bad_sql"),
        ("sql", "common_sql"),  # common.sql's operator on a virtualized_data connection, second statement
    }
    # on_the_edge's declaration has no valid target: its placement is a notice, not a silent pass
    assert {p.task_id for p in report.notices} == {"jinja_blocks", "on_the_edge"}
    assert "other.yaml" in next(p.file for p in report.errors if p.check == "declaration")  # type: ignore[operator]
    assert "No module named 'customer_campaign_v2'" in next(p.message for p in report.errors if p.check == "import")


def test_a_sql_operator_on_an_unknown_connection_is_a_notice() -> None:
    from airflow_dataops.cli.bundle_check import check_bundle

    assert VIRTUALIZED_CONN[0] not in os.environ
    report = check_bundle(BUNDLES / "broken_several" / "several_problems.py")
    notice = next(p for p in report.notices if p.task_id == "common_sql")
    assert "connection 'several_vd' is not defined here" in notice.message
    assert "common_sql" not in {p.task_id for p in report.errors}


def test_a_missing_extra_is_an_error_per_task_and_the_rest_is_still_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_dataops.cli.bundle_check import check_bundle

    monkeypatch.setitem(sys.modules, "qiskit.qasm2", None)  # Python's own way of making an import fail
    report = check_bundle(BUNDLES / "broken_several" / "several_problems.py")
    missing = [p for p in report.errors if "cannot be checked here" in p.message]
    assert {(p.check, p.task_id) for p in missing} == {("quantum", "qasm_typo"), ("quantum", "expensive")}
    assert all("pip install 'airflow-dataops[quantum,data]'" in p.message for p in missing)
    assert {"too_big", "bad_sql"} <= {p.task_id for p in report.errors}


def test_the_example_workflow_runs_the_check_with_annotations() -> None:
    import yaml

    workflow = yaml.safe_load((REPO_ROOT / "docs" / "examples" / "dataops-check.github-workflow.yml").read_text())
    steps = workflow["jobs"]["check"]["steps"]
    runs = [step.get("run", "") for step in steps]
    assert any("pip install" in run and "airflow-dataops[" in run for run in runs)
    assert "airflow dataops check dags --annotations github" in runs
    assert workflow["jobs"]["check"]["env"]["AIRFLOW_CONN_LAKEHOUSE"].startswith('{"conn_type": "virtualized_data"')


# ----------------------------------------------------------------------------- output formats


def test_json_output_and_exit_code() -> None:
    from airflow_dataops.cli.bundle_check import run_check

    out, err = io.StringIO(), io.StringIO()
    code = run_check(BUNDLES / "broken_budget", output="json", out=out, err=err)
    document = json.loads(out.getvalue())  # nothing but the report on the output stream
    assert code == 1
    assert (document["ok"], document["exit_code"], document["errors"]) == (False, 1, 2)
    assert {p["task_id"] for p in document["problems"]} == {"over_max_cost", "over_run_budget"}
    assert all(p["file"].endswith("broken_budget_dag.py") and p["line"] > 0 for p in document["problems"])


def test_github_annotations_are_workflow_commands() -> None:
    from airflow_dataops.cli.bundle_check import run_check

    out = io.StringIO()
    code = run_check(BUNDLES / "broken_placement", annotations="github", out=out, err=io.StringIO())
    annotations = [line for line in out.getvalue().splitlines() if line.startswith("::")]
    assert code == 1
    assert len(annotations) == 2
    dag_file = BUNDLES / "broken_placement" / "broken_placement_dag.py"
    line = line_of(dag_file, 'task_id="too_big"') - 1
    expected_head = f"::error file={os.path.relpath(dag_file)},line={line},title=dataops check%3A placement"
    assert annotations[0].startswith(expected_head)
    assert "%0A  - small: pool general" in annotations[0]  # one annotation per problem, newlines escaped


def test_a_clean_bundle_exits_0_and_a_missing_path_2() -> None:
    from airflow_dataops.cli.bundle_check import run_check

    out = io.StringIO()
    assert run_check(BUNDLES / "good", out=out, err=io.StringIO()) == 0
    assert out.getvalue().splitlines()[-1] == "OK: 0 errors, 1 notice"
    err = io.StringIO()
    assert run_check(BUNDLES / "no_such_bundle", out=io.StringIO(), err=err) == 2
    assert "does not exist" in err.getvalue()


def test_formats_escape_and_order() -> None:
    report = Report(bundle="b")
    report.add(Problem("sql", "50% wrong\nsecond line", "/elsewhere/q.sql", 3, "d", "t"))
    report.add(Problem("declaration", "bad", "/elsewhere/a.yaml", 9))
    report.add(Problem("quantum", "not checked", None, None, "d", "q", severity="notice"))
    github = format_github(report, base=Path("/elsewhere"))
    assert github.splitlines() == [
        "::notice title=dataops check%3A quantum (d.q)::not checked",
        "::error file=a.yaml,line=9,title=dataops check%3A declaration::bad",
        "::error file=q.sql,line=3,title=dataops check%3A sql (d.t)::50%25 wrong%0Asecond line",
    ]
    text = format_text(report, base=Path("/elsewhere"))
    assert "q.sql:3: error (sql) [d.t]: 50% wrong\n    second line\n" in text
    assert text.endswith("FAILED: 2 errors, 1 notice\n")
    assert json.loads(format_json(report, base=Path("/elsewhere")))["problems"][1]["file"] == "a.yaml"
    only_notices = Report(bundle="b", problems=[report.problems[2]])
    assert only_notices.exit_code == 0


def test_a_problem_of_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown check"):
        Problem("style", "x")
    with pytest.raises(ValueError, match="unknown severity"):
        Problem("sql", "x", severity="warning")


# ----------------------------------------------------------------------------- pure pieces


@pytest.mark.parametrize(
    ("sql", "severity", "line"),
    [
        ("SELECT a FROM t WHERE day = DATE '{{ ds }}'", None, None),  # inside a string literal
        ("SELECT {{ params.cols }} FROM {{ params.table }} LIMIT {{ n }}", None, None),  # names and values
        ("SELECT a\nFROM t\nWHERE", "error", 3),
        ("SELECT a FROM {{ t }}\nWHERE x = = 1", "error", 2),  # the error is not next to a template
        ("SELECT a FROM t ORDER BY a {{ direction }}", "notice", 1),  # may parse once rendered
        ("SELECT a FROM t {% if x %}WHERE b{% endif %}", "notice", None),
        ("SELECT {# a comment\nover two lines #} a\nFROM t WHERE", "error", 3),  # lines kept
        ("SELECT 'unterminated", "error", None),
        ("  ", "error", None),
    ],
)
def test_sql_findings(sql: str, severity: str | None, line: int | None) -> None:
    findings = sql_findings(sql)
    if severity is None:
        assert findings == []
        return
    (finding,) = findings
    assert (finding.severity, finding.line) == (severity, line)


def test_lines_of_tasks_and_texts() -> None:
    source = 'x = 1\nwith DAG("d"):\n    Op(\n        task_id="a",\n        sql="""\nSELECT\n1 +"""\n    )\n'
    assert task_line(source, "a") == 3
    assert task_line(source, "group.a") == 3  # a task group's prefix is not in the source
    assert task_line(source, "b") is None
    assert text_line(source, "\nSELECT\n1 +", 3) == 7
    assert text_line(source, "not there") is None
    assert task_line("def broken(:\n", "a") is None


def test_declaration_lines() -> None:
    text = (
        "version: 1\ntargets:\n  - name: a\n    node_pools:\n      - name: p\n"
        "        allocatable:\n          cpu: '2'\n          memory: 64GB\n  - name: b\n    concurrancy: 3\n"
    )
    assert declaration_line(text, "a", "node_pools[0].allocatable.memory") == 8
    assert declaration_line(text, "b", "concurrancy") == 10
    assert declaration_line(text, "#2", "name") == 9
    assert declaration_line(text, "a", "node_pools[3].nodes") == 4  # the nearest known place
    assert declaration_line(text, None, "targets") == 2
    assert declaration_line("targets: [\n", None, "file") == 2  # a YAML syntax error's own mark


def test_traceback_location_is_the_innermost_frame_in_the_bundle(tmp_path: Path) -> None:
    dag, helper = tmp_path / "dag.py", tmp_path / "lib" / "helper.py"
    traceback = (
        "Traceback (most recent call last):\n"
        '  File "/usr/lib/python3.11/importlib/__init__.py", line 126, in import_module\n'
        f'  File "{dag}", line 7, in <module>\n'
        f'  File "{helper}", line 3, in build\n'
        '  File "/site-packages/airflow/sdk/bases/operator.py", line 900, in __init__\n'
        "ValueError: boom\n"
    )
    assert traceback_location(traceback, tmp_path) == (str(helper), 3)
    assert traceback_location("ValueError: boom", tmp_path) == (None, None)


# ----------------------------------------------------------------------------- the real command


@pytest.mark.slow
def test_the_real_cli_command(venv_bin: Path) -> None:
    """``airflow dataops check`` as Airflow's CLI finds it (the provider info's ``cli`` key)."""
    env = {**os.environ, VIRTUALIZED_CONN[0]: VIRTUALIZED_CONN[1]}
    # Unit-test mode announces itself on stdout when Airflow starts, before any command runs: not what CI sees.
    env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    bundle = os.path.relpath(BUNDLES / "broken_several", REPO_ROOT)
    broken = subprocess.run(
        [str(venv_bin / "airflow"), "dataops", "check", bundle, "--output", "json", "--annotations", "github"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert broken.returncode == 1, broken.stderr[-3000:]
    document = json.loads(broken.stdout)
    assert document["errors"] == 7
    annotations = [line for line in broken.stderr.splitlines() if line.startswith("::error ")]
    assert len(annotations) == 7
    assert f"::error file={bundle}/other.yaml,line=5," in broken.stderr
