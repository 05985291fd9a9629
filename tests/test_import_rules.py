"""The import rules that keep DAG parsing fast, proven in fresh interpreters.

1. Importing any DAG-facing module of the provider never imports a heavy SDK. The
   modules that subclass KubernetesPodOperator load the kubernetes client because the
   parent does; they must add no heavy SDK on top of it.
2. The pure core never imports Airflow.

Each check runs in a new subprocess: in this pytest process the SDKs may already be
loaded by other tests, which would hide a violation.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import airflow_dataops

PACKAGE_DIR = Path(airflow_dataops.__file__).parent
HEAVY_SDKS = ("qiskit", "qiskit_aer", "braket", "mlflow", "trino", "duckdb", "boto3", "kubernetes")


def _all_modules() -> list[str]:
    return [
        *sorted(info.name for info in pkgutil.walk_packages([str(PACKAGE_DIR)], prefix="airflow_dataops.")),
        "airflow_dataops",
    ]


def _modules_loaded_by(modules: list[str]) -> set[str]:
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted({m.partition('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True, timeout=120)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("sdk", HEAVY_SDKS)
def test_heavy_sdks_are_installed_so_the_rule_can_fail(sdk: str) -> None:
    """Without the SDKs installed the import rule below would pass vacuously."""
    assert importlib.util.find_spec(sdk) is not None, f"{sdk} is not installed: run `make test` (all extras)"


# Modules whose upstream parent class already loads the kubernetes client.
KPO_SUBCLASS_MODULES = ("airflow_dataops.operators.kubernetes",)
KPO = "airflow.providers.cncf.kubernetes.operators.pod"
# Hooks built on the amazon provider's AwsBaseHook, which loads boto3 as all its hooks do. They load
# when a task runs, never when a DAG file is parsed (RUN_TIME_ONLY below), and add no SDK of their own.
AWS_HOOK_MODULES = ("airflow_dataops.hooks.braket",)
AWS_BASE_HOOK = "airflow.providers.amazon.aws.hooks.base_aws"


def test_dag_facing_modules_import_no_heavy_sdk() -> None:
    modules = [m for m in _all_modules() if m not in KPO_SUBCLASS_MODULES + AWS_HOOK_MODULES]
    assert "airflow_dataops.get_provider_info" in modules
    loaded = _modules_loaded_by(modules)
    assert not loaded & set(HEAVY_SDKS), f"importing the provider loaded {sorted(loaded & set(HEAVY_SDKS))}"


@pytest.mark.parametrize("module", KPO_SUBCLASS_MODULES)
def test_kpo_subclasses_add_no_heavy_sdk_to_their_parent(module: str) -> None:
    parent_only = _modules_loaded_by([KPO])
    assert "kubernetes" in parent_only, "the parent loads the client: the comparison below is meaningful"
    added = _modules_loaded_by([KPO, module]) - parent_only
    assert not added & set(HEAVY_SDKS), f"{module} added {sorted(added & set(HEAVY_SDKS))} to its parent's imports"


@pytest.mark.parametrize("module", AWS_HOOK_MODULES)
def test_aws_hooks_add_no_heavy_sdk_to_their_parent(module: str) -> None:
    parent_only = _modules_loaded_by([AWS_BASE_HOOK])
    assert "boto3" in parent_only, "the parent loads boto3: the comparison below is meaningful"
    added = _modules_loaded_by([AWS_BASE_HOOK, module]) - parent_only
    assert not added & set(HEAVY_SDKS), f"{module} added {sorted(added & set(HEAVY_SDKS))} to its parent's imports"


def test_the_check_itself_catches_a_heavy_import() -> None:
    """Guard against a broken probe: importing an SDK directly must be seen."""
    assert "duckdb" in _modules_loaded_by(["duckdb"])


def _imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.partition(".")[0])
    return names


def test_core_never_imports_airflow() -> None:
    core_files = sorted((PACKAGE_DIR / "core").rglob("*.py"))
    assert core_files
    offenders = [str(path) for path in core_files if "airflow" in _imported_top_levels(path)]
    assert not offenders, f"the pure core imports Airflow in {offenders}"


def test_core_imports_without_airflow_loaded() -> None:
    core_modules = [m for m in _all_modules() if m.startswith("airflow_dataops.core")]
    assert "airflow" not in _modules_loaded_by(core_modules)


# What a DAG file imports: operators, sensors and the cluster policy. Hooks, triggers and the
# lineage listener load when a task runs (or with the plugins), never per DAG-file parse.
DAG_FACING_PREFIXES = ("airflow_dataops.operators.", "airflow_dataops.sensors.", "airflow_dataops.policies")
#: Loaded only at run time: common.sql's DbApiHook (about 85 ms) and our hooks built on it, and the
#: amazon provider's AwsBaseHook (boto3) with our hooks built on it.
RUN_TIME_ONLY = (
    "airflow.providers.common.sql.hooks.sql",
    "airflow_dataops.hooks.virtualized_data",
    AWS_BASE_HOOK,
    *AWS_HOOK_MODULES,
)


def test_dag_facing_modules_leave_hooks_to_run_time() -> None:
    modules = [m for m in _all_modules() if m.startswith(DAG_FACING_PREFIXES)]
    assert "airflow_dataops.operators.virtualized_data" in modules
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(json.dumps([m for m in {list(RUN_TIME_ONLY)!r} if m in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True, timeout=120)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_the_operators_default_connection_is_the_hooks() -> None:
    from airflow_dataops.hooks.virtualized_data import VirtualizedDataHook
    from airflow_dataops.operators.virtualized_data import DEFAULT_CONN_ID

    assert VirtualizedDataHook.default_conn_name == DEFAULT_CONN_ID
