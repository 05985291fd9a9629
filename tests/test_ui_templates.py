"""The page's Jinja templates: every value escaped by the engine, an undefined name an error, the rows shown.

The overview is built by the same pure functions the app uses (``airflow_dataops.ui.overview``)
from fixed task records and probe results, so its shape is the real one; the HTML is read back
with the standard library's parser, so attribute values and texts are compared unescaped.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import jinja2
import pytest

from airflow_dataops.core.placement.decision import Candidate, Decision, LiveState
from airflow_dataops.core.placement.supercluster import NodePool, Prices, Supercluster, Target
from airflow_dataops.ui import _html
from airflow_dataops.ui.overview import (
    TaskRun,
    ordered_dags,
    quantum_spend,
    recent_decisions,
    summarise_spend,
    target_rows,
)

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
HOSTILE = "<script>alert('x')</script>\"q\" & 'a'"


def fixed_overview(
    *, dag_id: str = "pods", target: str = "cheap", reason: str = "no answer within 2s"
) -> dict[str, Any]:
    """Three targets (not probed, reachable with a GPU pool, unreachable), a pod that failed over
    from ``target`` to ``dear``, and a quantum run over its budget; assembled as ``build_overview`` does."""
    general = NodePool("general", nodes=2, cpu=4.0, memory_gib=16.0)
    gpu = NodePool("gpu", nodes=1, cpu=8.0, memory_gib=32.0, gpu_type="nvidia-t4", gpus=2)
    supercluster = Supercluster(
        (
            Target("local", "local", None, "worker", "local", (NodePool("worker", 1, 2.0, 8.0),)),
            Target(target, "kubernetes", "k8s_cheap", "onprem", "eu-west-3", (general, gpu),
                   Prices(0.01, 0.001, {"nvidia-t4": 0.35}), concurrency=4),
            Target("dear", "kubernetes", "k8s_dear", "aws", "us-east-1", (general,),
                   Prices(0.05, 0.005, market="spot")),
        )
    )  # fmt: skip
    live = {
        target: LiveState(latency_ms=12.4, free={"general": (3.5, 12.0, 0), "gpu": (6.0, 30.0, 1)}, running_tasks=1),
        "dear": LiveState(reachable=False, latency_ms=2000.0, error=reason),
    }
    decision = Decision(
        candidates=(
            Candidate(target, "general", 0.5, 0.5, False, {"cheapest": 0.5}),
            Candidate("dear", "general", 2.0, 0.75, False, {"cheapest": 2.0}),
        ),
        excluded={"vault": f"not entitled ({reason})"},
        policies=("cheapest",),
    )
    runs = [
        TaskRun(dag_id, "run-1", "train", map_index=2, try_number=2, state="success", start=NOW - timedelta(hours=1),
                end=NOW, placement=decision.to_dict(),
                outcome={"ran_on": "dear", "failovers": [{"target": target, "fault": "evicted"}]}),
        TaskRun("quantum", "run-2", "sample", state="success", start=NOW - timedelta(minutes=5), end=NOW,
                quantum_cost=1.5, quantum_backend="sv1", quantum_budget={"max_cost": 2.0, "run_budget": 1.0}),
    ]  # fmt: skip
    spend = summarise_spend(runs, NOW)
    spend_data = spend.to_dict()
    spend_data["per_dag"] = {d: spend_data["per_dag"][d] for d in ordered_dags(spend.per_dag)}
    rows = target_rows(supercluster, live, spend.per_target_today)
    return {
        "generated_at": NOW.isoformat(timespec="seconds"),
        "window_days": 7,
        "probe_timeout": 2.0,
        "declarations": [
            {"path": "/dags/supercluster.yaml", "error": None, "targets": [t.to_dict() for t in rows]},
            {"path": "/dags/broken.yaml", "error": f"targets[0]: {reason}", "targets": []},
        ],
        "spend": spend_data,
        "decisions": [d.to_dict() for d in recent_decisions(runs, NOW)],
        "quantum": {"daily_budget": 1.25, "spent_today": 1.5, "runs": [r.to_dict() for r in quantum_spend(runs)]},
        "mlflow": {"conn_id": "mlflow_default", "tracking_uri": "http://mlflow:5000", "browsable": True},
    }


@dataclass
class Row:
    """One ``<tr>`` of the page: its attributes and the text of each cell (unescaped, line breaks as ``|``)."""

    attrs: dict[str, str | None]
    cells: list[str] = field(default_factory=list)


class PageReader(HTMLParser):
    """Every start tag with its attributes, every table row with its cells' texts, every link and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.rows: list[Row] = []
        self.links: list[str | None] = []
        self.texts: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "tr":
            self.rows.append(Row(dict(attrs)))
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append("|")
        elif tag == "a":
            self.links.append(dict(attrs).get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].cells.append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        if self._cell is not None:
            self._cell.append(data)


def read(html: str) -> PageReader:
    reader = PageReader()
    reader.feed(html)
    reader.close()
    return reader


def test_the_page_shows_the_rows_of_a_fixed_overview() -> None:
    page = read(_html.render(fixed_overview()))
    targets = [r for r in page.rows if "data-target" in r.attrs]
    assert [(r.attrs["id"], r.attrs["data-target"], r.attrs["data-health"]) for r in targets] == [
        ("target-local", "local", "not probed"),
        ("target-cheap", "cheap", "reachable"),
        ("target-dear", "dear", "unreachable"),
    ]
    assert targets[1].cells == [
        "cheap|kubernetes, onprem, eu-west-3",
        "reachable",
        "12 ms",
        "general: 2 x 4.00 CPU, 16.0 GiB|free now 3.50 CPU, 12.0 GiB, 0 GPU"
        "|gpu: 1 x 8.00 CPU, 32.0 GiB, 2 x nvidia-t4|free now 6.00 CPU, 30.0 GiB, 1 GPU",
        "1 running / 4, 0 pending (25%)",
        "vCPU $0.0100/h|GiB $0.0010/h|nvidia-t4 $0.3500/h|on_demand",
        "$0.0000",
    ]
    assert targets[0].cells[1:5] == ["not probed", "-", "worker: 1 x 2.00 CPU, 8.0 GiB|free now: unknown", "-"]
    assert targets[2].cells[1:3] == ["unreachable|no answer within 2s", "2000 ms"]
    assert targets[2].cells[3:] == [
        "general: 2 x 4.00 CPU, 16.0 GiB|free now: unknown", "-", "vCPU $0.0500/h|GiB $0.0050/h|spot", "$2.0000"
    ]  # fmt: skip

    (decision,) = [r for r in page.rows if r.attrs.get("class") == "decision"]
    assert (decision.attrs["data-dag"], decision.attrs["data-task"], decision.attrs["data-chosen"]) == (
        "pods", "train", "cheap"
    )  # fmt: skip
    assert decision.cells[:5] == [
        "2025-06-02 11:00:00 UTC|success",
        "pods|train[2] try 2|run-1|MLflow run",
        "dear",
        "cheap (evicted) → dear",
        "$2.0000/h|$2.0000",
    ]
    assert decision.cells[5].startswith("placement policies: cheapest\n")
    assert "mlflow/run?dag_id=pods&run_id=run-1&task_id=train&map_index=2&try_number=2" in page.links

    per_dag = [r for r in page.rows if "data-dag" in r.attrs and r.attrs.get("class") != "decision"]
    assert [r.cells for r in per_dag] == [
        ["pods", "$2.0000", "$2.0000", "$2.0000", "$0.0000"],  # most spent first
        ["quantum", "$1.5000", "$1.5000", "$0.0000", "$1.5000"],
        ["quantum|run-2", "$1.5000", "$1.0000", "sample on sv1: $1.5000 (max_cost $2.0000)"],
    ]
    assert ("td", {"class": "num over"}) in page.tags  # the quantum run spent more than its run_budget
    assert ("a", {"id": "mlflow-ui", "href": "http://mlflow:5000", "target": "_blank", "rel": "noopener"}) in page.tags
    assert ("p", {"class": "error declaration-error"}) in page.tags


def test_values_with_markup_and_quotes_are_escaped_by_the_engine() -> None:
    data = fixed_overview(dag_id=HOSTILE, target=HOSTILE, reason=HOSTILE)
    data["mlflow"]["conn_id"] = HOSTILE
    html = _html.render(data)
    page = read(html)

    assert "<script>" not in html
    assert [tag for tag, _ in page.tags if tag == "script"] == []
    # Quotes did not end an attribute early: each value reads back whole, as it was given.
    (target,) = [r for r in page.rows if r.attrs.get("data-target") == HOSTILE]
    assert target.attrs["id"] == f"target-{HOSTILE}"
    (decision,) = [r for r in page.rows if r.attrs.get("class") == "decision"]
    assert (decision.attrs["data-dag"], decision.attrs["data-chosen"]) == (HOSTILE, HOSTILE)
    assert decision.cells[1].startswith(f"{HOSTILE}|train[2]")
    assert f"excluded vault: not entitled ({HOSTILE})" in decision.cells[5]  # the explanation
    (unreachable,) = [r for r in page.rows if r.attrs.get("data-target") == "dear"]
    assert unreachable.cells[1] == f"unreachable|{HOSTILE}"
    query = "dag_id=%3Cscript%3Ealert%28%27x%27%29%3C%2Fscript%3E%22q%22+%26+%27a%27&run_id=run-1"
    assert any(link and link.startswith(f"mlflow/run?{query}&") for link in page.links)
    text = "".join(page.texts)
    assert f"targets[0]: {HOSTILE}" in text  # the declaration's error
    assert f"Connection {HOSTILE}: http://mlflow:5000." in text


def test_the_missing_run_page_escapes_its_reason() -> None:
    html = _html.render_missing_run(f"no run for {HOSTILE}")
    assert "<script>" not in html
    assert f"no run for {HOSTILE}" in "".join(read(html).texts)


def test_an_undefined_name_is_an_error_not_an_empty_string() -> None:
    with pytest.raises(jinja2.UndefinedError, match="'nothing' is undefined"):
        _html.environment().from_string("<p>{{ nothing }}</p>").render()
    incomplete = fixed_overview()
    del incomplete["declarations"][0]["targets"][1]["health"]
    with pytest.raises(jinja2.UndefinedError, match="health"):
        _html.render(incomplete)
    without_window = fixed_overview()
    del without_window["window_days"]
    with pytest.raises(jinja2.UndefinedError, match="window_days"):
        _html.render(without_window)


def test_every_template_compiles_and_ships_with_the_package() -> None:
    shipped = {p.name for p in importlib.resources.files("airflow_dataops.ui").joinpath("templates").iterdir()}
    assert {"page.html.j2", "macros.html.j2", "mlflow_missing.html.j2"} <= shipped
    environment = _html.environment()
    assert set(environment.list_templates()) == shipped
    for name in environment.list_templates():
        environment.get_template(name)  # a syntax error raises TemplateSyntaxError naming the file and line


@pytest.mark.parametrize(
    ("value", "money", "number", "percent"),
    [(None, "-", "-", None), (0, "$0.0000", "0.0", "0%"), (1234.56789, "$1,234.5679", "1234.6", "123457%"),
     (0.254, "$0.2540", "0.3", "25%")],
)  # fmt: skip
def test_the_number_filters(value: Any, money: str, number: str, percent: str | None) -> None:
    assert (_html.money(value), _html.number(value)) == (money, number)
    if percent is not None:
        assert _html.percent(value) == percent
    assert _html.moment("2025-06-02T11:00:00.123456+00:00") == "2025-06-02 11:00:00 UTC"
    assert _html.moment(None) == "-"
