"""MlflowHook: the ``mlflow`` connection and MLflow's own client, writing lineage records exactly once.

The connection names a tracking URI: ``host`` holding a full URI (``http://mlflow:5000``,
``sqlite:////var/mlflow/mlflow.db``), or host, port and ``schema`` (``http``/``https``);
the ``tracking_uri`` extra wins over both. The ``experiment`` extra puts every DAG in one
experiment; by default each DAG gets ``airflow/<dag_id>``. Credentials: login and password
are sent as basic auth (MLflow's own auth app); a password without a login is sent as a
bearer token. They travel only on this hook's requests (see
:mod:`airflow_dataops.lineage.mlflow_auth`), never through environment variables.

A record is written through :mod:`airflow_dataops.lineage.tracking` (MLflow's REST API
for a tracking server, MLflow's client for a local store): the run is looked up by the
record's key tag before one is created, params and tags are sent in batches of MLflow's
maximum size, and metrics carry the record's own timestamp and step 0, so sending a
record again (a replay from the spool) changes nothing.
"""

from __future__ import annotations

import functools
import logging
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from airflow.providers.common.compat.sdk import BaseHook

from airflow_dataops.core.errors import InvalidInputError
from airflow_dataops.core.lineage import KEY_TAG, LineageRecord
from airflow_dataops.lineage.mlflow_auth import authorization, authorization_header
from airflow_dataops.lineage.tracking import ClientTracking, RestTracking, Tracking, TrackingError

BATCH = 100  # MLflow's MAX_PARAMS_TAGS_PER_BATCH
HEALTH_TIMEOUT = 5.0  # seconds the "Test" button waits for the server's health check
log = logging.getLogger(__name__)


def _shown(uri: str) -> str:
    """``uri`` without credentials in its user-info part, fit for a message."""
    parts = urlsplit(uri)
    if "@" not in parts.netloc:
        return uri
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))


class _AuthorizedClient:
    """MLflow's client with every call made under the connection's ``Authorization`` header."""

    def __init__(self, client: Any, header: str | None) -> None:
        self._client, self._header = client, header

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if self._header is None or not callable(attribute):
            return attribute

        @functools.wraps(attribute)
        def call(*args: Any, **kwargs: Any) -> Any:
            with authorization(self._header):
                return attribute(*args, **kwargs)

        return call


class MlflowHook(BaseHook):
    """Write lineage records to the MLflow tracking server (or store) of an ``mlflow`` connection."""

    conn_name_attr = "mlflow_conn_id"
    default_conn_name = "mlflow_default"
    conn_type = "mlflow"
    hook_name = "MLflow"

    def __init__(self, mlflow_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.mlflow_conn_id = mlflow_conn_id
        self._experiments: dict[str, str] = {}

    @cached_property
    def connection(self) -> Any:
        """The ``mlflow`` connection, fetched once for every setting read from it."""
        return self.get_connection(self.mlflow_conn_id)

    @cached_property
    def tracking_uri(self) -> str:
        """The tracking URI the connection names."""
        conn = self.connection
        if conn.login and not conn.password:
            raise InvalidInputError(
                f"connection {self.mlflow_conn_id!r}", "password", "is empty while a username is set",
                "set the password (basic auth), or clear the username and put a token in the password",
            )  # fmt: skip
        extra = conn.extra_dejson
        if extra.get("tracking_uri"):
            return str(extra["tracking_uri"])
        host = conn.host or ""
        if "://" in host:
            return host
        if not host:
            raise InvalidInputError(
                f"connection {self.mlflow_conn_id!r}", "host", "is empty", "set the tracking server's URI"
            )
        return f"{conn.schema or 'http'}://{host}{f':{conn.port}' if conn.port else ''}"

    @cached_property
    def _authorization(self) -> str | None:
        conn = self.connection
        header = authorization_header(conn.login, conn.password)
        uri = urlsplit(self.tracking_uri)
        if header and uri.scheme == "http" and uri.hostname not in ("127.0.0.1", "localhost", "::1"):
            log.warning(
                "MLflow connection %r sends credentials over plain http to %s; use https",
                self.mlflow_conn_id, uri.hostname,
            )  # fmt: skip
        return header

    @cached_property
    def experiment_override(self) -> str | None:
        """One experiment for every DAG, if the connection says so."""
        value = self.connection.extra_dejson.get("experiment")
        return str(value) if value else None

    @cached_property
    def client(self) -> Any:
        """MLflow's own client on the connection's tracking URI."""
        from mlflow import MlflowClient

        return _AuthorizedClient(MlflowClient(tracking_uri=self.tracking_uri), self._authorization)

    def reachable(self, timeout: float = 3.0) -> bool:
        """Whether the tracking server answers its health check now (a local store always does).

        Asked before sending, so that a server that is down costs a refused connection,
        not a request timeout per record.
        """
        if not isinstance(self.tracking, RestTracking):
            return True
        return self.tracking.answers(timeout)

    @cached_property
    def tracking(self) -> Tracking:
        """How records are written: MLflow's REST API for a server, MLflow's client for a local store."""
        if self.tracking_uri.startswith(("http://", "https://")):
            return RestTracking(self.tracking_uri, self._authorization)
        return ClientTracking(self.client)

    def test_connection(self) -> tuple[bool, str]:
        """What Airflow's "Test" button runs: whether lineage can be written where the connection points.

        A tracking server must answer its health check and then accept the connection's
        credentials on a read of its REST API: MLflow's auth app lets ``/health`` through
        without credentials, so the health check alone says nothing about them. A local
        store must open with MLflow's client. Nothing is written.
        """
        try:
            uri = self.tracking_uri
        except InvalidInputError as error:
            return False, str(error)
        shown = _shown(uri)
        experiment = self.experiment_override or "Default"
        try:
            tracking = self.tracking
            if isinstance(tracking, RestTracking) and not tracking.answers(HEALTH_TIMEOUT):
                return False, (
                    f"The MLflow tracking server at {shown} did not answer its /health check within "
                    f"{HEALTH_TIMEOUT:g} s: check host, port and scheme, and that the server runs"
                )
            found = tracking.experiment_by_name(experiment)
        except TrackingError as error:
            if error.status in (401, 403):
                return False, (
                    f"The MLflow tracking server at {shown} refused the connection's credentials ({error}): "
                    "check the username and password, or the token"
                )
            return False, f"The MLflow tracking server at {shown} answered with an error: {error}"
        except ImportError as error:
            return False, f"{error}. A local store is opened with MLflow's client: install airflow-dataops[lineage]"
        except Exception as error:  # the client's own errors: a store that cannot be opened
            return False, f"MLflow could not open the store {shown}: {type(error).__name__}: {error}"
        if self.experiment_override is None:
            return True, f"Connected to MLflow at {shown} (each DAG records to its experiment airflow/<dag_id>)"
        state = "exists" if found is not None else "does not exist yet; the first record creates it"
        return True, f"Connected to MLflow at {shown} (experiment {experiment!r} {state})"

    def experiment_id(self, name: str) -> str:
        """The id of experiment ``name``, created if missing (a concurrent creation is tolerated)."""
        name = self.experiment_override or name
        if name not in self._experiments:
            found = self.tracking.experiment_by_name(name)
            if found is None:
                try:
                    found = self.tracking.create_experiment(name)
                except Exception:  # created meanwhile by another writer
                    found = self.tracking.experiment_by_name(name)
                    if found is None:
                        raise
            self._experiments[name] = found
        return self._experiments[name]

    def find_run(self, experiment_id: str, key: str) -> str | None:
        """The oldest run carrying ``key`` (the others, if a race made any, are deleted)."""
        runs = self.tracking.runs_tagged(experiment_id, KEY_TAG, key)
        for duplicate in runs[1:]:
            self.tracking.delete_run(duplicate)
        return runs[0] if runs else None

    def _run_for(self, experiment_id: str, key: str, name: str, start_ms: int, tags: dict[str, str]) -> str:
        run_id = self.find_run(experiment_id, key)
        if run_id is None:
            run_id = self.tracking.create_run(experiment_id, start_ms, {**tags, KEY_TAG: key}, name)
            run_id = self.find_run(experiment_id, key) or run_id  # another writer may have been first
        return run_id

    def write(self, record: LineageRecord) -> str:
        """Create or complete the run of ``record``; return its MLflow run id. Idempotent."""
        experiment_id = self.experiment_id(record.experiment)
        tags = dict(record.tags)
        if record.parent_key:
            parent_name = record.parent_key.split("/", 1)[-1]
            tags["mlflow.parentRunId"] = self._run_for(
                experiment_id, record.parent_key, parent_name, record.start_ms, {}
            )  # fmt: skip
        run_id = self._run_for(experiment_id, record.key, record.run_name, record.start_ms, tags)
        params, run_tags = list(record.params.items()), list(tags.items())
        metrics = [(k, v, record.end_ms, 0) for k, v in record.metrics.items()]
        for start in range(0, max(len(params), len(run_tags), 1), BATCH):
            self.tracking.log_batch(
                run_id,
                metrics if start == 0 else [],
                dict(params[start : start + BATCH]),
                dict(run_tags[start : start + BATCH]),
            )
        if record.datasets:
            self.tracking.log_inputs(run_id, record.datasets)
        self.tracking.set_terminated(run_id, record.status, record.end_ms)
        return run_id


def deliveries(hook: MlflowHook, dag_id: str, limit: int = 20) -> list[dict[str, Any]]:
    """The last ``limit`` runs of ``dag_id`` recorded in MLflow, newest first."""
    experiment = hook.client.get_experiment_by_name(hook.experiment_override or f"airflow/{dag_id}")
    if experiment is None:
        return []
    runs = hook.client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.`{KEY_TAG}` LIKE 'dagrun:{dag_id}/%'",
        order_by=["attributes.start_time DESC"],
        max_results=limit,
    )
    return [
        {
            "run_id": run.data.tags.get("airflow.run_id", ""),
            "state": run.data.tags.get("airflow.state", run.info.status),
            "bundle_version": run.data.tags.get("airflow.bundle_version", ""),
            "start_ms": run.info.start_time,
        }
        for run in runs
    ]


def delivery_versions(hook: MlflowHook, dag_id: str, run_id: str) -> dict[str, dict[str, str]]:
    """What ran in one delivery: per task, its ``version.*`` tags (the latest try's), plus the bundle version."""
    experiment = hook.client.get_experiment_by_name(hook.experiment_override or f"airflow/{dag_id}")
    if experiment is None:
        return {}
    runs = hook.client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.`airflow.dag_id` = '{dag_id}' AND tags.`airflow.run_id` = '{run_id}'",
        order_by=["attributes.start_time ASC"],
    )
    versions: dict[str, dict[str, str]] = {}
    for run in runs:
        tags = run.data.tags
        task = tags.get("airflow.task_id", "<dag run>")
        versions[task] = {k: v for k, v in tags.items() if k.startswith("version.") or k == "airflow.bundle_version"}
    return versions


def diff_deliveries(before: dict[str, dict[str, str]], after: dict[str, dict[str, str]]) -> list[str]:
    """Lines saying what changed between two deliveries: tasks added or removed, versions changed."""
    lines = []
    for task in sorted(set(before) | set(after)):
        if task not in before:
            lines.append(f"+ {task}: new task")
        elif task not in after:
            lines.append(f"- {task}: no longer runs")
        else:
            for key in sorted(set(before[task]) | set(after[task])):
                old, new = before[task].get(key, "-"), after[task].get(key, "-")
                if old != new:
                    lines.append(f"~ {task}: {key} {old} -> {new}")
    return lines
