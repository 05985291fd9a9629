"""The overview FastAPI app, mounted by the provider's plugin under ``/dataops`` in the api-server.

Read-only: GET routes only. Every route requires read access to DAGs through Airflow's
own auth manager (``requires_access_dag("GET")``, the dependency of the core API's DAG
routes), and the records shown are those of the DAGs the reader may see. Routes:

- ``/``: the page (server-rendered HTML, from the Jinja templates in ``templates/``);
- ``/api/overview``: the same data as JSON;
- ``/mlflow/run?dag_id=..&run_id=..&task_id=..&map_index=..&try_number=..``: redirects to
  the task try's MLflow run (the DAG named by ``dag_id`` must be readable).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from fastapi import Depends, FastAPI, Query
from fastapi.responses import HTMLResponse, RedirectResponse

from airflow_dataops.ui import _html, _mlflow, _records
from airflow_dataops.ui import overview as core

app = FastAPI(
    title="airflow-dataops: the supercluster at a glance",
    description="Read-only view of the supercluster's targets, spend, placement decisions and quantum budgets.",
    docs_url=None,
    redoc_url=None,
)

#: Anyone allowed to read DAGs may read the page; the DAG of a query's ``dag_id`` is checked when given.
READERS = [Depends(requires_access_dag("GET"))]
WindowDays = Query(7, ge=1, le=90, description="days of decisions and spend to show")


def build_overview(session: Any, user: Any, days: int, now: datetime | None = None) -> dict[str, Any]:
    """Everything the page shows, as plain data (the JSON route returns it as is)."""
    now = now or datetime.now(UTC)
    readable = get_auth_manager().get_authorized_dag_ids(user=user, method="GET", session=session)
    runs = _records.task_runs(session, now - timedelta(days=days), readable)
    spend = core.summarise_spend(runs, now)
    timeout = _records.probe_timeout()
    declarations = []
    for path in _records.declaration_paths():
        found = _records.probe_targets(path, timeout)
        rows = core.target_rows(found.supercluster, found.live, spend.per_target_today) if found.supercluster else []
        declarations.append({"path": str(found.path), "error": found.error, "targets": [t.to_dict() for t in rows]})
    spend_data = spend.to_dict()
    spend_data["per_dag"] = {d: spend_data["per_dag"][d] for d in core.ordered_dags(spend.per_dag)}
    return {
        "generated_at": now.isoformat(timespec="seconds"),
        "window_days": days,
        "probe_timeout": timeout,
        "declarations": declarations,
        "spend": spend_data,
        "decisions": [d.to_dict() for d in core.recent_decisions(runs, now)],
        "quantum": {
            "daily_budget": _records.quantum_daily_budget(),
            "spent_today": round(spend.today.quantum, 6),
            "runs": [r.to_dict() for r in core.quantum_spend(runs)],
        },
        "mlflow": _mlflow_summary(),
    }


def _mlflow_summary() -> dict[str, Any]:
    try:
        target = _mlflow.mlflow_target()
    except _mlflow.MlflowLookupError as error:
        return {"error": str(error), "browsable": False}
    return {"conn_id": target.conn_id, "tracking_uri": target.tracking_uri, "browsable": target.browsable}


@app.get("/", response_class=HTMLResponse, dependencies=READERS, summary="The overview page")
def page(user: GetUserDep, session: SessionDep, days: int = WindowDays) -> HTMLResponse:
    """The supercluster at a glance, as HTML."""
    return HTMLResponse(_html.render(build_overview(session, user, days)))


@app.get("/api/overview", dependencies=READERS, summary="The overview as JSON")
def overview(user: GetUserDep, session: SessionDep, days: int = WindowDays) -> dict[str, Any]:
    """What the page shows, as JSON."""
    return build_overview(session, user, days)


@app.get("/mlflow/run", dependencies=READERS, summary="Redirect to a task try's MLflow run", response_model=None)
def mlflow_run(
    dag_id: str, run_id: str, task_id: str, map_index: int = -1, try_number: int = 1
) -> RedirectResponse | HTMLResponse:
    """The MLflow run of one task try (found by its lineage key), or a page saying why there is none."""
    key = core.lineage_task_key(dag_id, run_id, task_id, map_index, try_number)
    try:
        url = _mlflow.run_url(_mlflow.mlflow_target(), dag_id, key)
    except _mlflow.MlflowLookupError as error:
        return HTMLResponse(_html.render_missing_run(str(error)), status_code=404)
    return RedirectResponse(url, status_code=302)
