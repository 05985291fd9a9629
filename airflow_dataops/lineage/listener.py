"""The lineage listener: every DAG run and task try becomes an MLflow run, for DAGs that never mention MLflow.

Shipped in the provider's plugin, it does nothing until an ``mlflow`` connection exists
(``[dataops] mlflow_conn_id``, default ``mlflow_default``). Then, when a task try ends,
it builds a :class:`~airflow_dataops.core.lineage.LineageRecord` (tags naming the try,
the task's rendered templated fields as params with secrets redacted, its duration, and
what this provider decided: the cluster, the quantum backend and cost, the query and
table), writes it to the local spool and starts a detached sender process. When
MLflow is down the records wait on disk and go with the next send. Lineage never fails
a task: every error here is logged as a warning.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import datetime
from typing import Any

from airflow.listeners import hookimpl

from airflow_dataops.core.lineage import LineageRecord, dataset

log = logging.getLogger(__name__)
#: Sender processes started by this process, kept so that they are reaped (long-lived schedulers).
_SENDERS: list[subprocess.Popen[bytes]] = []
_STATUS = {"success": "FINISHED", "failed": "FAILED", "up_for_retry": "FAILED", "skipped": "KILLED"}
#: XCom keys and fields this provider's operators leave, shown as tags (small) or params (text).
_PROVIDER_FACTS = {
    "placement": ("chosen", "dataops.cluster"),
    "quantum_decision": ("chosen", "dataops.quantum_backend"),
}
_RESULT_FIELDS = ("backend", "task_id", "shots", "table", "rows", "asset_uri", "query_id")
#: How often each hook-lineage entry had been reported at the last task's end: a task owns
#: the entries whose count grew since (``dag.test`` runs many tasks in one process).
_SEEN: dict[tuple[str, str, int], int] = {}


def _setting(name: str, fallback: str) -> str:
    from airflow.providers.common.compat.sdk import conf

    return str(conf.get("dataops", name, fallback=fallback))


def _setting_of(section: str, name: str) -> str | None:
    from airflow.providers.common.compat.sdk import conf

    value = conf.get(section, name, fallback=None)
    return str(value) if value else None


def mlflow_conn_id() -> str:
    """The connection lineage goes to."""
    return _setting("mlflow_conn_id", "mlflow_default")


def spool_folder() -> str:
    """Where records wait until MLflow has them (``[dataops] lineage_spool``)."""
    home = os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow"))
    return _setting("lineage_spool", os.path.join(home, "dataops", "lineage-spool"))


def _configured() -> bool:
    from airflow.providers.common.compat.sdk import BaseHook

    try:
        BaseHook.get_connection(mlflow_conn_id())
    except Exception:
        return False
    return True


def _ms(moment: datetime | None) -> int:
    return int(moment.timestamp() * 1000) if moment else 0


def dag_run_key(dag_id: str, run_id: str) -> str:
    """The record key of a DAG run."""
    return f"dagrun:{dag_id}/{run_id}"


def _redacted(value: Any) -> Any:
    from airflow.sdk._shared.secrets_masker import redact

    return redact(value)


def task_record(ti: Any, state: str) -> LineageRecord:
    """The record of a finished task try (``ti`` is Airflow's RuntimeTaskInstance)."""
    task = ti.task
    tags: dict[str, Any] = {
        "airflow.dag_id": ti.dag_id,
        "airflow.run_id": ti.run_id,
        "airflow.task_id": ti.task_id,
        "airflow.try_number": ti.try_number,
        "airflow.map_index": ti.map_index,
        "airflow.operator": type(task).__name__,
        "airflow.queue": getattr(task, "queue", None),
        "airflow.executor": getattr(task, "executor", None) or _setting_of("core", "executor"),
        "airflow.state": state,
        "airflow.bundle_name": getattr(getattr(ti, "bundle_instance", None), "name", None),
        "airflow.bundle_version": getattr(getattr(ti, "bundle_instance", None), "version", None),
    }
    params = {f"template.{f}": _redacted(getattr(task, f, None)) for f in getattr(task, "template_fields", ())}
    tags.update(job_versions(task))
    if type(task).__module__.startswith("airflow_dataops."):
        tags.update(_provider_facts(ti))
    end = ti.end_date or datetime.now(tz=ti.start_date.tzinfo)
    version = f"{ti.dag_id}/{ti.run_id}/{ti.task_id}/{ti.map_index}/{ti.try_number}"
    map_suffix = f"[{ti.map_index}]" if ti.map_index >= 0 else ""
    return LineageRecord.build(
        key=f"ti:{ti.dag_id}/{ti.run_id}/{ti.task_id}/{ti.map_index}/{ti.try_number}",
        parent_key=dag_run_key(ti.dag_id, ti.run_id),
        experiment=f"airflow/{ti.dag_id}",
        run_name=f"{ti.task_id}{map_suffix} try {ti.try_number}",
        status=_STATUS.get(state, "FAILED"),
        start_ms=_ms(ti.start_date),
        end_ms=_ms(end),
        tags=tags,
        params=params,
        metrics={"duration_s": (end - ti.start_date).total_seconds()} if ti.start_date else {},
        datasets=_datasets(task, version),
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


def _provider_facts(ti: Any) -> dict[str, Any]:
    """What this provider's operators decided, read back from their XCom."""
    facts: dict[str, Any] = {}
    for key, (field, tag) in _PROVIDER_FACTS.items():
        value = ti.xcom_pull(task_ids=ti.task_id, key=key, map_indexes=ti.map_index)
        if isinstance(value, dict) and value.get(field):
            facts[tag] = value[field]
    outcome = ti.xcom_pull(task_ids=ti.task_id, key="placement_outcome", map_indexes=ti.map_index)
    if isinstance(outcome, dict):
        facts["dataops.ran_on"] = outcome.get("ran_on")
        facts["dataops.failovers"] = len(outcome.get("failovers") or ())
        if outcome.get("image_digest"):
            facts["version.image_digest"] = outcome["image_digest"]
    result = ti.xcom_pull(task_ids=ti.task_id, map_indexes=ti.map_index)
    if isinstance(result, dict):
        for name in _RESULT_FIELDS:
            if result.get(name) is not None:
                facts[f"dataops.{name}"] = result[name]
        cost = result.get("cost")
        if isinstance(cost, dict) and cost.get("actual") is not None:
            facts["dataops.cost"] = cost["actual"]
        circuit = result.get("circuit")
        if isinstance(circuit, dict) and circuit.get("fingerprint"):
            facts["version.circuit_fingerprint"] = circuit["fingerprint"]
    return facts


def dag_run_record(dag_run: Any, state: str) -> LineageRecord:
    """The record of a finished DAG run."""
    return LineageRecord.build(
        key=dag_run_key(dag_run.dag_id, dag_run.run_id),
        experiment=f"airflow/{dag_run.dag_id}",
        run_name=str(dag_run.run_id),
        status=_STATUS.get(state, "FAILED"),
        start_ms=_ms(dag_run.start_date),
        end_ms=_ms(dag_run.end_date or datetime.now(tz=dag_run.start_date.tzinfo)),
        tags={
            "airflow.dag_id": dag_run.dag_id,
            "airflow.run_id": dag_run.run_id,
            "airflow.run_type": str(getattr(dag_run, "run_type", "")),
            "airflow.state": state,
            "airflow.bundle_version": getattr(dag_run, "bundle_version", None),
        },
        params={"conf": _redacted(getattr(dag_run, "conf", None) or {})},
    )


def send_spool() -> int:
    """Send what waits in the spool, oldest first, after any running sender; return how many were sent."""
    from airflow_dataops.lineage.spool import Spool

    spool = Spool(spool_folder())
    with spool.sending(wait=True):  # a file lock: it also orders threads of one process
        return send_unlocked(spool)


def send_unlocked(spool: Any) -> int:
    """Send ``spool`` (its sender lock held by the caller); stop at the first failure.

    A failure is noted in the spool, so that the next task's log says why lineage waits.
    """
    from airflow_dataops.hooks.mlflow import MlflowHook
    from airflow_dataops.lineage.spool import Spool

    conn_id = mlflow_conn_id()
    hook, sent = MlflowHook(conn_id), 0
    if spool.pending() and not hook.reachable():
        spool.note_problem(
            f"{hook.tracking_uri} does not answer; check that the tracking server runs and that connection "
            f"{conn_id!r} names it (host and port, or the tracking_uri extra)"
        )
        log.warning("MLflow lineage: %s", spool.problem())
        return 0
    for claimed, record in spool.claim():
        try:
            hook.write(record)
        except Exception as error:
            Spool.release(claimed)
            spool.note_problem(_explained(error, conn_id))
            log.warning("MLflow lineage: %s not sent: %s", record.key, spool.problem())
            return sent
        Spool.done(claimed)
        sent += 1
    spool.clear_problem()
    return sent


def _explained(error: Exception, conn_id: str) -> str:
    """What failed, and what to change."""
    text = " ".join(str(error).split())[:500]
    if any(code in text for code in ("401", "403", "Unauthorized", "Permission")):
        return (
            f"MLflow refused the credentials ({text}); check the login and password (or token) of "
            f"connection {conn_id!r}"
        )
    return f"{text}; the records wait in the spool and are sent again with the next task"


def _record(build: Any, *args: Any) -> None:
    """Spool a record and start the detached sender; never raise.

    The sender is a process of its own (``airflow_dataops.lineage._sender``): it outlives
    a task process that ends at once, and MLflow's client does not compete with the next
    task for this interpreter's lock.
    """
    try:
        if not _configured():
            return
        from airflow_dataops.lineage.spool import Spool

        folder = spool_folder()
        spool = Spool(folder)
        spool.put(build(*args))
        problem, waiting = spool.problem(), spool.pending()
        if problem:
            log.warning("MLflow lineage is not delivered: %s. %d records wait in %s", problem, waiting, folder)
        _SENDERS[:] = [sender for sender in _SENDERS if sender.poll() is None]  # reap the finished ones
        if not spool.sender_running():  # a running sender loops until the spool is empty: no second one
            sender = subprocess.Popen(
                [sys.executable, "-m", "airflow_dataops.lineage._sender", folder],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
            _SENDERS.append(sender)
    except Exception as error:
        log.warning("MLflow lineage: the record was not made: %s", error)
        return
    from airflow_dataops.lineage.backlog import report_backlog

    report_backlog(folder, waiting, problem, args[0])  # the backlog gauge, and a notification when it grows


@hookimpl
def on_task_instance_success(previous_state: Any, task_instance: Any) -> None:
    """A task try succeeded."""
    _record(task_record, task_instance, "success")


@hookimpl
def on_task_instance_failed(previous_state: Any, task_instance: Any, error: Any) -> None:
    """A task try failed (or will be retried)."""
    _record(task_record, task_instance, "failed")


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    """A DAG run succeeded."""
    _record(dag_run_record, dag_run, "success")


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    """A DAG run failed."""
    _record(dag_run_record, dag_run, "failed")
