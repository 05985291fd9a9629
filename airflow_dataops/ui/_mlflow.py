"""Links into MLflow: the tracking server of the ``mlflow`` connection and the run of a task try.

Runs are found by the ``airflow_dataops.key`` tag the lineage listener puts on them,
through MLflow's REST API with a short timeout (MLflow's own client retries a dead
server for minutes, which a web page cannot wait for).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from airflow_dataops.core.lineage import KEY_TAG
from airflow_dataops.ui.overview import mlflow_run_url

TIMEOUT = 3.0


class MlflowLookupError(LookupError):
    """The run could not be found; the message says why (not configured, no answer, not recorded yet)."""


@dataclass(frozen=True)
class MlflowTarget:
    """Where lineage goes: the connection, its tracking URI and the experiment override."""

    conn_id: str
    tracking_uri: str
    experiment_override: str | None
    authorization: str | None

    @property
    def browsable(self) -> bool:
        """Whether the tracking URI is a server with a web UI (a local store has none)."""
        return self.tracking_uri.startswith(("http://", "https://"))

    def experiment(self, dag_id: str) -> str:
        """The experiment of ``dag_id``'s runs (as the listener names it)."""
        return self.experiment_override or f"airflow/{dag_id}"


def mlflow_target() -> MlflowTarget:
    """The ``mlflow`` connection lineage goes to; raises :class:`MlflowLookupError` when there is none."""
    from airflow_dataops.hooks.mlflow import MlflowHook
    from airflow_dataops.lineage.settings import mlflow_conn_id

    conn_id = mlflow_conn_id()
    hook = MlflowHook(conn_id)
    try:
        conn = hook.get_connection(conn_id)
        uri = hook.tracking_uri
    except Exception as error:  # missing or unusable connection: lineage is off
        raise MlflowLookupError(f"no usable MLflow connection {conn_id!r} ({error})") from None
    return MlflowTarget(conn_id, uri, hook.experiment_override, _authorization(conn.login, conn.password))


def _authorization(login: str | None, password: str | None) -> str | None:
    from airflow_dataops.lineage.mlflow_auth import authorization_header

    return authorization_header(login, password)


def _call(target: MlflowTarget, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    url = f"{target.tracking_uri.rstrip('/')}/api/2.0/mlflow/{path}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    if target.authorization:
        request.add_header("Authorization", target.authorization)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            found: dict[str, Any] = json.loads(answer.read() or b"{}")
            return found
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return {}
        raise MlflowLookupError(f"MLflow at {target.tracking_uri} answered {error.code} {error.reason}") from None
    except (OSError, ValueError) as error:
        raise MlflowLookupError(f"MLflow at {target.tracking_uri} did not answer ({error})") from None


def run_url(target: MlflowTarget, dag_id: str, key: str) -> str:
    """The MLflow UI page of the run tagged ``key`` in ``dag_id``'s experiment."""
    if not target.browsable:
        raise MlflowLookupError(
            f"the MLflow tracking URI {target.tracking_uri} is a local store without a web UI; "
            f"open it with `mlflow ui --backend-store-uri {target.tracking_uri}`"
        )
    if "'" in key:
        raise MlflowLookupError(f"the lineage key {key!r} cannot be searched for (it contains a quote)")
    name = target.experiment(dag_id)
    experiment = _call(target, "experiments/get-by-name?" + urllib.parse.urlencode({"experiment_name": name}))
    experiment_id = (experiment.get("experiment") or {}).get("experiment_id")
    if not experiment_id:
        raise MlflowLookupError(f"MLflow has no experiment {name!r} yet (lineage may still be on its way)")
    search = {
        "experiment_ids": [experiment_id],
        "filter": f"tags.`{KEY_TAG}` = '{key}'",
        "max_results": 1,
        "order_by": ["attributes.start_time ASC"],
    }
    runs = _call(target, "runs/search", search).get("runs") or []
    if not runs:
        raise MlflowLookupError(f"MLflow has no run tagged {KEY_TAG}={key} yet (lineage may still be on its way)")
    return mlflow_run_url(target.tracking_uri, str(experiment_id), str(runs[0]["info"]["run_id"]))
