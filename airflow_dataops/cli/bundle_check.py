"""``airflow dataops check PATH``: everything a DAG bundle would fail on, found before deployment.

The Airflow-facing half of the check: it parses the bundle with Airflow's own DagBag
(the dag-processor's code, so an import error here is one there), walks the tasks, and
hands each operator's arguments to the pure checks of
:mod:`airflow_dataops.cli.bundle_preflight`, which call the same placement, quantum
and SQL code the operators run. Findings go into a
:class:`~airflow_dataops.cli.bundle_report.Report`; nothing stops at the first problem.

Nothing runs and nothing is contacted: no pod, no quantum task, no query, no probe of a
cluster, no Braket or IBM call. Connections are only read (from the environment or a
secrets backend) to tell whether a ``SQLExecuteQueryOperator`` talks to a
``virtualized_data`` connection.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

from airflow_dataops.cli.bundle_locate import declaration_line, task_line, text_line, traceback_location
from airflow_dataops.cli.bundle_preflight import (
    Finding,
    placement_findings,
    quantum_findings,
    sql_findings,
    sql_texts,
)
from airflow_dataops.cli.bundle_report import Problem, Report, format_github, format_json, format_text

if TYPE_CHECKING:
    import argparse

    from airflow.sdk import Context

    from airflow_dataops.core.placement.supercluster import Supercluster

DECLARATION = "supercluster.yaml"


def check_command(args: argparse.Namespace) -> None:
    """The ``airflow dataops check`` action: print the report, exit 0 (clean) or 1 (problems)."""
    sys.exit(run_check(args.path, output=args.output, annotations=args.annotations))


def run_check(
    path: str | Path,
    *,
    output: str = "text",
    annotations: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Check the bundle at ``path``, print the report, and return the exit code (0, 1; 2 for a bad path).

    With ``annotations="github"`` the workflow commands are printed too: after the text
    report on ``out``, or on ``err`` when ``out`` carries JSON (the Actions runner reads
    both streams). Whatever Airflow or the DAG files print while being parsed goes to
    ``err``, so ``out`` holds only the report.
    """
    out, err = out or sys.stdout, err or sys.stderr
    bundle = Path(path)
    if not bundle.exists():
        print(f"airflow dataops check: {bundle} does not exist", file=err)
        return 2
    with _stdout_to_stderr():
        report = check_bundle(bundle)
    out.write(format_json(report) if output == "json" else format_text(report))
    if annotations == "github":
        (err if output == "json" else out).write(format_github(report))
    out.flush()
    return report.exit_code


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send file descriptor 1 (Airflow's log handlers, prints in DAG files) to stderr for a while."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def check_bundle(path: Path) -> Report:
    """Every problem of the bundle at ``path`` (a folder, or a single DAG file)."""
    from airflow.dag_processing.dagbag import BundleDagBag

    root = (path if path.is_dir() else path.parent).resolve()
    report = Report(bundle=str(path))
    declarations = _Declarations(report)
    if (root / DECLARATION).is_file():
        declarations.load(root / DECLARATION)
    with _full_tracebacks():
        dagbag = BundleDagBag(dag_folder=str(path.resolve()), bundle_path=root)
    report.count("import", len(dagbag.dagbag_stats))
    for relative, traceback in sorted(dagbag.import_errors.items()):
        dag_file = root / relative
        file, line = traceback_location(traceback, root)
        last = traceback.strip().splitlines()[-1] if traceback.strip() else "unknown error"
        report.add(Problem("import", f"{relative} does not import: {last}", file or str(dag_file), line))
    for dag in sorted(dagbag.dags.values(), key=lambda d: d.dag_id):
        _check_dag(dag, report, declarations)
    return report


@contextlib.contextmanager
def _full_tracebacks() -> Iterator[None]:
    """Keep every frame of an import error (Airflow keeps 2), so the DAG file's own line is in it."""
    settings = {
        "AIRFLOW__CORE__DAGBAG_IMPORT_ERROR_TRACEBACKS": "True",
        "AIRFLOW__CORE__DAGBAG_IMPORT_ERROR_TRACEBACK_DEPTH": "100",
    }
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class _Declarations:
    """Each supercluster declaration loaded once; each of its errors reported once, at its own line.

    The targets that are valid are kept: tasks are still checked against them.
    """

    def __init__(self, report: Report) -> None:
        self.report = report
        self.loaded: dict[Path, Supercluster | None] = {}
        self.invalid: set[Path] = set()

    def load(self, path: Path) -> Supercluster | None:
        from airflow_dataops.core.placement.declaration import load_supercluster_leniently

        path = path.resolve()
        if path in self.loaded:
            return self.loaded[path]
        self.loaded[path] = None
        if not path.is_file():
            return None  # reported at each task that points to it
        self.report.count("declaration")
        self.loaded[path], errors = load_supercluster_leniently(path)
        text = path.read_text()
        for error in errors:
            line = declaration_line(text, error.target, error.field)
            self.report.add(Problem("declaration", str(error), str(path), line))
        if errors:
            self.invalid.add(path)
        return self.loaded[path]


def _check_dag(dag: Any, report: Report, declarations: _Declarations) -> None:
    from airflow_dataops.operators.kubernetes import SuperclusterPodOperator
    from airflow_dataops.operators.quantum import QuantumTaskOperator
    from airflow_dataops.operators.virtualized_data import VirtualizedQueryOperator

    source = Path(dag.fileloc).read_text() if dag.fileloc and Path(dag.fileloc).is_file() else ""
    ours = {SuperclusterPodOperator: "placement", QuantumTaskOperator: "quantum", VirtualizedQueryOperator: "sql"}
    for task in dag.tasks:
        where = _Where(dag, task, source)
        check = next((name for cls, name in ours.items() if isinstance(task, cls)), None)
        try:
            if check == "placement":
                _check_pod(task, where, report, declarations)
            elif check == "quantum":
                _check_quantum(task, where, report)
            elif check == "sql" or _uses_virtualized_connection(task, where, report):
                check = "sql"
                _check_sql(task, where, report)
            elif mapped := next((name for cls, name in ours.items() if _maps(task, cls)), None):
                notice = "a mapped task: its arguments are known only at run time, not checked"
                where.add(report, mapped, Finding(notice, severity="notice"))
        except ImportError as error:  # an extra missing where the check runs: say which, go on with the rest
            fix = "install the provider with the extras the DAGs use, e.g. pip install 'airflow-dataops[quantum,data]'"
            where.add(report, check or "import", Finding(f"cannot be checked here: {error}. Fix: {fix}"))
        except Exception as error:  # one task the check cannot handle must not hide the others' problems
            where.add(
                report, check or "import", Finding(f"the check failed on this task: {type(error).__name__}: {error}")
            )


def _maps(task: Any, cls: type) -> bool:
    """Whether ``task`` is a mapped task (``.partial().expand()``) of ``cls``."""
    operator_class = getattr(task, "operator_class", None)
    return isinstance(operator_class, type) and issubclass(operator_class, cls)


class _Where:
    """Where a task's findings go: its DAG file and the line of the call that created it."""

    def __init__(self, dag: Any, task: Any, source: str) -> None:
        self.dag, self.task, self.source = dag, task, source
        self.file = dag.fileloc
        self.line = task_line(source, task.task_id)

    def add(self, report: Report, check: str, finding: Finding, file: Path | None = None, text: str = "") -> None:
        """Record ``finding``, placed in ``file`` (a .sql/.qasm file), else at ``text`` in the DAG file."""
        line: int | None
        if file is not None:
            line = finding.line
        else:
            line = (text_line(self.source, text, finding.line or 1) if text else None) or self.line
        report.add(
            Problem(
                check,
                finding.message,
                str(file or self.file),
                line,
                self.dag.dag_id,
                self.task.task_id,
                finding.severity,
            )
        )


def _context(dag: Any) -> Context:
    """The little of a task context the operators' path helpers read (the DAG, for its folder)."""
    return cast("Context", {"dag": dag})


def _check_pod(task: Any, where: _Where, report: Report, declarations: _Declarations) -> None:
    from kubernetes.client import ApiClient

    path = task._declaration_path(_context(where.dag))  # the operator's own resolution of the path
    if not path.is_file():
        report.count("placement")
        message = f"the supercluster declaration {path} does not exist. Fix: add it to the bundle or set supercluster="
        where.add(report, "placement", Finding(message))
        return
    supercluster = declarations.load(path)
    if supercluster is None:  # its errors are reported at their lines; nothing to place against (not counted)
        message = f"placement not checked: the supercluster declaration {path} has no valid target; fix it first"
        where.add(report, "placement", Finding(message, severity="notice"))
        return
    if path.resolve() in declarations.invalid:
        valid = ", ".join(t.name for t in supercluster.targets)
        message = (
            f"placement checked against the valid targets of {path} only ({valid}); "
            "fix the declaration's errors to check against all of them"
        )
        where.add(report, "placement", Finding(message, severity="notice"))
    report.count("placement")
    task.kubernetes_conn_id = None  # sized without any cluster, as the operator does before choosing one
    try:
        pod = ApiClient().sanitize_for_serialization(task.build_pod_request_obj(None, dry_run=True))
    except Exception as error:  # what the parent refuses to build, it would refuse at run time too
        where.add(report, "placement", Finding(f"the pod cannot be built: {type(error).__name__}: {error}"))
        return
    findings = placement_findings(supercluster, pod, task.placement, reads=task.reads, dag_tags=where.dag.tags or ())
    for finding in findings:
        where.add(report, "placement", finding)


def _check_quantum(task: Any, where: _Where, report: Report) -> None:
    report.count("quantum")
    try:
        prices = task._prices()  # the configuration's price table and the task's overrides, as at run time
    except ValueError as error:
        where.add(report, "quantum", Finding(str(error)))
        return
    source = task._source(_context(where.dag))  # a relative .qasm path is read from the DAG's folder
    findings = quantum_findings(
        source,
        parameters=task.parameters,
        candidates=task.candidates,
        shots=task.shots,
        max_cost=task.max_cost,
        run_budget=task.run_budget,
        classical_max_qubits=task.classical_max_qubits,
        price_overrides=prices,
    )
    qasm_file = Path(source) if isinstance(source, Path) and source.is_file() else None
    for finding in findings:
        where.add(report, "quantum", finding, qasm_file, source if isinstance(source, str) else "")


def _check_sql(task: Any, where: _Where, report: Report) -> None:
    folder = Path(where.file).parent
    for text, sql_file in sql_texts(task.sql, folder):
        report.count("sql")
        for finding in sql_findings(text):
            where.add(report, "sql", finding, sql_file or _sql_file_holding(text, folder, where.source), text)


@functools.cache
def _sql_files(folder: Path) -> dict[str, Path]:
    """The ``.sql`` files under ``folder`` by content."""
    return {path.read_text(): path for path in sorted(folder.rglob("*.sql"), reverse=True)}


def _sql_file_holding(text: str, folder: Path, source: str) -> Path | None:
    """The ``.sql`` file ``text`` came from: Airflow reads a ``.sql`` template into the task when parsing."""
    if text_line(source, text) is not None:
        return None
    return _sql_files(folder).get(text)


def _uses_virtualized_connection(task: Any, where: _Where, report: Report) -> bool:
    """Whether ``task`` is a common.sql ``SQLExecuteQueryOperator`` on a ``virtualized_data`` connection."""
    try:
        from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
    except ImportError:  # common.sql not installed: no such task can exist
        return False
    if not isinstance(task, SQLExecuteQueryOperator):
        return False
    from airflow.models.connection import Connection

    conn_id = task.conn_id
    if not conn_id:
        return False
    try:
        conn_type = Connection.get_connection_from_secrets(conn_id).conn_type
    except Exception:  # not defined where the check runs (CI has no connections, or no database)
        message = (
            f"connection {conn_id!r} is not defined here, so whether it is a virtualized_data connection is "
            f"unknown: SQL not checked. Fix: define AIRFLOW_CONN_{str(conn_id).upper()} in CI to check it"
        )
        where.add(report, "sql", Finding(message, severity="notice"))
        return False
    return conn_type == "virtualized_data"
