"""The lineage listener: every DAG run and task try becomes an MLflow run, for DAGs that never mention MLflow.

Shipped in the provider's plugin, it does nothing until an ``mlflow`` connection exists
(``[dataops] mlflow_conn_id``, default ``mlflow_default``). Then, when a task try ends,
it builds a :class:`~airflow_dataops.core.lineage.LineageRecord` (tags naming the try,
the task's rendered templated fields as params with secrets redacted, its duration, and
what this provider decided: the cluster, the quantum backend and cost, the query and
table), writes it to the spool and sends the spool before the task process ends, waiting
at most ``[dataops] lineage_send_timeout`` seconds. When MLflow is down the records wait
on disk and go with the next send.

The DAG-run hooks run inside the scheduler's loop (and a task can be failed by the
scheduler or the API server): there the listener only reads what is already loaded on
the ORM object and hands the record to a background thread
(:mod:`airflow_dataops.lineage.delivery`). Lineage never fails a task nor stops a
server: every error here is logged as a warning.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from airflow.listeners import hookimpl

from airflow_dataops.core import facts
from airflow_dataops.core.lineage import LineageRecord, dataset
from airflow_dataops.lineage.settings import spool_folder

log = logging.getLogger(__name__)
_STATUS = {"success": "FINISHED", "failed": "FAILED", "up_for_retry": "FAILED", "skipped": "KILLED"}
_RESULT_FIELDS = ("backend", "task_id", "shots", "table", "rows", "asset_uri", "query_id")
#: How often each hook-lineage entry had been reported at the last task's end: a task owns
#: the entries whose count grew since (``dag.test`` runs many tasks in one process).
_SEEN: dict[tuple[str, str, int], int] = {}


def _setting_of(section: str, name: str) -> str | None:
    from airflow.providers.common.compat.sdk import conf

    value = conf.get(section, name, fallback=None)
    return str(value) if value else None


def _orm_state(obj: Any) -> Any:
    """SQLAlchemy's state of ``obj`` when it is an ORM object (a server process's), else None."""
    from sqlalchemy import inspect

    return inspect(obj, raiseerr=False)


def _loaded(obj: Any, name: str, default: Any = None) -> Any:
    """An attribute's value with no database round trip: of an ORM object, only what is already loaded.

    Reading an expired attribute of the scheduler's DagRun would query through the
    loop's session from inside the listener.
    """
    state = _orm_state(obj)
    if state is None:
        return getattr(obj, name, default)
    return state.dict.get(name, default)


def _ms(moment: datetime | None) -> int:
    return int(moment.timestamp() * 1000) if moment else 0


def dag_run_key(dag_id: str, run_id: str) -> str:
    """The record key of a DAG run."""
    return f"dagrun:{dag_id}/{run_id}"


def _redacted(value: Any) -> Any:
    from airflow.providers.common.compat.sdk import redact

    return redact(value)


def task_record(ti: Any, state: str) -> LineageRecord:
    """The record of a finished task try.

    ``ti`` is Airflow's RuntimeTaskInstance in a task process. In a server process (a
    task failed by the scheduler or through the API) it is the ORM TaskInstance: then the
    record holds what is loaded on it, without the task's XComs.
    """
    in_task = _orm_state(ti) is None
    task = getattr(ti, "task", None) if in_task else None
    dag_id, run_id, task_id = _loaded(ti, "dag_id"), _loaded(ti, "run_id"), _loaded(ti, "task_id")
    map_index, try_number = _loaded(ti, "map_index", -1), _loaded(ti, "try_number", 0)
    start, end = _loaded(ti, "start_date"), _loaded(ti, "end_date")
    bundle = getattr(ti, "bundle_instance", None) if in_task else None
    tags: dict[str, Any] = {
        "airflow.dag_id": dag_id,
        "airflow.run_id": run_id,
        "airflow.task_id": task_id,
        "airflow.try_number": try_number,
        "airflow.map_index": map_index,
        "airflow.operator": type(task).__name__ if task is not None else _loaded(ti, "operator"),
        "airflow.queue": getattr(task, "queue", None) if task is not None else _loaded(ti, "queue"),
        "airflow.executor": (getattr(task, "executor", None) if task is not None else _loaded(ti, "executor"))
        or _setting_of("core", "executor"),
        "airflow.state": state,
        "airflow.bundle_name": getattr(bundle, "name", None),
        "airflow.bundle_version": getattr(bundle, "version", None),
    }
    params = {f"template.{f}": _redacted(getattr(task, f, None)) for f in getattr(task, "template_fields", ())}
    tags.update(job_versions(task))
    if callable(getattr(task, "published", None)):
        tags.update(_provider_facts(task))
    end = end or datetime.now(tz=start.tzinfo if start else None)
    version = f"{dag_id}/{run_id}/{task_id}/{map_index}/{try_number}"
    map_suffix = f"[{map_index}]" if map_index >= 0 else ""
    return LineageRecord.build(
        key=f"ti:{version}",
        parent_key=dag_run_key(dag_id, run_id),
        experiment=f"airflow/{dag_id}",
        run_name=f"{task_id}{map_suffix} try {try_number}",
        status=_STATUS.get(state, "FAILED"),
        start_ms=_ms(start),
        end_ms=_ms(end),
        tags=tags,
        params=params,
        metrics={"duration_s": (end - start).total_seconds()} if start else {},
        datasets=_datasets(task, version) if in_task else [],
    )


def _datasets(task: Any, version: str) -> list[dict[str, str]]:
    """What the task read and wrote, as MLflow dataset entries.

    From hook lineage (the tables of the virtualized-data hook, any hook that reports
    lineage) and the task's declared inlets and outlets. A written dataset is versioned by
    this task try, so each delivery of a table is a dataset of its own.
    """
    from airflow.providers.common.compat.lineage.hook import get_hook_lineage_collector

    found: dict[tuple[str, str], None] = {}
    collected = get_hook_lineage_collector().collected_assets  # type: ignore[no-untyped-call]
    for context, entries in (("input", collected.inputs), ("output", collected.outputs)):
        for entry in entries:
            seen = (context, entry.asset.uri, id(entry.context))
            if entry.count > _SEEN.get(seen, 0):
                found[(context, entry.asset.uri)] = None
            _SEEN[seen] = entry.count
    for context, declared in (("input", getattr(task, "inlets", ())), ("output", getattr(task, "outlets", ()))):
        for asset in declared or ():
            if getattr(asset, "uri", None):
                found[(context, asset.uri)] = None
    return [dataset(uri, context, version if context == "output" else "") for context, uri in found]


def job_versions(task: Any) -> dict[str, str]:
    """The versions of what a task ran, as ``version.*`` tags: what changes between two deliveries.

    The rendered SQL's hash (any task with a ``sql`` field), the pod's image (pods); the
    quantum circuit's fingerprint is added from the operator's result. The DAG bundle's
    version is a tag of its own.
    """
    import hashlib

    versions: dict[str, str] = {}
    sql = getattr(task, "sql", None)
    if isinstance(sql, str) and sql:
        versions["version.sql_sha256"] = hashlib.sha256(" ".join(sql.split()).encode()).hexdigest()
    image = getattr(task, "image", None)
    if isinstance(image, str) and image:
        versions["version.image"] = image
    return versions


def _provider_facts(task: Any) -> dict[str, Any]:
    """What this provider's operator decided in this try: the facts it published (:mod:`~airflow_dataops.core.facts`).

    Read from the operator, which ran in this very process: no XCom round trip, and no
    "XCom not found" error for a fact the try never wrote.
    """
    tags: dict[str, Any] = {}
    placement = task.published(facts.PLACEMENT) or {}
    decision = task.published(facts.QUANTUM_DECISION) or {}
    if placement.get("chosen"):
        tags["dataops.cluster"] = placement["chosen"]
    if decision.get("chosen"):
        tags["dataops.quantum_backend"] = decision["chosen"]
    outcome = task.published(facts.PLACEMENT_OUTCOME)
    if outcome is not None:
        tags["dataops.ran_on"] = outcome.get("ran_on")
        tags["dataops.failovers"] = len(outcome.get("failovers") or ())
        if outcome.get("image_digest"):
            tags["version.image_digest"] = outcome["image_digest"]
    result = task.published(facts.RESULT)
    if isinstance(result, dict):
        for name in _RESULT_FIELDS:
            if result.get(name) is not None:
                tags[f"dataops.{name}"] = result[name]
        cost = result.get("cost")
        if isinstance(cost, dict) and cost.get("actual") is not None:
            tags["dataops.cost"] = cost["actual"]
        circuit = result.get("circuit")
        if isinstance(circuit, dict) and circuit.get("fingerprint"):
            tags["version.circuit_fingerprint"] = circuit["fingerprint"]
    return tags


def dag_run_record(dag_run: Any, state: str) -> LineageRecord:
    """The record of a finished DAG run, from what is loaded on it (it is the scheduler's ORM object)."""
    dag_id, run_id, start = _loaded(dag_run, "dag_id"), _loaded(dag_run, "run_id"), _loaded(dag_run, "start_date")
    return LineageRecord.build(
        key=dag_run_key(dag_id, run_id),
        experiment=f"airflow/{dag_id}",
        run_name=str(run_id),
        status=_STATUS.get(state, "FAILED"),
        start_ms=_ms(start),
        end_ms=_ms(_loaded(dag_run, "end_date") or datetime.now(tz=start.tzinfo if start else None)),
        tags={
            "airflow.dag_id": dag_id,
            "airflow.run_id": run_id,
            "airflow.run_type": str(_loaded(dag_run, "run_type", "")),
            "airflow.state": state,
            "airflow.bundle_version": _loaded(dag_run, "bundle_version"),
        },
        params={"conf": _redacted(_loaded(dag_run, "conf") or {})},
    )


def _record_in_task(ti: Any, state: str) -> None:
    """Spool the task's record and send the spool before the task ends, within the send timeout; never raise."""
    from airflow_dataops.lineage.delivery import connected_hook, send_within
    from airflow_dataops.lineage.settings import send_timeout
    from airflow_dataops.lineage.spool import Spool

    try:
        hook = connected_hook()
        if hook is None:
            return
        folder = spool_folder()
        spool = Spool(folder)
        spool.put(task_record(ti, state))
        seconds = send_timeout()
        finished = send_within(spool, hook, seconds)
        problem, waiting = spool.problem(), spool.pending()
        if problem:
            log.warning("MLflow lineage is not delivered: %s. %d records wait in %s", problem, waiting, folder)
        elif not finished:
            log.warning(
                "MLflow lineage: the tracking server took longer than %g s ([dataops] lineage_send_timeout); "
                "%d records wait in %s and go with the next send", seconds, waiting, folder,
            )  # fmt: skip
    except Exception as error:
        log.warning("MLflow lineage: the record was not made: %s", error)
        return
    from airflow_dataops.lineage.backlog import report_backlog

    report_backlog(folder, waiting, problem, ti)  # the backlog gauge, and a notification when it grows


def _record_in_server(build: Any, source: Any, state: str) -> None:
    """Build the record from what is loaded and hand it to the background sender; never block, never raise."""
    try:
        from airflow_dataops.lineage.delivery import BackgroundSender

        BackgroundSender.submit(build(source, state))
    except Exception as error:
        log.warning("MLflow lineage: the record was not made: %s", error)


def _task_ended(ti: Any, state: str) -> None:
    if _orm_state(ti) is None:
        _record_in_task(ti, state)
    else:  # failed by the scheduler or through the API: a server process
        _record_in_server(task_record, ti, state)


@hookimpl
def on_task_instance_success(previous_state: Any, task_instance: Any) -> None:
    """A task try succeeded."""
    _task_ended(task_instance, "success")


@hookimpl
def on_task_instance_failed(previous_state: Any, task_instance: Any, error: Any) -> None:
    """A task try failed (or will be retried)."""
    _task_ended(task_instance, "failed")


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    """A DAG run succeeded."""
    _record_in_server(dag_run_record, dag_run, "success")


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    """A DAG run failed."""
    _record_in_server(dag_run_record, dag_run, "failed")
