"""What Airflow's OpenLineage provider sees of this provider's operators, instead of a black box.

Each operator's ``get_openlineage_facets_on_complete``/``_on_failure`` calls one function
here; Airflow's OpenLineage provider calls those methods (through its default extractor)
when it is installed and configured. This module imports the OpenLineage client at its
top, so only those methods import it, and only then.

The facts are the ones the operators published to XCom (kept on the operator too, see
``FactPublisher.published``), the same the MLflow listener records:

- pods: a run facet ``dataops_placement`` (the target chosen, the candidates in order with
  their price, the excluded targets with the reason, the target the pod ran on, the
  failovers on the way, the image and the digest the kubelet ran);
- quantum tasks: a run facet ``dataops_quantum`` (backend, task id, shots, estimated and
  actual cost, circuit fingerprint) and, for cloud devices, the standard
  ``externalQuery`` facet naming the provider's task;
- virtualized-data queries: the tables read and written as datasets (namespace
  ``trino://host:port``, name ``catalog.schema.table``, OpenLineage's naming for Trino),
  the standard ``sql`` job facet and ``externalQuery`` run facet (the Trino query id), and
  the rows written as ``outputStatistics``.
"""

from __future__ import annotations

from typing import Any

import attr
from airflow.providers.openlineage.extractors import OperatorLineage
from openlineage.client.event_v2 import InputDataset, OutputDataset
from openlineage.client.facet_v2 import RunFacet, external_query_run, output_statistics_output_dataset, sql_job

from airflow_dataops.core import facts
from airflow_dataops.core.sql.lineage import statement_lineage

#: Where the custom facets are described (OpenLineage wants a schema URL per facet).
FACETS_DOC = "https://github.com/airflow-dataops/airflow-dataops/blob/main/docs/lineage.md#openlineage"


@attr.define
class SuperclusterPlacementRunFacet(RunFacet):
    """Where a SuperclusterPodOperator's pod was placed and ran, and why."""

    chosen: str | None = None
    ranOn: str | None = None
    candidates: list[dict[str, Any]] = attr.field(factory=list)
    excluded: dict[str, str] = attr.field(factory=dict)
    failovers: list[dict[str, str]] = attr.field(factory=list)
    image: str | None = None
    imageDigest: str | None = None

    @staticmethod
    def _get_schema() -> str:
        return f"{FACETS_DOC}-placement"


@attr.define
class QuantumTaskRunFacet(RunFacet):
    """The quantum backend a QuantumTaskOperator ran on, what it cost and which circuit ran."""

    backend: str | None = None
    taskId: str | None = None
    shots: int | None = None
    estimatedCost: float | None = None
    actualCost: float | None = None
    circuitFingerprint: str | None = None

    @staticmethod
    def _get_schema() -> str:
        return f"{FACETS_DOC}-quantum"


def _fact(task: Any, fact: facts.Fact[Any] = facts.RESULT) -> dict[str, Any]:
    """What the try published as ``fact`` (kept on the operator), or an empty mapping."""
    value = task.published(fact)
    return value if isinstance(value, dict) else {}


def _field(mapping: dict[str, Any], name: str) -> dict[str, Any]:
    value = mapping.get(name)
    return value if isinstance(value, dict) else {}


def pod_lineage(task: Any, ti: Any) -> OperatorLineage[Any, Any]:
    """The placement facet of a SuperclusterPodOperator try."""
    decision, outcome = _fact(task, facts.PLACEMENT), _fact(task, facts.PLACEMENT_OUTCOME)
    facet = SuperclusterPlacementRunFacet(
        chosen=decision.get("chosen"),
        ranOn=outcome.get("ran_on"),
        candidates=list(decision.get("candidates") or []),
        excluded=dict(decision.get("excluded") or {}),
        failovers=list(outcome.get("failovers") or []),
        image=outcome.get("image", getattr(task, "image", None)),
        imageDigest=outcome.get("image_digest"),
    )
    return OperatorLineage(run_facets={"dataops_placement": facet})


def quantum_lineage(task: Any, ti: Any) -> OperatorLineage[Any, Any]:
    """The quantum facet (and, for a cloud device, the provider's task as external query)."""
    result, decision = _fact(task), _fact(task, facts.QUANTUM_DECISION)
    cost = _field(result, "cost")
    estimate, circuit = _field(cost, "estimate"), _field(result, "circuit")
    backend = result.get("backend") or decision.get("chosen")
    facets: dict[str, Any] = {
        "dataops_quantum": QuantumTaskRunFacet(
            backend=backend,
            taskId=result.get("task_id"),
            shots=result.get("shots", getattr(task, "shots", None)),
            estimatedCost=estimate.get("amount"),
            actualCost=cost.get("actual"),
            circuitFingerprint=circuit.get("fingerprint"),
        )
    }
    task_id = str(result.get("task_id") or "")
    if task_id.startswith("arn:aws:braket"):
        facets["externalQuery"] = external_query_run.ExternalQueryRunFacet(externalQueryId=task_id, source="braket")
    return OperatorLineage(run_facets=facets)


def query_lineage(task: Any, ti: Any) -> OperatorLineage[Any, Any]:
    """Tables read and written by a VirtualizedQueryOperator, its SQL and its Trino query id."""
    hook = task.hook
    namespace = f"trino://{hook.asset_authority()}"
    lineage = statement_lineage(task.sql, hook.default_catalog, hook.connection.schema or None)
    result = _fact(task)
    written = [*lineage.outputs]
    if task.target_table:
        from airflow_dataops.core.sql.tables import TableName

        written.append(TableName.parse(task.target_table))
    statistics: dict[str, Any] = {}
    if result.get("rows") is not None:
        statistics["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
            rowCount=int(result["rows"])
        )
    run_facets: dict[str, Any] = {}
    if result.get("query_id"):
        run_facets["externalQuery"] = external_query_run.ExternalQueryRunFacet(
            externalQueryId=str(result["query_id"]), source=namespace
        )
    return OperatorLineage(
        inputs=[InputDataset(namespace=namespace, name=str(t)) for t in lineage.inputs],
        outputs=[
            OutputDataset(namespace=namespace, name=str(t), outputFacets=statistics) for t in dict.fromkeys(written)
        ],
        run_facets=run_facets,
        job_facets={"sql": sql_job.SQLJobFacet(query=task.sql)},
    )
