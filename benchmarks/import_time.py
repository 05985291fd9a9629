"""Benchmark: what importing the provider's DAG-facing modules adds to a DAG parse.

The dag-processor imports every DAG file again and again; a DAG that uses our
operators already pays for the cncf KubernetesPodOperator (~2.4 s here). The target
is that airflow-dataops adds at most 50 ms on top of it.

Each round starts two fresh interpreters, one importing KubernetesPodOperator alone
(the baseline) and one importing it plus every DAG-facing module of ``airflow_dataops``
(operators, sensors, the cluster policy: what a DAG file imports; hooks, triggers and
the lineage listener load when a task runs, and tests/test_import_rules.py keeps it so); the
order alternates between rounds so that drift on a shared machine hits both sides.
The time is measured inside the child around the imports only (interpreter start-up
excluded). We report medians and the median of the per-round differences.

Run:  make bench        (or: uv run python benchmarks/import_time.py --rounds 15)
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

BASELINE = ["airflow.providers.cncf.kubernetes.operators.pod"]
DAG_FACING = ("airflow_dataops.operators.", "airflow_dataops.sensors.", "airflow_dataops.policies")

_CHILD = """
import importlib, json, pkgutil, sys, time
start = time.perf_counter()
for name in {baseline!r}:
    importlib.import_module(name)
middle = time.perf_counter()
if {with_provider!r}:
    import airflow_dataops
    for info in pkgutil.walk_packages(airflow_dataops.__path__, prefix="airflow_dataops."):
        if info.name.startswith({dag_facing!r}):
            importlib.import_module(info.name)
end = time.perf_counter()
print(json.dumps({{"total": end - start, "incremental": end - middle}}))
"""


def _measure(with_provider: bool, env: dict[str, str]) -> tuple[float, float]:
    code = _CHILD.format(baseline=BASELINE, with_provider=with_provider, dag_facing=DAG_FACING)
    done = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=300, env=env
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return float(result["total"]), float(result["incremental"])


def run(rounds: int) -> dict[str, float]:
    """Run ``rounds`` paired measurements and return the summary in milliseconds."""
    env = dict(os.environ)
    # A throw-away Airflow home, as a dag-processor has a configured one.
    env["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="bench-airflow-")
    env["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    baseline, provider, differences, incremental = [], [], [], []
    for round_index in range(rounds):
        if round_index % 2 == 0:
            base, (prov, added) = _measure(False, env)[0], _measure(True, env)
        else:
            (prov, added), base = _measure(True, env), _measure(False, env)[0]
        baseline.append(base)
        provider.append(prov)
        differences.append(prov - base)
        incremental.append(added)
        print(
            f"round {round_index + 1:2d}: baseline {base * 1000:7.1f} ms, with provider {prov * 1000:7.1f} ms "
            f"(provider's own imports {added * 1000:.2f} ms)"
        )
    return {
        "rounds": rounds,
        "baseline_ms": statistics.median(baseline) * 1000,
        "provider_ms": statistics.median(provider) * 1000,
        "difference_ms": statistics.median(differences) * 1000,
        "incremental_ms": statistics.median(incremental) * 1000,
        "incremental_max_ms": max(incremental) * 1000,
        "ratio": statistics.median(provider) / statistics.median(baseline),
    }


def render(summary: dict[str, float]) -> str:
    """Render the result as the markdown block kept in docs/benchmarks.md."""
    verdict = "meets" if summary["incremental_max_ms"] <= 50 else "MISSES"
    return "\n".join(
        [
            f"Measured {datetime.now(UTC):%Y-%m-%d} on {platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, {int(summary['rounds'])} paired rounds.",
            "",
            "| import | median |",
            "|---|---|",
            f"| KubernetesPodOperator alone (baseline) | {summary['baseline_ms']:.0f} ms |",
            f"| KubernetesPodOperator + every DAG-facing `airflow_dataops` module | {summary['provider_ms']:.0f} ms |",
            f"| difference of the two (median of per-round differences; noise-dominated) "
            f"| {summary['difference_ms']:+.1f} ms |",
            f"| ratio with / without | {summary['ratio']:.3f} |",
            f"| **added by airflow-dataops**, timed in the same process right after the baseline "
            f"| **{summary['incremental_ms']:.2f} ms** (max {summary['incremental_max_ms']:.2f} ms) |",
            "",
            f"Target: at most 50 ms added. This run {verdict} it (judged on the maximum over all rounds).",
        ]
    )


if __name__ == "__main__":
    from _report import run_benchmark

    run_benchmark("import_time", __doc__, lambda rounds: render(run(rounds)), default_rounds=15)
