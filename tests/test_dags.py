"""Every DAG in dags/ parses, and the showcase has the shape the docs describe."""

from __future__ import annotations

import itertools

import pytest

from conftest import DAGS_FOLDER

SHOWCASE_GROUPS = {
    "prepare_customer_data": {"extract_customers", "detect_missing_values", "impute_missing_values", "scale_features"},
    "segment_customers": {"choose_cluster_count", "run_kmeans", "profile_segments"},
    "optimise_the_campaign": {"build_qubo", "build_qaoa_circuit", "sample_qubo", "decode_samples", "check_budget"},
    "publish": {"write_target_list", "write_run_report"},
}


@pytest.fixture(scope="module")
def dagbag():  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER), bundle_path=DAGS_FOLDER)


def test_no_import_errors(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.import_errors == {}
    assert dagbag.dag_ids, "no DAG found in dags/"


def test_helper_package_is_not_parsed_as_dags(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert all("customer_campaign/" not in (dag.fileloc or "") for dag in dagbag.dags.values())


def test_showcase_is_cut_into_business_steps(dagbag) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.dags["showcase_customer_campaign"]
    groups = {group_id: child for group_id, child in dag.task_group.children.items() if group_id in SHOWCASE_GROUPS}
    assert set(groups) == set(SHOWCASE_GROUPS)
    for group_id, steps in SHOWCASE_GROUPS.items():
        assert {task_id.partition(".")[2] for task_id in groups[group_id].children} == steps
    order = ["prepare_customer_data", "segment_customers", "optimise_the_campaign", "publish"]
    for upstream, downstream in itertools.pairwise(order):
        assert any(
            task.task_id.startswith(downstream + ".")
            for task_id in groups[upstream].children
            for task in dag.get_task(task_id).downstream_list
        ), f"{upstream} does not feed {downstream}"
