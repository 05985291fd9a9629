"""Benchmark: parsing a DAG of 200 SuperclusterPodOperator tasks against the same DAG with KubernetesPodOperator.

Target (meta-orchestrator issue): at most 1.05 times the plain KubernetesPodOperator DAG,
measured side by side in one run.

Method. Three DAG files that differ only in the operator class are written to a
temporary folder: plain ``KubernetesPodOperator``; a control subclass whose ``__init__``
only calls ``super()`` (the floor every subclass of an Airflow operator pays: Airflow
wraps each class's ``__init__`` in its ``apply_defaults``, which copies the DAG's
default args and params once per class level); and ``SuperclusterPodOperator``. Each
round starts one fresh interpreter per file, in rotating order; it imports what the
file imports first (as Airflow's dag-processor does with ``parsing_pre_import_modules``,
on by default), then times Airflow's own ``DagBag`` parse of the file: the 200 operator
constructions with their argument checks and DAG validation. Reported: medians and the
median of per-round ratios against plain KubernetesPodOperator.

Run:  make bench   (or: .venv/bin/python benchmarks/parse_overhead.py)
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

TASKS = 200
_DAG = """
from datetime import datetime

from airflow.sdk import DAG
{import_line}

with DAG("parse_{kind}", start_date=datetime(2026, 1, 1), schedule=None):
    for i in range({tasks}):
        {cls}(
            task_id=f"pod_{{i}}",
            image="python:3.11-slim",
            cmds=["python", "-c", "print({{{{ ti.try_number }}}})"],
            arguments=["--part", str(i)],
            env_vars={{"PART": str(i)}},
            labels={{"part": str(i)}},
            {extra}
        )
"""
_KPO_IMPORT = "from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator"
_CONTROL = (
    _KPO_IMPORT
    + "\n\n\nclass ControlSubclass(KubernetesPodOperator):\n"
    + "    def __init__(self, **kwargs):\n        super().__init__(**kwargs)\n"
)
VARIANTS = {
    "kpo": (_KPO_IMPORT, "KubernetesPodOperator", ""),
    "control": (_CONTROL, "ControlSubclass", ""),
    "supercluster": (
        "from airflow_dataops.operators.kubernetes import SuperclusterPodOperator",
        "SuperclusterPodOperator",
        'policies=["cheapest", "fastest_start"], reads=["s3://lake/part"], max_failovers=2,',
    ),
}
_CHILD = """
import json, time
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow_dataops.operators.kubernetes import SuperclusterPodOperator  # pre-imported, as Airflow does
from airflow.dag_processing.dagbag import DagBag
start = time.perf_counter()
bag = DagBag(dag_folder={path!r}, bundle_path={folder!r})
elapsed = time.perf_counter() - start
assert not bag.import_errors, bag.import_errors
assert sum(len(d.tasks) for d in bag.dags.values()) == {tasks}
print(json.dumps(elapsed))
"""


def _write(folder: Path) -> dict[str, Path]:
    paths = {}
    for kind, (import_line, cls, extra) in VARIANTS.items():
        path = folder / f"parse_{kind}.py"
        path.write_text(_DAG.format(import_line=import_line, kind=kind, tasks=TASKS, cls=cls, extra=extra))
        paths[kind] = path
    return paths


def _parse_seconds(path: Path, env: dict[str, str]) -> float:
    code = _CHILD.format(path=str(path), folder=str(path.parent), tasks=TASKS)
    done = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=300, env=env
    )
    return float(json.loads(done.stdout.strip().splitlines()[-1]))


def measure(rounds: int) -> str:
    """Paired rounds in fresh interpreters; the markdown result block."""
    folder = Path(tempfile.mkdtemp(prefix="bench-parse-"))
    paths = _write(folder)
    env = {
        **os.environ,
        "AIRFLOW_HOME": tempfile.mkdtemp(prefix="bench-airflow-"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    times: dict[str, list[float]] = {kind: [] for kind in paths}
    ratios: dict[str, list[float]] = {"control": [], "supercluster": []}
    kinds = list(paths)
    for round_index in range(rounds):
        shift = round_index % len(kinds)
        order = kinds[shift:] + kinds[:shift]
        measured = {kind: _parse_seconds(paths[kind], env) for kind in order}
        for kind, seconds in measured.items():
            times[kind].append(seconds)
        for kind, values in ratios.items():
            values.append(measured[kind] / measured["kpo"])
        print(f"round {round_index + 1}: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in measured.items()))
    ratio = statistics.median(ratios["supercluster"])
    floor = statistics.median(ratios["control"])
    verdict = "meets" if ratio <= 1.05 else "MISSES"
    return "\n".join(
        [
            f"Measured {datetime.now(UTC):%Y-%m-%d} on {platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, {rounds} paired rounds, {TASKS} tasks per DAG.",
            "",
            "| DAG file | median parse time |",
            "|---|---|",
            f"| 200 x KubernetesPodOperator | {statistics.median(times['kpo']) * 1000:.1f} ms |",
            f"| 200 x control subclass (empty `__init__`) | {statistics.median(times['control']) * 1000:.1f} ms |",
            f"| 200 x SuperclusterPodOperator | {statistics.median(times['supercluster']) * 1000:.1f} ms |",
            f"| control / KubernetesPodOperator (median of per-round ratios) | {floor:.3f} |",
            f"| **SuperclusterPodOperator / KubernetesPodOperator** | **{ratio:.3f}** "
            f"(min {min(ratios['supercluster']):.3f}, max {max(ratios['supercluster']):.3f}) |",
            "",
            f"Target: at most 1.05. This run {verdict} it.",
        ]
    )


if __name__ == "__main__":
    from _report import run_benchmark

    run_benchmark("parse_overhead", __doc__, measure, default_rounds=9)
