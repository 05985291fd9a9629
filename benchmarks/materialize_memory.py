"""Materialize on the embedded engine: a 10-million-row CREATE TABLE AS moves no rows through Python.

``VirtualizedDataHook.materialize`` runs CREATE TABLE ... AS inside DuckDB. Each
measurement runs in a fresh process (so peaks are not inherited) over the same
Parquet source: materializing 1 million and 10 million rows into a DuckDB warehouse,
and, for contrast, reading the 10 million rows into the worker with ``get_records``
(what a hand-written "read, then insert" task would hold). Reported per process: the
rows, the peak of Python allocations during the call (tracemalloc: the rows that pass
through Python), and the growth of the process's peak RSS during the call (DuckDB's own
buffers included, since the embedded engine lives in the worker).

Command: ``.venv/bin/python benchmarks/materialize_memory.py --update-docs``
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

QUERY = "SELECT id, id * 2 AS amount_cents, 'customer-' || CAST(id AS VARCHAR) AS name FROM lake.bench.numbers"


def _child(action: str, rows: int) -> dict[str, Any]:
    """In a fresh process: run ``action`` on ``rows`` rows, measure Python allocations and RSS growth."""
    import resource
    import tracemalloc

    from airflow_dataops.hooks.virtualized_data import VirtualizedDataHook

    hook = VirtualizedDataHook("bench")
    query = f"{QUERY} WHERE id < {rows}"
    hook.get_records("SELECT 1")  # engine, catalogs and imports loaded before measuring
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    started = time.perf_counter()
    if action == "materialize":
        written = hook.materialize(query, f"warehouse.bench.copy_{rows}")
    else:
        written = len(hook.get_records(query))
    seconds = time.perf_counter() - started
    _, python_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    return {"rows": written, "python_peak_mb": python_peak / 2**20, "rss_growth_mb": rss_growth / 1024, "s": seconds}


def _measure_in_child(action: str, rows: int, env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", action, str(rows)], env=env, capture_output=True, text=True, check=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def measure(_: int) -> str:
    """Create the 10M-row Parquet source, run the three processes, render the block."""
    import duckdb

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "lake" / "bench").mkdir(parents=True)
        duckdb.sql(
            "COPY (SELECT range AS id FROM range(10000000)) "
            f"TO '{root / 'lake' / 'bench' / 'numbers.parquet'}' (FORMAT parquet)"
        )
        sources = [
            {"catalog": "lake", "kind": "parquet", "path": str(root / "lake")},
            {"catalog": "warehouse", "kind": "duckdb", "path": str(root / "warehouse.duckdb")},
        ]
        env = {
            **os.environ,
            "AIRFLOW_CONN_BENCH": json.dumps({"conn_type": "virtualized_data", "extra": {"sources": sources}}),
        }
        results = [
            ("materialize 1,000,000 rows", _measure_in_child("materialize", 1_000_000, env)),
            ("**materialize 10,000,000 rows**", _measure_in_child("materialize", 10_000_000, env)),
            ("read 10,000,000 rows into the worker (`get_records`)", _measure_in_child("read", 10_000_000, env)),
        ]
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')}, one fresh process per line, same Parquet source.",
        "",
        "| what | rows | Python allocations, peak | process peak RSS growth | time |",
        "|---|---|---|---|---|",
    ]
    for label, r in results:
        lines.append(
            f"| {label} | {r['rows']:,} | {r['python_peak_mb']:.2f} MB | {r['rss_growth_mb']:.0f} MB | {r['s']:.1f} s |"
        )
    small, large = results[0][1], results[1][1]
    flat = large["python_peak_mb"] < 1 and large["python_peak_mb"] <= small["python_peak_mb"] * 2 + 0.1
    lines += [
        "",
        f"Python allocations during the 10M-row materialize: {large['python_peak_mb']:.2f} MB "
        f"(1M rows: {small['python_peak_mb']:.2f} MB): {'flat, no rows pass through Python' if flat else 'NOT flat'}.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(_child(sys.argv[2], int(sys.argv[3]))))
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from _report import run_benchmark

        run_benchmark("materialize_memory", __doc__, measure, default_rounds=1)
