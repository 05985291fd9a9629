"""What the page reads from Airflow: the records tasks left (XCom, task instances, task state) and the live targets.

Everything is read, nothing written. The records become
:class:`~airflow_dataops.ui.overview.TaskRun` values for the pure summaries; the
targets are probed through :class:`~airflow_dataops.hooks.supercluster.SuperclusterHook`
with a short timeout, so a target that does not answer is shown as unreachable and
never holds the page up for longer than that timeout.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_dataops.core import facts
from airflow_dataops.core.placement.decision import LiveState
from airflow_dataops.core.placement.supercluster import Supercluster
from airflow_dataops.ui.overview import TaskRun

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

_XCOM_KEYS = tuple(fact.key for fact in facts.PAGE_FACTS)
DEFAULT_PROBE_TIMEOUT = 2.0

TiKey = tuple[str, str, str, int]


def declaration_paths() -> list[Path]:
    """The declarations the page shows: every one of the deployment's local DAG bundles.

    ``AIRFLOW_DATAOPS_SUPERCLUSTER`` names one (the operator's default too; a relative path
    is taken from the dags folder). Otherwise every YAML file under the dags folder and
    the folders of the configured local bundles that declares ``targets`` is shown, so
    each declaration a task may name has its rows; with none found, the default
    ``supercluster.yaml`` of the dags folder (shown as missing).
    """
    from airflow.providers.common.compat.sdk import conf

    dags_folder = Path(conf.get("core", "dags_folder"))
    given = os.environ.get("AIRFLOW_DATAOPS_SUPERCLUSTER")
    if given:
        return [Path(given) if Path(given).is_absolute() else dags_folder / given]
    found = [path for folder in _bundle_folders(dags_folder) for path in _declarations_under(folder)]
    return sorted(dict.fromkeys(found)) or [dags_folder / "supercluster.yaml"]


def _bundle_folders(dags_folder: Path) -> list[Path]:
    """The dags folder and the folders of the deployment's local bundles, as Airflow's bundle manager builds them.

    Git and other remote bundles are left out: their files are not on the api-server's disk.
    """
    from airflow.dag_processing.bundles.local import LocalDagBundle
    from airflow.dag_processing.bundles.manager import DagBundlesManager

    folders = [dags_folder]
    for bundle in DagBundlesManager().get_all_dag_bundles():  # type: ignore[no-untyped-call]
        if isinstance(bundle, LocalDagBundle):
            folders.append(Path(bundle.path))
    return [folder.resolve() for folder in folders if folder.is_dir()]


def _declarations_under(folder: Path, max_bytes: int = 1_000_000) -> list[Path]:
    """YAML files under ``folder`` whose top level declares ``targets`` (a supercluster declaration)."""
    from airflow_dataops.core.fast_yaml import safe_load

    found = []
    for path in sorted([*folder.rglob("*.yaml"), *folder.rglob("*.yml")]):
        try:
            if path.stat().st_size > max_bytes:
                continue
            data = safe_load(path.read_text())
        except Exception:  # not YAML, unreadable: not a declaration
            continue
        if isinstance(data, dict) and "targets" in data:
            found.append(path.resolve())
    return found


def probe_timeout() -> float:
    """Seconds each target has to answer the page's probe (``[dataops] ui_probe_timeout``, default 2)."""
    from airflow_dataops.config import option

    return float(option("ui_probe_timeout") or DEFAULT_PROBE_TIMEOUT)


@dataclass
class Targets:
    """The declaration (or why it could not be read) and what the probe saw of each target."""

    path: Path
    supercluster: Supercluster | None = None
    error: str | None = None
    live: dict[str, LiveState] = field(default_factory=dict)


def probe_targets(path: Path, timeout: float) -> Targets:
    """Load the declaration and probe its Kubernetes targets; problems become messages, never errors."""
    from airflow_dataops.hooks.supercluster import SuperclusterHook

    found = Targets(path)
    hook = SuperclusterHook(path, probe_timeout=timeout)
    try:
        found.supercluster = hook.supercluster
    except Exception as error:  # a missing or invalid declaration is shown, not raised
        found.error = f"{type(error).__name__}: {error}"
        return found
    if any(t.kind == "kubernetes" for t in found.supercluster.targets):
        _load_probe_modules()
    # A probe failure (missing connection, refused, slow) is already an unreachable LiveState.
    found.live = hook.live_states()
    return found


def _load_probe_modules() -> None:
    """Import the Kubernetes clients before probing: their first import (about 2 s) must not eat the timeout."""
    import airflow.providers.cncf.kubernetes.hooks.kubernetes  # noqa: F401
    import kubernetes_asyncio.client  # noqa: F401


def _xcom_backend() -> Any:
    """The deployment's XCom backend (``[core] xcom_backend``), else Airflow's own."""
    from airflow.providers.common.compat.sdk import conf
    from airflow.sdk import BaseXCom

    return conf.getimport("core", "xcom_backend", fallback=None) or BaseXCom


def _value(row: Any, backend: Any) -> Any:
    """A stored XCom value as the task published it: through the deployment's backend.

    A custom backend (values in object storage, say) keeps a reference in the database;
    its ``deserialize_value`` turns the reference back into the value.
    """
    try:
        return backend.deserialize_value(row)
    except Exception:  # a value the backend cannot read is shown as missing, never breaks the page
        return None


def task_runs(session: Session, since: datetime, dag_ids: Collection[str] | None) -> list[TaskRun]:
    """The task tries since ``since`` that left a placement or a quantum record, with their timing.

    ``dag_ids`` limits the result to the DAGs the reader may see (``None``: all).
    """
    from airflow.models.task_state_store import TaskStateStoreModel
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from sqlalchemy import select, tuple_

    query = select(XComModel).where(XComModel.key.in_(_XCOM_KEYS), XComModel.timestamp >= since)
    if dag_ids is not None:
        query = query.where(XComModel.dag_id.in_(list(dag_ids)))
    values: dict[TiKey, dict[str, Any]] = {}
    backend = _xcom_backend()
    for row in session.scalars(query):
        values.setdefault((row.dag_id, row.run_id, row.task_id, row.map_index), {})[row.key] = _value(row, backend)
    if not values:
        return []
    keys = list(values)
    instances = {
        (ti.dag_id, ti.run_id, ti.task_id, ti.map_index): ti
        for ti in session.scalars(
            select(TaskInstance).where(
                tuple_(TaskInstance.dag_id, TaskInstance.run_id, TaskInstance.task_id, TaskInstance.map_index).in_(keys)
            )
        )
    }
    ran_on: dict[TiKey, str] = {}
    for state in session.scalars(
        select(TaskStateStoreModel).where(
            TaskStateStoreModel.key == facts.POD_RECORD_KEY,
            tuple_(
                TaskStateStoreModel.dag_id,
                TaskStateStoreModel.run_id,
                TaskStateStoreModel.task_id,
                TaskStateStoreModel.map_index,
            ).in_(keys),
        )
    ):
        target = _stored_target(state.value)
        if target:
            ran_on[(state.dag_id, state.run_id, state.task_id, state.map_index)] = target
    return [_task_run(key, found, instances.get(key), ran_on.get(key)) for key, found in values.items()]


def _stored_target(raw: str) -> str | None:
    try:
        record = json.loads(raw)
    except (TypeError, ValueError):
        return None
    return str(record["target"]) if isinstance(record, dict) and record.get("target") else None


def _task_run(key: TiKey, found: dict[str, Any], ti: Any, ran_on: str | None) -> TaskRun:
    dag_id, run_id, task_id, map_index = key
    placement = found.get(facts.PLACEMENT.key)
    outcome = found.get(facts.PLACEMENT_OUTCOME.key)
    decision = found.get(facts.QUANTUM_DECISION.key)
    cost = found.get(facts.QUANTUM_COST.key)
    budget = found.get(facts.QUANTUM_BUDGET.key)
    return TaskRun(
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        map_index=map_index,
        try_number=int(ti.try_number) if ti is not None else 1,
        state=str(ti.state) if ti is not None and ti.state is not None else None,
        start=ti.start_date if ti is not None else None,
        end=ti.end_date if ti is not None else None,
        placement=placement if isinstance(placement, dict) else None,
        outcome=outcome if isinstance(outcome, dict) else None,
        ran_on=ran_on,
        quantum_cost=float(cost) if isinstance(cost, int | float) else None,
        quantum_backend=str(decision["chosen"]) if isinstance(decision, dict) and decision.get("chosen") else None,
        quantum_budget=budget if isinstance(budget, dict) else None,
    )


def quantum_daily_budget() -> float | None:
    """``[dataops] quantum_daily_budget``: dollars of quantum spend per UTC day the page compares against."""
    from airflow_dataops.config import option

    raw = (option("quantum_daily_budget") or "").strip()
    return float(raw) if raw else None
