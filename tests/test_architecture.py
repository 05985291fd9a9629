"""Rules of the code base that a reviewer would otherwise check by hand, checked on the source itself.

- No module of the provider imports a private Airflow module: a name segment starting
  with ``_`` (``airflow.sdk._shared``), or a module Airflow documents as internal
  (``airflow.configuration``, ``airflow.sdk.execution_time``, ``airflow.utils``). The
  compatibility module ``airflow.providers.common.compat`` is where version-sensitive
  names come from.
- The core (:mod:`airflow_dataops.core`) decides and does nothing else: it imports no
  Airflow and nothing that talks to a network, spawns, blocks on threads or signals, or
  runs an engine. Those live in :mod:`airflow_dataops.runtime`, which imports no Airflow
  either. The one input the core takes from outside is a file it is handed by path (a
  supercluster declaration, a ``.qasm`` circuit).
- The key of a fact tasks share (:mod:`airflow_dataops.core.facts`) is written in that
  module only: every writer and reader names the fact, so a key can never drift apart.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "airflow_dataops"
INTERNAL = ("airflow.configuration", "airflow.sdk.execution_time", "airflow.utils")
#: Where a fact's key string may appear outside the schema module, and why.
NOT_A_FACT = {
    ("cli/bundle_report.py", "placement"): "the name of a CI check, shown to users",
    ("cli/bundle_check.py", "placement"): "the name of a CI check, shown to users",
    ("operators/kubernetes.py", "placement"): "the operator's attribute holding its placement arguments",
}


#: Modules whose import means I/O: network, processes, threads, signals, an engine.
NOT_IN_CORE = (
    "airflow", "asyncio", "subprocess", "threading", "multiprocessing", "concurrent", "signal",
    "socket", "ssl", "http", "urllib", "aiohttp", "requests", "duckdb", "os", "tempfile", "shutil",
    "mlflow", "trino", "boto3", "botocore", "braket.aws", "braket.devices", "qiskit_aer", "qiskit_ibm_runtime",
)  # fmt: skip


def sources() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE).as_posix(), ast.parse(path.read_text(), str(path))


def imported_modules(tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def is_private_airflow(module: str) -> bool:
    if not module.startswith("airflow."):
        return False
    if any(part.startswith("_") for part in module.split(".")):
        return True
    return any(module == internal or module.startswith(internal + ".") for internal in INTERNAL)


def test_the_rule_sees_private_imports() -> None:
    tree = ast.parse("from airflow.sdk._shared.secrets_masker import redact\nimport airflow.configuration\n")
    assert [m for m in imported_modules(tree) if is_private_airflow(m)] == [
        "airflow.sdk._shared.secrets_masker",
        "airflow.configuration",
    ]
    assert not is_private_airflow("airflow.providers.common.compat.sdk")


def test_no_module_imports_a_private_airflow_module() -> None:
    found = [f"{name}: {module}" for name, tree in sources() for module in imported_modules(tree)]
    private = [line for line in found if is_private_airflow(line.split(": ")[1])]
    assert len(found) > 50  # the scan sees the package's imports
    assert private == []


def imports_any(module: str, roots: tuple[str, ...]) -> bool:
    return any(module == root or module.startswith(root + ".") for root in roots)


def test_the_core_imports_nothing_that_does_io() -> None:
    core = [(name, module) for name, tree in sources() if name.startswith("core/") for module in imported_modules(tree)]
    assert len(core) > 40  # the scan sees the core's imports
    assert [f"{name}: {module}" for name, module in core if imports_any(module, NOT_IN_CORE)] == []


def test_the_runtime_imports_no_airflow() -> None:
    runtime = [(name, m) for name, tree in sources() if name.startswith("runtime/") for m in imported_modules(tree)]
    assert any(imports_any(module, ("duckdb",)) for _, module in runtime)  # the scan sees the engines
    assert [f"{name}: {module}" for name, module in runtime if imports_any(module, ("airflow",))] == []


def test_fact_keys_are_written_in_the_schema_module_only() -> None:
    from airflow_dataops.core import facts

    keys = {fact.key for fact in facts.ALL} | {facts.POD_RECORD_KEY}
    found = sorted(
        (name, node.value)
        for name, tree in sources()
        if name != "core/facts.py"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in keys
    )
    assert [hit for hit in found if hit not in NOT_A_FACT] == []
    assert set(NOT_A_FACT) <= set(found)  # no stale exception


def test_every_fact_has_a_distinct_key() -> None:
    from airflow_dataops.core import facts

    assert len({fact.key for fact in facts.ALL}) == len(facts.ALL)
