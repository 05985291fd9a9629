"""Circuits in any of the forms a DAG author has, turned into one: a Qiskit ``QuantumCircuit``.

Accepted: OpenQASM 2 or 3 text, a path to a ``.qasm`` file, a Qiskit ``QuantumCircuit``,
or a Braket ``Circuit`` (converted by qiskit-braket-provider, not by us). Parse errors
name the line and column. Parameters are bound by name; a missing or unknown one is an
error before anything runs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from airflow_dataops.core.errors import InvalidInputError

_POSITION = re.compile(r"(?:<input>:)?(\d+),(\d+):\s*(.*)", re.DOTALL)


class CircuitError(InvalidInputError):
    """The circuit cannot be read or bound; the message says where and how to fix it."""

    def __init__(self, problem: str, fix: str, field_name: str = "circuit") -> None:
        super().__init__("the circuit", field_name, problem, fix)


def _parse_error(version: str, error: Exception) -> CircuitError:
    text = str(error).strip().strip('"')
    match = _POSITION.match(text)
    where = f"line {match.group(1)}, column {match.group(2)}: {match.group(3)}" if match else text
    return CircuitError(f"OpenQASM {version} does not parse: {where}", "fix the program at that position")


def _from_text(text: str) -> Any:
    import qiskit.qasm2
    import qiskit.qasm3

    header = text.lstrip()[:12].upper()
    if header.startswith("OPENQASM 2"):
        try:
            return qiskit.qasm2.loads(text, custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
        except qiskit.qasm2.QASM2ParseError as error:
            raise _parse_error("2", error) from None
    if header.startswith("OPENQASM 3"):
        from openqasm3.parser import QASM3ParsingError

        try:
            return qiskit.qasm3.loads(text)
        except qiskit.qasm3.QASM3ImporterError as error:
            raise _parse_error("3", error) from None
        except QASM3ParsingError:  # a syntax error: the exception carries no text, ask the grammar where
            raise _parse_error("3", ValueError(_qasm3_syntax_error(text))) from None
    raise CircuitError(
        "the text is neither OpenQASM 2 nor 3 (it must start with 'OPENQASM 2.0;' or 'OPENQASM 3.0;')",
        "give OpenQASM text, a path to a .qasm file, a qiskit QuantumCircuit or a Braket Circuit",
    )


def _qasm3_syntax_error(text: str) -> str:
    """``"line,column: message"`` of the first OpenQASM 3 syntax error, from the reference grammar."""
    from antlr4 import CommonTokenStream, InputStream
    from antlr4.error.ErrorListener import ErrorListener
    from openqasm3._antlr.qasm3Lexer import qasm3Lexer
    from openqasm3._antlr.qasm3Parser import qasm3Parser

    errors: list[str] = []

    class Collect(ErrorListener):  # type: ignore[misc]
        def syntaxError(self, recognizer: Any, symbol: Any, line: int, column: int, msg: str, e: Any) -> None:
            errors.append(f"{line},{column}: {msg}")

    lexer = qasm3Lexer(InputStream(text))
    parser = qasm3Parser(CommonTokenStream(lexer))
    for recognizer in (lexer, parser):
        recognizer.removeErrorListeners()
        recognizer.addErrorListener(Collect())
    parser.program()
    return errors[0] if errors else "syntax error"


def load_circuit(source: Any) -> Any:
    """The circuit ``source`` describes, as a Qiskit ``QuantumCircuit``."""
    from qiskit import QuantumCircuit

    if isinstance(source, QuantumCircuit):
        return source
    if type(source).__module__.startswith("braket.circuits"):
        from qiskit_braket_provider.providers.adapter import to_qiskit

        return to_qiskit(source)
    if isinstance(source, Path) or (
        isinstance(source, str) and source.strip().endswith(".qasm") and "\n" not in source
    ):
        path = Path(source)
        if not path.is_file():
            raise CircuitError(f"the file {path} does not exist", "give an existing .qasm file or the program text")
        return _from_text(path.read_text())
    if isinstance(source, str):
        return _from_text(source)
    raise CircuitError(
        f"a {type(source).__name__} is not a circuit",
        "give OpenQASM text, a path to a .qasm file, a qiskit QuantumCircuit or a Braket Circuit",
    )


def bind(circuit: Any, parameters: Mapping[str, float] | None) -> Any:
    """``circuit`` with every parameter bound by name; all must be given, none unknown."""
    names = {p.name: p for p in circuit.parameters}
    given = dict(parameters or {})
    missing, unknown = sorted(set(names) - set(given)), sorted(set(given) - set(names))
    if missing or unknown:
        problem = "; ".join(
            part
            for part in (
                f"parameters without a value: {', '.join(missing)}" if missing else "",
                f"values for unknown parameters: {', '.join(unknown)}" if unknown else "",
            )
            if part
        )
        raise CircuitError(problem, f"bind exactly: {', '.join(sorted(names)) or '(no parameters)'}", "parameters")
    if not names:
        return circuit
    return circuit.assign_parameters({names[k]: float(v) for k, v in given.items()})


def ensure_measured(circuit: Any) -> Any:
    """The circuit itself if it measures anything, else a copy measuring every qubit."""
    if any(instruction.operation.name == "measure" for instruction in circuit.data):
        return circuit
    measured = circuit.copy()
    measured.measure_all()
    return measured


def fingerprint(circuit: Any) -> str:
    """A stable hash of the bound circuit (its OpenQASM 3 text), for lineage and reattach checks."""
    import qiskit.qasm3

    return hashlib.sha256(qiskit.qasm3.dumps(circuit).encode()).hexdigest()


def summary(circuit: Any) -> dict[str, Any]:
    """Width, depth and gate counts, for the log and the backend decision."""
    return {
        "qubits": circuit.num_qubits,
        "clbits": circuit.num_clbits,
        "depth": circuit.depth(),
        "gates": {str(k): int(v) for k, v in circuit.count_ops().items()},
    }
