"""Template fields are rendered before they are interpreted: what the provider's operators share.

Airflow renders a task's template fields in the worker, just before ``execute``. In
``__init__`` (when the DAG file is parsed) a templated argument is still a Jinja string
or an ``XComArg``: an operator must not convert or interpret it there. So each operator
validates an argument twice, at the earliest moment its value is known:

- a literal, in ``__init__``: the mistake shows when the DAG is parsed, in the DAG
  processor's import errors and in ``airflow dataops check``;
- a templated value, at the start of ``execute``, on what it rendered to, before
  anything is submitted or paid for.

Both raise :class:`~airflow_dataops.core.errors.InvalidInputError` naming the task, the
argument and the fix; for a rendered value the message also quotes the template, since
that is where the fix usually is.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from typing import Any

from airflow.sdk import XComArg

from airflow_dataops.core.errors import InvalidInputError

#: What starts a Jinja expression, statement or comment in Airflow's default environment.
JINJA_MARKERS = ("{{", "{%", "{#")


def is_templated(value: Any) -> bool:
    """Whether rendering replaces ``value`` (or something inside it): a Jinja string or an ``XComArg``.

    Such a value can only be checked once rendered; everything else is a literal and
    is checked when the operator is created.
    """
    if isinstance(value, str):
        return any(marker in value for marker in JINJA_MARKERS)
    if isinstance(value, XComArg):
        return True
    if isinstance(value, Mapping):
        return any(is_templated(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(is_templated(v) for v in value)
    return False


def shown(value: Any, limit: int = 120) -> str:
    """``value`` as it appears in an error message: its repr, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def invalid(task_id: str, argument: str, problem: str, fix: str, template: Any = None) -> InvalidInputError:
    """The error for a bad argument; ``template`` is what the value was rendered from, if it was."""
    if template is not None:
        problem = f"{problem} (rendered from {shown(str(template))})"
    return InvalidInputError(f"task {task_id!r}", argument, problem, fix)


def structure_from_text(value: Any) -> Any:
    """A rendered string holding a dict or list, as that dict or list; any other value unchanged.

    Without ``render_template_as_native_obj`` Airflow renders every template to a
    string: ``{{ params.angles }}`` gives ``"{'theta': 0.5}"`` and an XCom pulled in a
    template gives its JSON or Python text. JSON is read first, then Python literals
    (``ast.literal_eval``, which evaluates no code). A string that is neither stays a
    string, for the caller to refuse.
    """
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text.startswith(("{", "[", "(")):
        return value
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return value
