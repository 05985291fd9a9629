"""Run the showcase DAG end to end through the real Airflow, then say what ran.

``make demo`` calls this after installing the locked environment. It uses an Airflow
home inside the repository (``.demo/airflow``, SQLite metadata database) so nothing
outside the checkout is touched, and runs ``airflow dags test`` -- the same command a
user would type -- with the repository's ``dags/`` as the dags folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

DAG_ID = "showcase_customer_campaign"
REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / ".demo"
BIN = Path(sys.executable).parent
MLFLOW_STORE = f"sqlite:///{DEMO / 'mlflow.db'}"
sys.path.insert(0, str(REPO / "dags"))
from customer_campaign import SHOWCASE_DATA_CONNECTION  # noqa: E402  (the showcase's own package)


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("AIRFLOW_HOME", str(DEMO / "airflow"))
    env.setdefault("DATAOPS_SHOWCASE_DIR", str(DEMO / "showcase"))
    env.setdefault("AIRFLOW_CONN_SHOWCASE_DATA", SHOWCASE_DATA_CONNECTION)
    # Lineage into a local MLflow store (SQLite), traced by the provider's listener.
    env.setdefault("AIRFLOW_CONN_MLFLOW_DEFAULT", json.dumps({"conn_type": "mlflow", "host": MLFLOW_STORE}))
    env.setdefault("AIRFLOW__DATAOPS__LINEAGE_SPOOL", str(DEMO / "lineage-spool"))
    Path(env["DATAOPS_SHOWCASE_DIR"], "lake").mkdir(parents=True, exist_ok=True)
    env["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
    env["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    return env


def _run_logged(command: list[str], log_path: Path, env: dict[str, str]) -> tuple[int, str | None]:
    """Run ``command`` with its output in ``log_path``, echoing each finished task.

    Returns the exit code and the final DAG run state that Airflow logged, if any.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    failed: set[str] = set()
    final_state = None
    with (
        log_path.open("w") as log,
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process,
    ):
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            if "[DAG TEST] Error running task" in line:
                failed.add(line.split(f"{DAG_ID}.", 1)[1].split()[0])
            elif "[DAG TEST] end task" in line:
                task_id = line.split("task_id=", 1)[1].split()[0]
                print(f"  {'FAILED' if task_id in failed else 'done  '}  {task_id}", flush=True)
            elif "DagRun Finished:" in line:
                final_state = line.split(" state=", 1)[1].split(",", 1)[0]
        return process.wait(), final_state


def _latest_report(showcase_dir: Path) -> tuple[Path, dict[str, object]] | None:
    reports = sorted((showcase_dir / "runs").glob("*/publish/report.json"), key=lambda p: p.stat().st_mtime)
    if not reports:
        return None
    return reports[-1], json.loads(reports[-1].read_text())


def main() -> int:
    """Migrate the metadata database, run the showcase, print where the results are."""
    env = _environment()
    logs = DEMO / "logs"
    print(f"Airflow home: {env['AIRFLOW_HOME']}")
    print("Preparing Airflow's metadata database (airflow db migrate) ...", flush=True)
    if _run_logged([str(BIN / "airflow"), "db", "migrate"], logs / "db-migrate.log", env)[0] != 0:
        print(f"airflow db migrate failed; see {logs / 'db-migrate.log'}", file=sys.stderr)
        return 1
    print("Preparing the local MLflow store ...", flush=True)
    prepare_store = "from mlflow import MlflowClient; import sys; MlflowClient(sys.argv[1]).search_experiments()"
    _run_logged([sys.executable, "-c", prepare_store, MLFLOW_STORE], logs / "mlflow-store.log", env)
    print(f"Running the showcase DAG (airflow dags test {DAG_ID}) ...", flush=True)
    code, state = _run_logged([str(BIN / "airflow"), "dags", "test", DAG_ID], logs / "dags-test.log", env)
    # the listener sends in the background; send what the ended process left in the spool
    _run_logged([sys.executable, "-m", "airflow_dataops.lineage", "send"], logs / "lineage-send.log", env)
    found = _latest_report(Path(env["DATAOPS_SHOWCASE_DIR"]))
    if code != 0 or state != "success" or found is None:
        print(f"\nThe showcase run ended {state or 'without a state'}; see {logs / 'dags-test.log'}", file=sys.stderr)
        return 1
    report_path, report = found
    plan = report["plan"]
    assert isinstance(plan, dict)
    run_dir = Path(str(report["run_dir"]))
    print(
        "\nThe showcase ran to success.\n"
        f"  Campaign: target segments {plan['segments']} ({report['targets']} customers), "
        f"cost ${plan['cost']:,} of ${plan['budget']:,}, expected profit ${plan['expected_profit']:,}.\n"
        f"  Found by {plan.get('solver', '?')} on {plan.get('backend', '?')}; "
        f"{'the exact optimum' if plan.get('energy') == plan.get('exact_energy') else 'NOT the exact optimum'} "
        "(checked by enumeration).\n"
        "  The run_kmeans pod ran on the 'local' target; its placement is in the task log and XCom 'placement'.\n"
        f"  Data steps ran as Trino SQL on the embedded engine; the published table is {report['targets_table']}.\n"
        "\nWhere to look:\n"
        f"  run report        {report_path}\n"
        f"  target list       {report['targets_path']}\n"
        f"  segment profiles  {run_dir / 'segments' / 'profiles.json'}\n"
        f"  full Airflow log  {logs / 'dags-test.log'}\n"
        f"  MLflow lineage    {BIN / 'mlflow'} ui --backend-store-uri {MLFLOW_STORE}   "
        f"(then open http://localhost:5000, experiment airflow/{DAG_ID})\n"
        f"  Airflow UI        AIRFLOW_HOME={env['AIRFLOW_HOME']} AIRFLOW__CORE__DAGS_FOLDER={REPO / 'dags'} "
        f"DATAOPS_SHOWCASE_DIR={env['DATAOPS_SHOWCASE_DIR']} AIRFLOW_CONN_SHOWCASE_DATA='{SHOWCASE_DATA_CONNECTION}' "
        f"{BIN / 'airflow'} standalone   (then open http://localhost:8080; the 'Supercluster' entry of the "
        "navigation shows the targets, the run's placement decision and its spend)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
