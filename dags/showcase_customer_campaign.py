"""Showcase: segment customers and plan a campaign, cut into levels of abstraction.

This is the pipeline of the seed document "Quantum AI - Part 4 - The key role of
DataOps": the top level is made of business steps (TaskGroups) and each business step
is a sub-pipeline of finer steps. The split is what lets the meta-orchestrator send
each finer step where it runs best, and send only the step that benefits from it
("optimise the campaign") to a quantum backend.

Most finer steps are plain Airflow tasks running the functions of ``customer_campaign``
(imported inside the tasks, so parsing this file never loads numpy or scikit-learn).
The data steps are Trino SQL through the ``showcase_data`` connection of a
VirtualizedDataHook (the embedded engine in the demo, a Trino cluster in production):
gaps are counted and filled inside the engine, the clean table and the published
target list are tables of the warehouse, and publishing is a federated join of the
warehouse with the K-Means assignments the pod wrote into the lake.
``run_kmeans`` is a pod: a SuperclusterPodOperator that the meta-orchestrator places
on a target of ``supercluster.yaml`` (the ``local`` target in the demo, which runs the
pod's command on the worker). ``sample_qubo`` is a QuantumTaskOperator: the QUBO of
"optimise the campaign" sampled by QAOA on a local simulator, at a capped cost.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from airflow.sdk import Asset, Param, dag, task, task_group
from kubernetes.client import models as k8s

from airflow_dataops.operators.kubernetes import SuperclusterPodOperator
from airflow_dataops.operators.quantum import QuantumTaskOperator
from airflow_dataops.operators.virtualized_data import VirtualizedQueryOperator
from customer_campaign.prepare import CLEAN, impute_sql

DAG_ID = "showcase_customer_campaign"
# --8<-- [start:howto_data_connection]
#: The embedded engine in the demo (scripts/run_demo.py defines it); a Trino connection in production.
DATA_CONN_ID = "showcase_data"
#: The published table, as the asset that downstream DAGs can be scheduled on.
CAMPAIGN_TARGETS = Asset("trino://localhost:8080/warehouse/campaign/targets")
# --8<-- [end:howto_data_connection]
DEFAULT_WORKDIR = os.environ.get(
    "DATAOPS_SHOWCASE_DIR", os.path.join(os.environ.get("AIRFLOW_HOME", "~/airflow"), "showcase")
)


@task
def start_run(workdir: str, run_id: str | None = None) -> str:
    """Give the run its own folder so that runs never overwrite each other.

    ``run_id`` is filled in by Airflow from the task context.
    """
    run_dir = Path(workdir).expanduser() / "runs" / re.sub(r"[^A-Za-z0-9_.-]", "_", str(run_id))
    run_dir.mkdir(parents=True, exist_ok=True)
    return str(run_dir)


# --- prepare customer data -------------------------------------------------------


@task
def extract_customers(n_customers: int, seed: int) -> dict[str, str]:
    """Land the synthetic customer base in the lake (stand-in for an ingestion)."""
    from airflow_dataops.hooks.virtualized_data import VirtualizedDataHook
    from customer_campaign.dataset import generate_customers
    from customer_campaign.prepare import RAW

    lake = Path(VirtualizedDataHook(DATA_CONN_ID).source_path("lake"))
    generate_customers(lake / "crm" / "customers.csv", n_customers=int(n_customers), seed=int(seed))
    return {"lake": str(lake), "table": RAW}


@task
def detect_missing_values(raw: dict[str, str]) -> dict[str, int]:
    """Count the gaps per column (SQL); the counts land in XCom for the record."""
    from airflow_dataops.hooks.virtualized_data import VirtualizedDataHook
    from customer_campaign.prepare import detect_missing_values

    return detect_missing_values(VirtualizedDataHook(DATA_CONN_ID), raw["table"])


# --8<-- [start:howto_operator_virtualized_query]
def impute_missing_values() -> VirtualizedQueryOperator:
    """Fill the gaps inside the engine and write the clean table, an asset of its own."""
    return VirtualizedQueryOperator(
        task_id="impute_missing_values", conn_id=DATA_CONN_ID, sql=impute_sql(), target_table=CLEAN
    )


# --8<-- [end:howto_operator_virtualized_query]


@task
def scale_features(raw: dict[str, str], run_dir: str) -> dict[str, str]:
    """Read the clean table in Arrow batches and write the K-Means inputs."""
    from airflow_dataops.hooks.virtualized_data import VirtualizedDataHook
    from customer_campaign.prepare import scale_features

    clean, features = Path(run_dir) / "clean" / "customers.csv", Path(run_dir) / "features" / "customers.npy"
    scale_features(VirtualizedDataHook(DATA_CONN_ID), clean, features)
    return {"clean": str(clean), "features": str(features), "lake": raw["lake"]}


# --8<-- [start:business_step]
@task_group(group_id="prepare_customer_data")
def prepare_customer_data(run_dir: str) -> Any:
    """Business step: from raw extraction to clean, scaled features."""
    raw = extract_customers("{{ params.n_customers }}", "{{ params.seed }}")
    scaled = scale_features(raw, run_dir)
    detect_missing_values(raw) >> impute_missing_values() >> scaled
    return scaled


# --8<-- [end:business_step]


# --- segment customers -----------------------------------------------------------


@task
def choose_cluster_count(prepared: dict[str, str]) -> dict[str, float]:
    """Pick the number of segments by silhouette score."""
    from customer_campaign.segment import choose_cluster_count

    return choose_cluster_count(Path(prepared["features"]))


# --8<-- [start:pod_step]
def run_kmeans() -> SuperclusterPodOperator:
    """Run K-Means with the chosen number of segments, as a pod placed by the meta-orchestrator."""
    prepared = "ti.xcom_pull(task_ids='prepare_customer_data.scale_features')"
    return SuperclusterPodOperator(
        task_id="run_kmeans",
        image="python:3.11-slim",  # on a cluster: an image holding this bundle's customer_campaign
        cmds=["python", "-m", "customer_campaign.segment"],
        arguments=[
            "--features={{ " + prepared + "['features'] }}",
            "--clean={{ " + prepared + "['clean'] }}",
            "--k={{ ti.xcom_pull(task_ids='segment_customers.choose_cluster_count')['k'] }}",
            "--out={{ " + prepared + "['lake'] }}/segments/assignments.csv",  # into the lake, for publish's SQL
        ],
        container_resources=k8s.V1ResourceRequirements(requests={"cpu": "1", "memory": "1Gi"}),
        policies=["cheapest", "fastest_start"],
        do_xcom_push=True,
    )


# --8<-- [end:pod_step]


@task
def profile_segments(prepared: dict[str, str], kmeans: dict[str, Any], run_dir: str) -> str:
    """Describe each segment and estimate its campaign economics."""
    from customer_campaign.segment import profile_segments

    out = Path(run_dir) / "segments" / "profiles.json"
    profile_segments(Path(prepared["clean"]), Path(kmeans["assignments"]), out)
    return str(out)


@task_group(group_id="segment_customers")
def segment_customers(prepared: Any, run_dir: str) -> Any:
    """Business step: group customers into segments with known economics."""
    kmeans = run_kmeans()
    choose_cluster_count(prepared) >> kmeans
    return profile_segments(prepared, kmeans.output, run_dir)


# --- optimise the campaign -------------------------------------------------------


@task
def build_qubo(profiles_path: str, budget: float) -> dict[str, Any]:
    """State "which segments to target under the budget" as a QUBO."""
    import json

    from customer_campaign.optimise import build_campaign_qubo

    profiles = json.loads(Path(profiles_path).read_text())
    return build_campaign_qubo(profiles, float(budget)).to_dict()


@task
def build_qaoa_circuit(qubo: dict[str, Any]) -> dict[str, Any]:
    """Write the QAOA circuit that samples the QUBO (OpenQASM 2, angles tuned classically)."""
    from customer_campaign.optimise import CampaignQubo, qaoa_program

    return qaoa_program(CampaignQubo.from_dict(qubo))


# --8<-- [start:quantum_step]
def sample_qubo() -> QuantumTaskOperator:
    """The quantum step: sample the QAOA circuit on the best local simulator, at a capped cost."""
    return QuantumTaskOperator(
        task_id="sample_qubo",
        circuit="{{ ti.xcom_pull(task_ids='optimise_the_campaign.build_qaoa_circuit')['qasm'] }}",
        candidates=["aer_simulator", "braket_local"],
        shots=8000,
        seed=7,
        max_cost=1.0,  # dollars; a QPU candidate would be refused above this before submission
    )


# --8<-- [end:quantum_step]


@task
def decode_samples(qubo: dict[str, Any], sampled: dict[str, Any]) -> dict[str, Any]:
    """The best sampled plan, with the exact optimum (enumeration) as its reference."""
    from customer_campaign.optimise import CampaignQubo, best_sampled_plan, solve_exactly

    problem = CampaignQubo.from_dict(qubo)
    plan = best_sampled_plan(problem, sampled["counts"])
    reference = solve_exactly(problem)
    return {**plan, "backend": sampled["backend"], "exact_energy": reference["energy"]}


@task
def check_budget(plan: dict[str, Any], budget: float) -> dict[str, Any]:
    """Refuse a plan over budget before anything is published."""
    from customer_campaign.optimise import check_plan

    return check_plan(plan, float(budget))


@task_group(group_id="optimise_the_campaign")
def optimise_the_campaign(profiles_path: Any) -> Any:
    """Business step: the QUBO sampled on a quantum backend (a local simulator in the demo)."""
    budget = "{{ params.budget }}"
    qubo = build_qubo(profiles_path, budget)
    sampler = sample_qubo()
    build_qaoa_circuit(qubo) >> sampler
    return check_budget(decode_samples(qubo, sampler.output), budget)


# --- publish ---------------------------------------------------------------------


# --8<-- [start:howto_hook_virtualized_data]
@task(outlets=[CAMPAIGN_TARGETS])
def write_target_list(plan: dict[str, Any], run_dir: str) -> dict[str, Any]:
    """Write the customers the campaign will contact: a table in the warehouse, and its CSV hand-over."""
    from airflow_dataops.hooks.virtualized_data import VirtualizedDataHook
    from customer_campaign.publish import TARGETS, write_target_list

    out = Path(run_dir) / "publish" / "campaign_targets.csv"
    hook = VirtualizedDataHook(DATA_CONN_ID)
    count = write_target_list(hook, [int(s) for s in plan["segments"]], out)
    return {"targets_path": str(out), "targets": count, "targets_table": hook.table_asset_uri(TARGETS)}


# --8<-- [end:howto_hook_virtualized_data]


@task
def write_run_report(plan: dict[str, Any], targets: dict[str, Any], run_dir: str) -> str:
    """Write the report that ``make demo`` prints."""
    from customer_campaign.publish import write_report

    report = {"dag_id": DAG_ID, "run_dir": run_dir, "plan": plan, **targets}
    return str(write_report(Path(run_dir) / "publish" / "report.json", report))


@task_group(group_id="publish")
def publish(plan: Any, run_dir: str) -> None:
    """Business step: hand the campaign to the people who run it."""
    write_run_report(plan, write_target_list(plan, run_dir), run_dir)


# --8<-- [start:showcase_dag]
@dag(
    dag_id=DAG_ID,
    schedule=None,
    catchup=False,
    tags=["showcase", "airflow-dataops"],
    doc_md=__doc__,
    params={
        "workdir": Param(DEFAULT_WORKDIR, type="string", description="Folder the run writes its files under."),
        "n_customers": Param(3000, type="integer", minimum=50, description="Synthetic customers to generate."),
        "seed": Param(42, type="integer", description="Seed of the synthetic customer base."),
        "budget": Param(9000.0, type="number", exclusiveMinimum=0, description="Campaign budget in dollars."),
    },
)
def showcase_customer_campaign() -> None:
    """Top level: the four business steps, in order."""
    run_dir = start_run("{{ params.workdir }}")
    prepared = prepare_customer_data(run_dir)
    profiles = segment_customers(prepared, run_dir)
    plan = optimise_the_campaign(profiles)
    publish(plan, run_dir)


showcase_customer_campaign()
# --8<-- [end:showcase_dag]
