"""Lineage records: what is sent to MLflow about a DAG run or a task, kept pure and replayable.

A record is built once, when the DAG run or task ends, and may be sent much later (the
tracking server was down, the process ended first). So it carries everything needed to
be sent exactly once: a deterministic ``key`` (the MLflow run is looked up by it before
one is created), the parent's key for nesting, and values already clipped to MLflow's
limits, each clipped value marked so that nobody mistakes it for the whole.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

#: MLflow's limits (mlflow.utils.validation): keys, tag values, param values.
MAX_KEY = 250
MAX_TAG_VALUE = 8000
MAX_PARAM_VALUE = 6000
TRUNCATED = "...[truncated by airflow-dataops]"
KEY_TAG = "airflow_dataops.key"


def clip(value: Any, limit: int) -> str:
    """``value`` as text of at most ``limit`` characters, marked when shortened."""
    text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    if len(text) <= limit:
        return text
    return text[: limit - len(TRUNCATED)] + TRUNCATED


def dataset(uri: str, context: str, version: str = "") -> dict[str, str]:
    """An MLflow dataset entry for a table or asset ``uri`` read (``input``) or written (``output``).

    The digest (MLflow allows 36 characters) hashes the URI and ``version`` (what
    identifies this state of the data, e.g. the query that wrote it and its row count),
    so two writes of one table are two datasets and a replay is the same one.
    """
    digest = hashlib.sha256(f"{uri}\n{version}".encode()).hexdigest()[:36]
    return {"name": clip(uri, 500), "digest": digest, "source": uri, "context": context}


def _clipped(values: dict[str, Any], limit: int) -> dict[str, str]:
    return {clip(k, MAX_KEY): clip(v, limit) for k, v in values.items() if v is not None}


@dataclass(frozen=True)
class LineageRecord:
    """One MLflow run to create-or-update: a DAG run, or a task try nested under it."""

    key: str
    experiment: str
    run_name: str
    status: str  # MLflow's: FINISHED, FAILED, KILLED
    start_ms: int
    end_ms: int
    parent_key: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    datasets: tuple[dict[str, str], ...] = ()

    @classmethod
    def build(
        cls,
        *,
        key: str,
        experiment: str,
        run_name: str,
        status: str,
        start_ms: int,
        end_ms: int,
        parent_key: str | None = None,
        tags: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        metrics: dict[str, float] | None = None,
        datasets: list[dict[str, str]] | None = None,
    ) -> LineageRecord:
        """A record with every value clipped to MLflow's limits."""
        return cls(
            key=key,
            experiment=experiment,
            run_name=clip(run_name, MAX_KEY),
            status=status,
            start_ms=start_ms,
            end_ms=end_ms,
            parent_key=parent_key,
            tags={**_clipped(tags or {}, MAX_TAG_VALUE), KEY_TAG: key},
            params=_clipped(params or {}, MAX_PARAM_VALUE),
            metrics={clip(k, MAX_KEY): float(v) for k, v in (metrics or {}).items()},
            datasets=tuple(datasets or ()),
        )

    def to_json(self) -> str:
        """The spool form."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> LineageRecord:
        """Back from the spool."""
        fields = json.loads(text)
        return cls(**{**fields, "datasets": tuple(fields.get("datasets", ()))})
