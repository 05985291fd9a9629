"""The pure side of metrics and notifications: names, tag values, alert levels, events, and their docs."""

from __future__ import annotations

import doctest
import re

import pytest

from airflow_dataops.core import metrics
from conftest import REPO_ROOT


def test_the_doctests_hold() -> None:
    result = doctest.testmod(metrics)
    assert result.attempted >= 4
    assert result.failed == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("cheap", "cheap"),
        ("gpu.pool", "gpu_pool"),  # a dot would split the StatsD name
        ("arn:aws:braket:eu-north-1::device/qpu/iqm/Garnet", "qpu_iqm_Garnet"),
        ("ibm_torino", "ibm_torino"),
        ("", "unknown"),
        (None, "unknown"),
    ],
)
def test_a_dimension_becomes_one_safe_name_segment(value: object, expected: str) -> None:
    assert metrics.segment(value) == expected
    assert re.fullmatch(r"[A-Za-z0-9_-]+", metrics.named(metrics.FAILOVERS, value).removeprefix("dataops.failovers."))


def test_tag_values_keep_dots_and_lose_what_statsd_names_refuse() -> None:
    assert metrics.tag_value("segment.kmeans") == "segment.kmeans"
    assert metrics.tag_value("a b,c=d") == "a_b_c_d"


def test_costs_count_in_whole_microdollars() -> None:
    assert metrics.microdollars(3.0) == 3_000_000
    assert metrics.microdollars(0.0000014) == 1
    assert metrics.microdollars(0.0) == 0


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ("pod not running in time: Pod took too long to be scheduled", "not_running_in_time"),
        ("Kubernetes API unreachable: MaxRetryError", "unreachable"),
        ("pod disappeared (deleted or preempted)", "vanished"),
        ("Kubernetes API error 503", "api_error"),
        ("pod disrupted: Evicted: The node was low on resource", "disrupted"),
        ("something new", "other"),
    ],
)
def test_every_fault_the_operator_names_has_a_short_kind(fault: str, kind: str) -> None:
    assert metrics.fault_kind(fault) == kind


def test_backlog_levels_double_from_the_threshold() -> None:
    assert [metrics.backlog_level(n, 3) for n in (0, 2, 3, 5, 6, 11, 12, 24)] == [None, None, 3, 3, 6, 6, 12, 24]
    with pytest.raises(ValueError, match="at least 1"):
        metrics.backlog_level(5, 0)


def test_events_carry_the_facts_and_a_summary() -> None:
    failover = metrics.failover_event(
        dag_id="d", task_id="t", failed="cheap", fault="Kubernetes API unreachable: X", next_target=None,
        tried=["cheap"], attempt=1,
    )  # fmt: skip
    assert failover["fault_kind"] == "unreachable"
    assert (
        failover["summary"]
        == "d.t: target cheap failed the pod (Kubernetes API unreachable: X); no target left, the task fails"
    )
    refusal = metrics.budget_refusal_event(
        dag_id="d", task_id="t", budget="max_cost", backend="sv1", estimate=2.5, limit=1.0, detail="..."
    )
    assert (
        refusal["summary"]
        == "d.t: refused before submission, estimated $2.5000 on sv1 is over max_cost ($1.0000 available)"
    )
    backlog = metrics.backlog_event(waiting=7, threshold=5, level=5, spool="/s", problem="MLflow does not answer")
    assert backlog["summary"] == "7 lineage records wait in /s (threshold 5): MLflow does not answer"


def test_every_metric_is_documented_with_its_type() -> None:
    page = (REPO_ROOT / "docs" / "metrics.md").read_text()
    for metric in metrics.METRICS:
        row = next((line for line in page.splitlines() if line.startswith(f"| `{metric.name}")), None)
        assert row is not None, f"{metric.name} is not in docs/metrics.md"
        assert f"| {metric.kind} |" in row, f"{metric.name}: the docs do not say it is a {metric.kind}"
