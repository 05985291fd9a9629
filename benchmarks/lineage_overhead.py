"""The time MLflow lineage adds to a task: the same 200-task DAG run with lineage off and on.

Each run is a fresh process with its own Airflow home (SQLite), running
``dag.test()`` of a DAG of 200 trivial tasks, one after another. With lineage on, the
``mlflow_default`` connection points at a local MLflow store (SQLite) and the provider's
listener records every task (spool write, then the send the task does before it ends). The time a task costs is
the period between the starts of consecutive tasks, so whatever lineage adds in the
task's process (including the background send competing for the CPU) is in it. Reported:
median and p95 of the period, off and on, and their difference. Runs alternate the order.

Command: ``.venv/bin/python benchmarks/lineage_overhead.py --update-docs``
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TASKS = 200
DAG_FILE = f"""
from datetime import datetime
from airflow.sdk import DAG, task

@task
def step(i: int) -> int:
    return i

with DAG("lineage_bench", start_date=datetime(2026, 1, 1), schedule=None):
    for i in range({TASKS}):
        step.override(task_id=f"step_{{i:03d}}")(i)
"""


def _child(home: str) -> dict[str, Any]:
    """In a fresh process and Airflow home: run the DAG once, return the periods between task starts."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils import db
    from airflow.utils.session import create_session

    db.initdb()
    folder = Path(home) / "dags"
    dag_run = DagBag(dag_folder=str(folder), bundle_path=folder).dags["lineage_bench"].test()
    with create_session() as session:
        tis = session.query(TaskInstance).filter_by(dag_id="lineage_bench", run_id=dag_run.run_id)
        starts = sorted(ti.start_date.timestamp() for ti in tis if ti.start_date)
    periods = [b - a for a, b in itertools.pairwise(starts)]
    return {"state": str(dag_run.state), "periods_ms": [p * 1000 for p in periods]}


def _run(lineage: bool) -> list[float]:
    with tempfile.TemporaryDirectory() as home:
        (Path(home) / "dags").mkdir()
        (Path(home) / "dags" / "lineage_bench.py").write_text(DAG_FILE)
        env = {
            **os.environ,
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__DAGS_FOLDER": str(Path(home) / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__DATAOPS__LINEAGE_SPOOL": f"{home}/spool",
        }
        env.pop("AIRFLOW_CONN_MLFLOW_DEFAULT", None)
        if lineage:
            store = f"sqlite:///{home}/mlflow.db"
            prepare = f"from mlflow import MlflowClient; MlflowClient({store!r}).search_experiments()"
            subprocess.run([sys.executable, "-c", prepare], check=True, capture_output=True)
            env["AIRFLOW_CONN_MLFLOW_DEFAULT"] = json.dumps({"conn_type": "mlflow", "host": store})
        out = subprocess.run(
            [sys.executable, __file__, "--child", home], env=env, capture_output=True, text=True, check=False
        )
        if out.returncode != 0:
            raise SystemExit(f"run failed:\n{out.stderr[-3000:]}")
        if lineage:  # the detached sender outlives the run: let it finish before the home is removed
            send = [sys.executable, "-m", "airflow_dataops.lineage", "send"]
            subprocess.run(send, env=env, capture_output=True, check=False)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        if result["state"] != "success":
            raise SystemExit(f"the DAG run ended {result['state']}")
        return list(result["periods_ms"])


def _p95(values: list[float]) -> float:
    return sorted(values)[int(0.95 * (len(values) - 1))]


def measure(rounds: int) -> str:
    """Run off and on, ``rounds`` times each, alternating; pool the periods; render."""
    periods: dict[bool, list[float]] = {False: [], True: []}
    for round_number in range(rounds):
        for lineage in (False, True) if round_number % 2 == 0 else (True, False):
            periods[lineage].extend(_run(lineage))
    off, on = statistics.median(periods[False]), statistics.median(periods[True])
    added = on - off
    return "\n".join(
        [
            f"Measured {time.strftime('%Y-%m-%d')}, {TASKS} tasks per run, {rounds} run(s) each way, "
            "alternating; periods between consecutive task starts in `dag.test()`.",
            "",
            "| lineage | median per task | p95 per task |",
            "|---|---|---|",
            f"| off | {off:.1f} ms | {_p95(periods[False]):.1f} ms |",
            f"| on (local MLflow store) | {on:.1f} ms | {_p95(periods[True]):.1f} ms |",
            "",
            f"Lineage adds **{added:.1f} ms** per task at the median "
            f"(p95: {_p95(periods[True]) - _p95(periods[False]):.1f} ms); target at most 20 ms: "
            f"{'meets' if added <= 20 else 'MISSES'} it.",
        ]
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(_child(sys.argv[2])))
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from _report import run_benchmark

        run_benchmark("lineage_overhead", __doc__, measure, default_rounds=2)
