"""The provider's ``[dataops]`` options: one table, declared to Airflow and read through :func:`option`.

The table is plain data, so the provider info (imported by every Airflow CLI call) can
declare it without importing anything: ``airflow config list`` then shows each option
with its default and description, and the docs' configuration reference is checked
against it by a test. Every reader in the package goes through :func:`option`, with the
table's default, so no default is written twice.
"""

from __future__ import annotations

from typing import Any

VERSION_ADDED = "0.1.0"


def _option(description: str, default: str | None, kind: str = "string", example: str | None = None) -> dict[str, Any]:
    return {
        "description": description,
        "version_added": VERSION_ADDED,
        "type": kind,
        "example": example,
        "default": default,
    }


OPTIONS: dict[str, dict[str, Any]] = {
    "mlflow_conn_id": _option(
        "The mlflow connection lineage goes to; lineage is off while it does not exist.", "mlflow_default"
    ),
    "lineage_spool": _option(
        "Folder where lineage records wait until MLflow has them; empty: $AIRFLOW_HOME/dataops/lineage-spool. "
        "One spool per machine, or a shared volume where workers are ephemeral.",
        None,
        example="/shared/dataops/lineage-spool",
    ),
    "lineage_send_timeout": _option(
        "Seconds a task waits, after its work is done, for MLflow to take its lineage records; "
        "what is not taken by then waits in the spool. Capped 2 s below [core] task_success_overtime, "
        "after which Airflow's supervisor ends the task process.",
        "10",
        kind="float",
    ),
    "lineage_backlog_threshold": _option(
        "Lineage records waiting in the spool before the first notification (then at each doubling).",
        "100",
        kind="integer",
    ),
    "lineage_backlog_notifier": _option(
        "Notifiers to call when the lineage backlog grows, as import paths, comma-separated; empty: none.",
        "",
        example="my_company.alerts.ops_slack",
    ),
    "quantum_prices": _option(
        "JSON object of quantum price entries keyed by device name or ARN (ibm for every IBM backend), "
        "merged over the built-in price table; a task's price_overrides win over it.",
        "",
        example='{"arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1": {"per_task": 0.3, "per_shot": 0.08}}',
    ),
    "quantum_daily_budget": _option(
        "Dollars of quantum spend per UTC day the supercluster page compares the day's spend against; "
        "enforces nothing. Empty: no daily budget.",
        "",
        kind="float",
        example="250",
    ),
    "live_state_snapshot": _option(
        "A file where the live states probed on a machine are kept for 10 s and shared by its processes "
        "(kept fresh by airflow dataops probe --every N). Empty: each process caches its own probes.",
        None,
        example="/var/run/airflow-dataops/live-state.json",
    ),
    "ui_probe_timeout": _option(
        "Seconds each target's API has to answer the supercluster page's live probe.", "2", kind="float"
    ),
}

#: The ``config`` section of the provider info.
PROVIDER_CONFIG: dict[str, Any] = {
    "dataops": {
        "description": "airflow-dataops: lineage to MLflow, quantum prices and budgets, live state, the UI page.",
        "options": OPTIONS,
    }
}


def option(name: str) -> str | None:
    """The value of ``[dataops] name`` (environment variable or airflow.cfg), else the declared default."""
    from airflow.providers.common.compat.sdk import conf

    if name not in OPTIONS:
        raise KeyError(f"[dataops] {name} is not an option of airflow-dataops; see airflow_dataops.config.OPTIONS")
    value = conf.get("dataops", name, fallback=OPTIONS[name]["default"])
    return None if value is None else str(value)
