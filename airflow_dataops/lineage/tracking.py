"""The eight MLflow tracking calls that writing a lineage record needs, over two transports.

A task sends its own record before it ends (see :mod:`airflow_dataops.lineage.delivery`),
so the writer's start-up cost is paid by every task. MLflow's Python client costs about
3 s of imports on a small machine; a tracking *server* answers the same calls over its
documented REST API (``/api/2.0/mlflow/...``), which the standard library speaks in
milliseconds. So:

- :class:`RestTracking` for ``http(s)://`` tracking URIs: MLflow's REST API, with the
  connection's ``Authorization`` header on each request;
- :class:`ClientTracking` for local stores (``sqlite:///``, a folder): MLflow's own client.

Both are tested against the real thing: ``mlflow server`` and MLflow's SQLite store.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any, Protocol

from typing_extensions import override

Metric = tuple[str, float, int, int]  # key, value, timestamp (ms), step


class Tracking(Protocol):
    """What :meth:`~airflow_dataops.hooks.mlflow.MlflowHook.write` needs of MLflow."""

    def experiment_by_name(self, name: str) -> str | None:
        """The id of experiment ``name``, or None."""

    def create_experiment(self, name: str) -> str:
        """Create experiment ``name``; return its id."""

    def runs_tagged(self, experiment_id: str, tag: str, value: str) -> list[str]:
        """Ids of the runs whose tag ``tag`` is ``value``, oldest first."""

    def delete_run(self, run_id: str) -> None:
        """Delete a run."""

    def create_run(self, experiment_id: str, start_ms: int, tags: dict[str, str], name: str) -> str:
        """Create a run; return its id."""

    def log_batch(self, run_id: str, metrics: list[Metric], params: dict[str, str], tags: dict[str, str]) -> None:
        """Log metrics, params and tags (at most MLflow's batch size of each)."""

    def log_inputs(self, run_id: str, datasets: Sequence[dict[str, str]]) -> None:
        """Log dataset inputs, each with its ``mlflow.data.context`` tag."""

    def set_terminated(self, run_id: str, status: str, end_ms: int) -> None:
        """End a run with ``status``."""


class TrackingError(RuntimeError):
    """The tracking server refused a call; the message carries its status and error code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code = status, code


class RestTracking(Tracking):
    """MLflow's REST API (``/api/2.0/mlflow``) over the standard library."""

    def __init__(self, tracking_uri: str, authorization: str | None, timeout: float = 30.0) -> None:
        self.base = tracking_uri.rstrip("/") + "/api/2.0/mlflow"
        self.authorization, self.timeout = authorization, timeout

    def answers(self, timeout: float) -> bool:
        """Whether the server's ``/health`` answers 200 within ``timeout`` seconds."""
        request = urllib.request.Request(self.base.removesuffix("/api/2.0/mlflow") + "/health")
        if self.authorization:
            request.add_header("Authorization", self.authorization)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None, **query: str) -> dict[str, Any]:
        url = f"{self.base}/{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        request = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode())
        request.add_header("Content-Type", "application/json")
        if self.authorization:
            request.add_header("Authorization", self.authorization)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                text = answer.read()
        except urllib.error.HTTPError as error:
            raw = error.read().decode(errors="replace")
            try:
                found = json.loads(raw)
                code, message = str(found.get("error_code", "")), str(found.get("message", raw))
            except ValueError:
                code, message = "", raw[:300] or str(error.reason)
            raise TrackingError(error.code, code or str(error.reason), message) from None
        return dict(json.loads(text)) if text else {}

    @override
    def experiment_by_name(self, name: str) -> str | None:
        try:
            found = self._call("GET", "experiments/get-by-name", experiment_name=name)
        except TrackingError as error:
            if error.code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise
        return str(found["experiment"]["experiment_id"])

    @override
    def create_experiment(self, name: str) -> str:
        return str(self._call("POST", "experiments/create", {"name": name})["experiment_id"])

    @override
    def runs_tagged(self, experiment_id: str, tag: str, value: str) -> list[str]:
        found = self._call(
            "POST",
            "runs/search",
            {
                "experiment_ids": [experiment_id],
                "filter": f"tags.`{tag}` = '{value}'",
                "order_by": ["attributes.start_time ASC"],
                "max_results": 1000,
            },
        )
        return [str(run["info"]["run_id"]) for run in found.get("runs", [])]

    @override
    def delete_run(self, run_id: str) -> None:
        self._call("POST", "runs/delete", {"run_id": run_id})

    @override
    def create_run(self, experiment_id: str, start_ms: int, tags: dict[str, str], name: str) -> str:
        body = {"experiment_id": experiment_id, "start_time": start_ms, "run_name": name, "tags": _pairs(tags)}
        return str(self._call("POST", "runs/create", body)["run"]["info"]["run_id"])

    @override
    def log_batch(self, run_id: str, metrics: list[Metric], params: dict[str, str], tags: dict[str, str]) -> None:
        self._call(
            "POST",
            "runs/log-batch",
            {
                "run_id": run_id,
                "metrics": [{"key": k, "value": v, "timestamp": t, "step": s} for k, v, t, s in metrics],
                "params": _pairs(params),
                "tags": _pairs(tags),
            },
        )

    @override
    def log_inputs(self, run_id: str, datasets: Sequence[dict[str, str]]) -> None:
        inputs = [
            {
                "dataset": {k: d[k] for k in ("name", "digest", "source")} | {"source_type": "airflow_asset"},
                "tags": [{"key": "mlflow.data.context", "value": d["context"]}],
            }
            for d in datasets
        ]
        self._call("POST", "runs/log-inputs", {"run_id": run_id, "datasets": inputs})

    @override
    def set_terminated(self, run_id: str, status: str, end_ms: int) -> None:
        self._call("POST", "runs/update", {"run_id": run_id, "status": status, "end_time": end_ms})


def _pairs(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in values.items()]


class ClientTracking(Tracking):
    """MLflow's own client, for tracking URIs that are local stores rather than servers."""

    def __init__(self, client: Any) -> None:
        self.client = client

    @override
    def experiment_by_name(self, name: str) -> str | None:
        found = self.client.get_experiment_by_name(name)
        return None if found is None else str(found.experiment_id)

    @override
    def create_experiment(self, name: str) -> str:
        return str(self.client.create_experiment(name))

    @override
    def runs_tagged(self, experiment_id: str, tag: str, value: str) -> list[str]:
        runs = self.client.search_runs(
            [experiment_id], filter_string=f"tags.`{tag}` = '{value}'", order_by=["attributes.start_time ASC"]
        )
        return [str(run.info.run_id) for run in runs]

    @override
    def delete_run(self, run_id: str) -> None:
        self.client.delete_run(run_id)

    @override
    def create_run(self, experiment_id: str, start_ms: int, tags: dict[str, str], name: str) -> str:
        return str(self.client.create_run(experiment_id, start_time=start_ms, tags=tags, run_name=name).info.run_id)

    @override
    def log_batch(self, run_id: str, metrics: list[Metric], params: dict[str, str], tags: dict[str, str]) -> None:
        from mlflow.entities import Metric as MlflowMetric
        from mlflow.entities import Param, RunTag

        self.client.log_batch(
            run_id,
            metrics=[MlflowMetric(k, v, t, s) for k, v, t, s in metrics],
            params=[Param(k, v) for k, v in params.items()],
            tags=[RunTag(k, v) for k, v in tags.items()],
        )

    @override
    def log_inputs(self, run_id: str, datasets: Sequence[dict[str, str]]) -> None:
        from mlflow.entities import Dataset, DatasetInput, InputTag

        self.client.log_inputs(
            run_id,
            datasets=[
                DatasetInput(
                    Dataset(name=d["name"], digest=d["digest"], source_type="airflow_asset", source=d["source"]),
                    tags=[InputTag("mlflow.data.context", d["context"])],
                )
                for d in datasets
            ],
        )

    @override
    def set_terminated(self, run_id: str, status: str, end_ms: int) -> None:
        self.client.set_terminated(run_id, status=status, end_time=end_ms)
