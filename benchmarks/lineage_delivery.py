"""1,000 lineage records delivered to MLflow with the tracking server killed and restarted in the middle.

A real ``mlflow server`` (SQLite backend) runs on loopback. 1,000 records (50 DAG runs
of 19 tasks, plus the 50 DAG-run records) are written to a lineage spool, and the
provider's documented sender service (``python -m airflow_dataops.lineage send --every 1``)
starts sending them. When 400 have been delivered, the server is killed (SIGKILL of its
process group, as a crash would) and started again on the same store. The service runs
on, retrying every second, until the spool is empty; then it is stopped (SIGTERM).
Then every MLflow run is read back and counted by its record key: a key missing is a
record lost, a key found twice a record duplicated. Target: 0 and 0.

Command: ``.venv/bin/python benchmarks/lineage_delivery.py --update-docs``
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DAG_RUNS, TASKS = 50, 19
KILL_AFTER = 400


def _records() -> list[Any]:
    from airflow_dataops.core.lineage import LineageRecord

    records = []
    base = 1_790_000_000_000
    for run in range(DAG_RUNS):
        dag_key = f"dagrun:delivery_bench/run_{run:03d}"
        start = base + run * 60_000
        records.append(
            LineageRecord.build(
                key=dag_key,
                experiment="airflow/delivery_bench",
                run_name=f"run_{run:03d}",
                status="FINISHED",
                start_ms=start,
                end_ms=start + 50_000,
                tags={"airflow.dag_id": "delivery_bench", "airflow.run_id": f"run_{run:03d}"},
                params={"conf": "{}"},
            )
        )
        for task in range(TASKS):
            records.append(
                LineageRecord.build(
                    key=f"ti:delivery_bench/run_{run:03d}/step_{task:02d}/-1/1",
                    parent_key=dag_key,
                    experiment="airflow/delivery_bench",
                    run_name=f"step_{task:02d} try 1",
                    status="FINISHED",
                    start_ms=start + task * 2_000,
                    end_ms=start + task * 2_000 + 1_500,
                    tags={
                        "airflow.dag_id": "delivery_bench",
                        "airflow.run_id": f"run_{run:03d}",
                        "airflow.task_id": f"step_{task:02d}",
                        "airflow.try_number": 1,
                    },
                    params={"template.op_args": f"[{task}]"},
                    metrics={"duration_s": 1.5},
                )
            )
    return records


def _keys_in_mlflow(url: str) -> collections.Counter[str]:
    from mlflow import MlflowClient

    from airflow_dataops.core.lineage import KEY_TAG

    client = MlflowClient(tracking_uri=url)
    experiment = client.get_experiment_by_name("airflow/delivery_bench")
    found: collections.Counter[str] = collections.Counter()
    token = None
    while experiment is not None:
        page = client.search_runs([experiment.experiment_id], max_results=1000, page_token=token)
        found.update(run.data.tags.get(KEY_TAG, "") for run in page)
        token = page.token
        if not token:
            break
    return found


def measure(rounds: int) -> str:
    """One delivery of 1,000 records across a restart (``rounds`` is ignored: one run says it all)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from airflow_dataops.lineage.spool import Spool
    from mlflow_server import start_mlflow_server

    folder = Path(tempfile.mkdtemp(prefix="lineage-delivery-"))
    (folder / "mlflow").mkdir()
    server = start_mlflow_server(folder / "mlflow")
    records = _records()
    spool = Spool(folder / "spool")
    for record in records:
        spool.put(record)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(folder / "airflow"),
        "AIRFLOW_CONN_MLFLOW_DEFAULT": json.dumps({"conn_type": "mlflow", "host": server.url}),
        "AIRFLOW__DATAOPS__LINEAGE_SPOOL": str(folder / "spool"),
    }
    started = time.monotonic()
    sender = subprocess.Popen(
        [sys.executable, "-m", "airflow_dataops.lineage", "send", "--every", "1"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    while len(records) - spool.pending() < KILL_AFTER:
        time.sleep(0.05)
    sent_before_kill = len(records) - spool.pending()
    server.stop()
    killed = time.monotonic()
    server.start()
    down_for = time.monotonic() - killed
    deadline = time.monotonic() + 1800
    while spool.pending() and time.monotonic() < deadline:
        time.sleep(0.2)
    sender.terminate()
    sender.wait(timeout=60)
    elapsed = time.monotonic() - started
    found = _keys_in_mlflow(server.url)
    server.stop()
    expected = {r.key for r in records}
    lost = len(expected - set(found))
    duplicated = sum(count - 1 for key, count in found.items() if key in expected and count > 1)
    verdict = "meets" if lost == 0 and duplicated == 0 else "MISSES"
    return "\n".join(
        [
            f"Measured {time.strftime('%Y-%m-%d')}: {len(records)} records ({DAG_RUNS} DAG runs x {TASKS} tasks "
            f"+ {DAG_RUNS} DAG runs), real `mlflow server` (SQLite) on loopback.",
            "",
            "| what | value |",
            "|---|---|",
            f"| records delivered before the server was killed | {sent_before_kill} |",
            f"| server down (kill to answering again) | {down_for:.1f} s |",
            f"| total time to deliver everything | {elapsed:.1f} s ({len(records) / elapsed:.1f} records/s) |",
            f"| records left in the spool | {spool.pending()} |",
            f"| **records lost** | **{lost}** |",
            f"| **records duplicated** | **{duplicated}** |",
            "",
            f"Target: 0 lost, 0 duplicated. This run {verdict} it.",
        ]
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _report import run_benchmark

    run_benchmark("lineage_delivery", __doc__, measure, default_rounds=1)
