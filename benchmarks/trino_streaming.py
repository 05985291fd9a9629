"""Streaming 10 million rows from Trino: VirtualizedDataHook against Airflow's TrinoHook, one server.

The Trino protocol test server (tests/trino_server.py, its own process, plain HTTP,
1 MiB pages as Trino's default target) serves ``SELECT id, amount, name`` over a
10-million-row Parquet file. Each reader runs in a fresh process, in turn, against the
same server:

- ``VirtualizedDataHook.iter_batches`` (Arrow record batches of 50,000 rows);
- ``TrinoHook.get_records`` (Airflow's Trino provider: the whole result in memory);
- ``TrinoHook.get_df_by_chunks`` (its bounded read: pandas chunks of 50,000 rows).

Reported per reader: rows, wall time, rows per second, the process's peak RSS (Airflow,
the client and pyarrow/pandas imports included) and its growth during the read.

Command: ``.venv/bin/python benchmarks/trino_streaming.py --update-docs``
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

ROWS = 10_000_000
SQL = "SELECT id, amount, name FROM lake.bench.numbers"
HERE = Path(__file__).resolve().parent


def _child(reader: str) -> dict[str, Any]:
    """In a fresh process: read the whole result with ``reader``; time it and watch the memory."""
    import resource

    if reader == "ours":
        from airflow_dataops.hooks.virtualized_data import VirtualizedDataHook

        hook: Any = VirtualizedDataHook("bench")
        hook.get_records("SELECT 1")
        import pyarrow  # noqa: F401  (loaded before measuring, as the read needs it)

        def read() -> int:
            return sum(batch.num_rows for batch in hook.iter_batches(SQL, rows_per_batch=50_000))
    else:
        from airflow.providers.trino.hooks.trino import TrinoHook

        hook = TrinoHook(trino_conn_id="bench_trino")  # type: ignore[no-untyped-call]
        hook.get_records("SELECT 1")
        if reader == "trino_records":

            def read() -> int:
                return len(hook.get_records(SQL))
        else:
            import pandas  # type: ignore[import-untyped]  # noqa: F401

            def read() -> int:
                return sum(len(frame) for frame in hook.get_df_by_chunks(SQL, chunksize=50_000))

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    rows = read()
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"rows": rows, "s": seconds, "peak_mb": peak / 1024, "growth_mb": (peak - before) / 1024}


def measure(rounds: int) -> str:
    """Start the server over a fresh 10M-row file, run the three readers ``rounds`` times, render."""
    import duckdb

    sys.path.insert(0, str(HERE.parent / "tests"))
    from airflow_dataops.runtime.embedded_sql import Source
    from trino_server import start_trino_server

    labels = {
        "ours": "**VirtualizedDataHook.iter_batches** (Arrow, 50k rows)",
        "trino_records": "TrinoHook.get_records (all in memory)",
        "trino_chunks": "TrinoHook.get_df_by_chunks (pandas, 50k rows)",
    }
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in labels}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "lake" / "bench").mkdir(parents=True)
        duckdb.sql(
            f"COPY (SELECT range AS id, range * 0.25 AS amount, 'customer-' || range AS name FROM range({ROWS})) "
            f"TO '{root / 'lake' / 'bench' / 'numbers.parquet'}' (FORMAT parquet)"
        )
        with start_trino_server([Source("lake", "parquet", str(root / "lake"))]) as server:
            common = {"host": server.host, "port": server.port, "login": "bench"}
            env = {
                **os.environ,
                "AIRFLOW_CONN_BENCH": json.dumps(
                    {"conn_type": "trino", **common, "extra": {"protocol": "http", "catalog": "lake"}}
                ),
                "AIRFLOW_CONN_BENCH_TRINO": json.dumps(
                    {"conn_type": "trino", **common, "extra": {"protocol": "http", "catalog": "lake"}}
                ),
            }
            for round_number in range(rounds):
                order = list(labels) if round_number % 2 == 0 else list(reversed(labels))
                for name in order:
                    out = subprocess.run(
                        [sys.executable, __file__, "--child", name], env=env, capture_output=True, text=True
                    )
                    if out.returncode != 0:
                        raise SystemExit(f"{name} failed:\n{out.stderr[-3000:]}")
                    results[name].append(json.loads(out.stdout.strip().splitlines()[-1]))

    def median(name: str, key: str) -> float:
        values = sorted(r[key] for r in results[name])
        return float(values[len(values) // 2])

    lines = [
        f"Measured {time.strftime('%Y-%m-%d')}, {ROWS:,} rows (bigint, double, varchar), plain HTTP on loopback, "
        f"1 MiB pages, one fresh process per read, {rounds} round(s) alternating the order; medians.",
        "",
        "| reader | time | rows/s | peak RSS of the process | growth during the read |",
        "|---|---|---|---|---|",
    ]
    for name, label in labels.items():
        seconds = median(name, "s")
        lines.append(
            f"| {label} | {seconds:.1f} s | {ROWS / seconds:,.0f} | {median(name, 'peak_mb'):.0f} MB "
            f"| {median(name, 'growth_mb'):.0f} MB |"
        )
    speed = median("trino_records", "s") / median("ours", "s")
    chunk_speed = median("trino_chunks", "s") / median("ours", "s")
    peak = median("ours", "peak_mb")
    lines += [
        "",
        f"Throughput of VirtualizedDataHook relative to TrinoHook.get_records: **{speed:.2f}x** "
        f"(to get_df_by_chunks: {chunk_speed:.2f}x); target at least 1.00x: "
        f"{'meets' if speed >= 1 else 'MISSES'} it. Peak memory of the hook's process: {peak:.0f} MB; "
        f"target under 300 MB: {'meets' if peak < 300 else 'MISSES'} it.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(_child(sys.argv[2])))
    else:
        sys.path.insert(0, str(HERE))
        from _report import run_benchmark

        run_benchmark("trino_streaming", __doc__, measure, default_rounds=1)
