"""The ``airflow dataops`` command group, as Airflow's ProvidersManager reads it.

Airflow imports this module and calls :func:`get_dataops_cli_commands` on every CLI
call, so it imports nothing at module level and the command itself loads lazily: the
DagBag and the checks cost nothing until ``airflow dataops check`` runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def get_dataops_cli_commands() -> list[Any]:
    """``airflow dataops check PATH [--output text|json] [--annotations github]`` and ``airflow dataops probe``."""
    from airflow.cli.cli_config import ActionCommand, Arg, GroupCommand, lazy_load_command

    arg: Callable[..., Any] = Arg  # Airflow's Arg is not annotated

    check = ActionCommand(
        name="check",
        help="Check a DAG bundle before deploying it; exit 1 when anything would fail",
        description=(
            "Parse every DAG file of PATH with Airflow's DagBag and check, without running anything: "
            "import errors, the supercluster declaration, that every SuperclusterPodOperator has a target "
            "it fits and is entitled to, that every QuantumTaskOperator circuit parses, fits its backend "
            "and stays within its budget, and that every SQL statement of the virtualized-data operators "
            "parses as Trino SQL. Every problem is reported, with file and line where known."
        ),
        func=lazy_load_command("airflow_dataops.cli.bundle_check.check_command"),
        args=(
            arg(("path",), help="The DAG bundle's folder (or one DAG file)"),
            arg(
                ("-o", "--output"),
                help="Report format: text for people (default), json for programs",
                choices=("text", "json"),
                default="text",
            ),
            arg(
                ("--annotations",),
                help="Also print annotations for a CI system: github (workflow commands ::error file=...)",
                choices=("github",),
                default=None,
            ),
        ),
    )
    probe = ActionCommand(
        name="probe",
        help="Probe the supercluster's targets into the live-state snapshot, once or every N seconds",
        description=(
            "Probe every Kubernetes target of the declaration and write the answers to the file named by "
            "[dataops] live_state_snapshot, which placement decisions on this machine read while it is fresh. "
            "With --every, go on until SIGTERM: a sidecar or service per worker machine."
        ),
        func=lazy_load_command("airflow_dataops.cli.probe.probe_command"),
        args=(
            arg(("declaration",), help="The supercluster.yaml to probe"),
            arg(("--every",), help="Seconds between probes (default: probe once)", type=float, default=None),
            arg(("--timeout",), help="Seconds each target has to answer (default 5)", type=float, default=5.0),
        ),
    )
    return [GroupCommand(name="dataops", help="airflow-dataops tools", subcommands=(check, probe))]
