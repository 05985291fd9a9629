"""The outcome of checking a DAG bundle before it is deployed, and the three ways to print it.

``airflow dataops check PATH`` (:mod:`airflow_dataops.cli.bundle_check`) collects every
problem of a bundle into one :class:`Report` instead of stopping at the first, so one CI
run shows all of them. A problem names the check that found it, the file and line when
they are known, and the DAG and task. Two severities: an ``error`` fails the check
(exit code 1); a ``notice`` says what could not be checked (templated SQL, a circuit
that only exists at run time) and never fails it.

Formats: :func:`format_text` for people, :func:`format_json` for programs, and
:func:`format_github` for GitHub Actions' workflow commands (``::error file=F,line=L::``),
which the runner turns into annotations on the pull request's files. Plain data in,
strings out: no Airflow here.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

#: What a problem can be about, in the order the report lists them.
CHECKS = ("import", "declaration", "placement", "quantum", "sql")
SEVERITIES = ("error", "notice")


@dataclass(frozen=True)
class Problem:
    """One finding: what is wrong (or was not checked), where, and in which DAG and task."""

    check: str
    message: str
    file: str | None = None
    line: int | None = None
    dag_id: str | None = None
    task_id: str | None = None
    severity: str = "error"

    def __post_init__(self) -> None:
        if self.check not in CHECKS:
            raise ValueError(f"unknown check {self.check!r}; use one of {', '.join(CHECKS)}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}; use one of {', '.join(SEVERITIES)}")

    def location(self, base: Path | None = None) -> str:
        """``file:line`` (or ``file``, or ``-``), the file relative to ``base`` when it lies under it."""
        if self.file is None:
            return "-"
        path = display_path(self.file, base)
        return f"{path}:{self.line}" if self.line else path

    def subject(self) -> str:
        """``dag_id.task_id``, ``dag_id``, or empty."""
        return ".".join(part for part in (self.dag_id, self.task_id) if part)


@dataclass
class Report:
    """Everything one check run found in a bundle, and what it looked at."""

    bundle: str
    problems: list[Problem] = field(default_factory=list)
    #: How many things each check looked at, so "0 problems" can be told from "nothing checked".
    checked: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHECKS, 0))

    def add(self, problem: Problem) -> None:
        """Record a problem."""
        self.problems.append(problem)

    def count(self, check: str, how_many: int = 1) -> None:
        """Record that ``check`` looked at ``how_many`` more things."""
        self.checked[check] = self.checked.get(check, 0) + how_many

    @property
    def errors(self) -> list[Problem]:
        """The problems that fail the check."""
        return [p for p in self.sorted() if p.severity == "error"]

    @property
    def notices(self) -> list[Problem]:
        """What was not checked, and why."""
        return [p for p in self.sorted() if p.severity == "notice"]

    @property
    def exit_code(self) -> int:
        """0 when no error was found, 1 otherwise (notices do not count)."""
        return 1 if self.errors else 0

    def sorted(self) -> list[Problem]:
        """Problems by file, line, check: a stable order for every format."""
        return sorted(
            self.problems,
            key=lambda p: (p.file or "", p.line or 0, CHECKS.index(p.check), p.subject(), p.message),
        )


def display_path(path: str, base: Path | None = None) -> str:
    """``path`` relative to ``base`` (default: the working directory) when under it, else as given."""
    base = base or Path.cwd()
    try:
        return Path(os.path.abspath(path)).relative_to(os.path.abspath(base)).as_posix()
    except ValueError:
        return path


def format_text(report: Report, base: Path | None = None) -> str:
    """The report for a person reading a terminal or a CI log."""
    lines = [f"airflow dataops check {report.bundle}"]
    checked = ", ".join(f"{name} {report.checked.get(name, 0)}" for name in CHECKS)
    lines.append(f"checked: {checked}")
    for problem in report.sorted():
        subject = f" [{problem.subject()}]" if problem.subject() else ""
        head = f"{problem.location(base)}: {problem.severity} ({problem.check}){subject}: "
        first, *rest = problem.message.splitlines() or [""]
        lines.append(head + first)
        lines.extend(f"    {more}" for more in rest)
    errors, notices = len(report.errors), len(report.notices)
    verdict = "FAILED" if errors else "OK"
    lines.append(f"{verdict}: {errors} error{'s' * (errors != 1)}, {notices} notice{'s' * (notices != 1)}")
    return "\n".join(lines) + "\n"


def format_json(report: Report, base: Path | None = None) -> str:
    """The report as one JSON document (paths relative to ``base`` when under it)."""
    problems = []
    for problem in report.sorted():
        data = asdict(problem)
        data["file"] = display_path(problem.file, base) if problem.file else None
        problems.append(data)
    document = {
        "bundle": report.bundle,
        "ok": report.exit_code == 0,
        "exit_code": report.exit_code,
        "errors": len(report.errors),
        "notices": len(report.notices),
        "checked": {name: report.checked.get(name, 0) for name in CHECKS},
        "problems": problems,
    }
    return json.dumps(document, indent=2) + "\n"


def _escape_data(text: str) -> str:
    """Escape a workflow command's message, as GitHub's toolkit does (``%``, CR, LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    """Escape a workflow command's property value (also ``:`` and ``,``)."""
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(report: Report, base: Path | None = None) -> str:
    """GitHub Actions workflow commands, one per problem: ``::error file=F,line=L,title=T::message``.

    Errors become ``error`` annotations, notices ``notice`` ones. Paths are made relative
    to ``base`` (the repository root in CI, i.e. the working directory), as GitHub
    expects to place the annotation on the file.
    """
    lines = []
    for problem in report.sorted():
        properties = []
        if problem.file:
            properties.append(f"file={_escape_property(display_path(problem.file, base))}")
            if problem.line:
                properties.append(f"line={problem.line}")
        title = f"dataops check: {problem.check}" + (f" ({problem.subject()})" if problem.subject() else "")
        properties.append(f"title={_escape_property(title)}")
        lines.append(f"::{problem.severity} {','.join(properties)}::{_escape_data(problem.message)}")
    return "".join(line + "\n" for line in lines)
