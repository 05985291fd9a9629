"""Finding the line a bundle check's finding belongs to, in DAG files and the declaration.

Airflow does not record where a task was created, so the line of a task is found in its
DAG file's source: the call that passes ``task_id="..."`` with the task's own id (the
part after its task group's prefix). SQL and circuits given as literals are found by
their text. A declaration error names a target and a field path
(``node_pools[0].allocatable.memory``), which is followed through the YAML's node tree.
Each function returns ``None`` when it cannot tell: a finding without a line is still
reported, with its file.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)', re.MULTILINE)
_FIELD_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def task_line(source: str, task_id: str) -> int | None:
    """The line of the call creating the task ``task_id`` (``group.task`` is looked up as ``task``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    own_id = task_id.rpartition(".")[2]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                value = keyword.value
                if keyword.arg == "task_id" and isinstance(value, ast.Constant) and value.value == own_id:
                    return node.lineno
    return None


def text_line(source: str, text: str, line_in_text: int = 1) -> int | None:
    """The line of ``source`` where line ``line_in_text`` of ``text`` is, if ``text`` appears verbatim."""
    stripped = text.strip("\n")
    if not stripped.strip():
        return None
    index = source.find(stripped)
    if index < 0:
        return None
    leading = len(text) - len(text.lstrip("\n"))  # line numbers inside ``text`` count its leading newlines
    return source.count("\n", 0, index) + 1 + max(line_in_text - 1 - leading, 0)


def traceback_location(traceback: str, root: Path) -> tuple[str | None, int | None]:
    """The innermost frame of ``traceback`` that lies inside ``root`` (the bundle), as (file, line)."""
    resolved_root = root.resolve()
    found: tuple[str | None, int | None] = (None, None)
    for match in _FRAME.finditer(traceback):
        path = Path(match.group("file"))
        if path.is_absolute() and path.resolve().is_relative_to(resolved_root):
            found = (str(path), int(match.group("line")))
    return found


def declaration_line(yaml_text: str, target: str | None, field_path: str) -> int | None:
    """The line of ``field_path`` of ``target`` in a supercluster declaration (the nearest known one).

    ``target`` is a target name or ``#<position>`` (1-based), as
    :class:`~airflow_dataops.core.placement.supercluster.SuperclusterConfigError` names it; ``None``
    means the top level. Falls back to the deepest node found on the way.
    """
    import yaml

    try:
        root = yaml.compose(yaml_text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        return int(mark.line) + 1 if mark is not None else None
    if not isinstance(root, yaml.MappingNode):
        return 1
    node: Any = root
    line = _line(root)
    if target is not None:
        targets = _child(root, "targets")
        if targets is None or not isinstance(targets[1], yaml.SequenceNode):
            return _line(targets[0]) if targets else line
        line = _line(targets[0])
        node = _target_node(targets[1], target)
        if node is None:
            return line
        line = _line(node)
    for name, index in _FIELD_PART.findall(field_path):
        if name:
            pair = _child(node, name)
            if pair is None:
                break
            line, node = _line(pair[0]), pair[1]
        else:
            item = _item(node, int(index))
            if item is None:
                break
            line, node = _line(item), item
    return line


def _target_node(targets: Any, target: str) -> Any:
    if target.startswith("#") and target[1:].isdigit():
        return _item(targets, int(target[1:]) - 1)
    for item in targets.value:
        name = _child(item, "name")
        if name is not None and getattr(name[1], "value", None) == target:
            return item
    return None


def _child(node: Any, key: str) -> tuple[Any, Any] | None:
    """(key node, value node) of ``key`` in a mapping node."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if getattr(key_node, "value", None) == key:
            return key_node, value_node
    return None


def _item(node: Any, index: int) -> Any:
    import yaml

    if isinstance(node, yaml.SequenceNode) and 0 <= index < len(node.value):
        return node.value[index]
    return None


def _line(node: Any) -> int:
    return int(node.start_mark.line) + 1
