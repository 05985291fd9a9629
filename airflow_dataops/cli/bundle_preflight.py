"""What the bundle check asks of one task, answered by the code the operators run.

Each function takes plain values (what a task was given) and returns the problems it
would hit at run time, as :class:`Finding` objects, without running or submitting
anything and without the network:

- :func:`placement_findings`: the pod's requirements (sized by
  :meth:`~airflow_dataops.core.placement.arguments.PlacementArgs.requirements`) against the
  declaration, through :func:`~airflow_dataops.core.placement.decision.decide` with no live
  state, so a task whose every target is unfit or not entitled fails the check;
- :func:`quantum_findings`: the circuit read, bound and measured by
  :mod:`~airflow_dataops.core.quantum.circuits`, the device chosen and the cost estimated
  by :func:`~airflow_dataops.core.quantum.devices.choose_device` against ``max_cost``
  and ``run_budget``, and a Braket device's conversion;
- :func:`sql_findings`: the SQL parsed by sqlglot in Trino's dialect.

Jinja-templated values cannot be known before run time. SQL with ``{{ ... }}``
expressions is parsed with each expression replaced by a placeholder name (valid as a
value, a column or a table, and inside a string literal); a parse error on a line holding
a placeholder is reported as a notice, not an error, since the rendered text may well
parse. SQL with ``{% ... %}`` statements, and templated circuits or parameters, are not
checked: a notice says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_dataops.core.errors import InvalidInputError
from airflow_dataops.core.placement.arguments import PlacementArgs
from airflow_dataops.core.placement.supercluster import Supercluster
from airflow_dataops.operators._templating import is_templated

PLACEHOLDER = "__jinja__"
_JINJA_EXPRESSION = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_JINJA_STATEMENT = re.compile(r"\{%.*?%\}", re.DOTALL)
_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
_QASM_LINE = re.compile(r"\bline (\d+)\b")


@dataclass(frozen=True)
class Finding:
    """A problem of one task's input; ``line`` counts within that input (the SQL, the circuit)."""

    message: str
    line: int | None = None
    severity: str = "error"


# ----------------------------------------------------------------------------- placement


def placement_findings(
    supercluster: Supercluster,
    pod: Mapping[str, Any],
    placement: PlacementArgs,
    *,
    reads: Any = (),
    dag_tags: Iterable[str] = (),
) -> list[Finding]:
    """Whether at least one declared target can run the pod and the task is entitled to it."""
    from airflow_dataops.core.placement.decision import PlacementError, decide

    try:
        requirements = placement.requirements(
            pod,
            # Ranking only, never feasibility: a templated `reads` (or URI) is known at run time only.
            reads=[] if isinstance(reads, str) or is_templated(reads) else [u for u in reads if not is_templated(u)],
            dag_tags=dag_tags,
        )
        decide(supercluster, requirements, live=None, policies=placement.policies, preference=placement.preference)
    except (PlacementError, InvalidInputError) as error:
        return [Finding(str(error))]
    return []


# ----------------------------------------------------------------------------- quantum


def quantum_findings(
    source: Any,
    *,
    parameters: Mapping[str, Any] | None,
    candidates: Sequence[str],
    shots: int,
    max_cost: float | None = None,
    run_budget: float | None = None,
    classical_max_qubits: int = 20,
    price_overrides: Mapping[str, Mapping[str, float]] | None = None,
) -> list[Finding]:
    """What would refuse this circuit before submission: parsing, binding, width, shots, price, budget."""
    from airflow_dataops.core.quantum import circuits
    from airflow_dataops.core.quantum.devices import choose_device
    from airflow_dataops.core.quantum.pricing import check_budget

    if is_templated(source) or is_templated(parameters):
        return [
            Finding(
                "the circuit or its parameters are Jinja templates, rendered only at run time: not checked",
                severity="notice",
            )
        ]
    try:
        circuit = circuits.ensure_measured(circuits.bind(circuits.load_circuit(source), parameters))
        decision = choose_device(
            candidates,
            circuit.num_qubits,
            shots,
            classical_max_qubits=classical_max_qubits,
            budget=max_cost,  # as the operator does: an over-budget candidate is excluded with its estimate
            faster_local="aer_simulator",
            price_overrides=price_overrides,
        )
        chosen, estimate = decision.ranked[0]
        if run_budget is not None:
            check_budget(estimate, run_budget, "the DAG run's budget (run_budget)")
        if chosen.provider == "braket":
            from airflow_dataops.runtime.local_quantum import to_braket_program

            to_braket_program(circuit)
    except InvalidInputError as error:
        match = _QASM_LINE.search(error.problem)
        return [Finding(str(error), int(match.group(1)) if match else None)]
    return []


# ----------------------------------------------------------------------------- SQL


def sql_findings(sql: str) -> list[Finding]:
    """Whether ``sql`` parses in Trino's dialect (sqlglot); Jinja handled as the module says."""
    import sqlglot
    from sqlglot.errors import ParseError, SqlglotError

    if _JINJA_STATEMENT.search(sql):
        return [
            Finding(
                "the SQL holds Jinja statements ({% ... %}): what runs depends on run-time values, not checked",
                severity="notice",
            )
        ]
    # Keep every newline, so line numbers still point into the text the author wrote.
    text = _JINJA_COMMENT.sub(lambda m: "\n" * m.group().count("\n"), sql)
    templated = bool(_JINJA_EXPRESSION.search(text))
    text = _JINJA_EXPRESSION.sub(lambda m: PLACEHOLDER + "\n" * m.group().count("\n"), text)
    if not text.strip():
        return [Finding("the SQL is empty")]
    try:
        sqlglot.parse(text, read="trino")
    except ParseError as error:
        first = error.errors[0] if error.errors else {}
        line = first.get("line")
        where = f"line {line}, column {first.get('col')}: " if first else ""
        problem = f"does not parse as Trino SQL ({where}{first.get('description', error)})"
        lines = text.splitlines()
        if templated and isinstance(line, int) and 0 < line <= len(lines) and PLACEHOLDER in lines[line - 1]:
            return [
                Finding(
                    f"the SQL {problem} with each {{{{ ... }}}} replaced by a placeholder; the rendered SQL may "
                    "parse: not checked further",
                    line,
                    "notice",
                )
            ]
        suffix = " (with each {{ ... }} replaced by a placeholder)" if templated else ""
        return [Finding(f"the SQL {problem}{suffix}. Fix: correct the statement", line)]
    except SqlglotError as error:  # the tokenizer: an unterminated string or comment
        return [Finding(f"the SQL does not parse as Trino SQL ({error}). Fix: correct the statement")]
    return []


def sql_texts(sql: object, folder: Path) -> list[tuple[str, Path | None]]:
    """The statements a task was given, with the ``.sql`` file each came from (``None``: inline)."""
    items = sql if isinstance(sql, list | tuple) else [sql]
    texts: list[tuple[str, Path | None]] = []
    for item in items:
        if not isinstance(item, str):
            continue
        candidate = item.strip()
        if candidate.endswith(".sql") and "\n" not in candidate and " " not in candidate:
            path = Path(candidate) if Path(candidate).is_absolute() else folder / candidate
            if path.is_file():
                texts.append((path.read_text(), path))
                continue
        texts.append((item, None))
    return texts
