"""The one error type every domain raises for input that cannot be used.

It lives apart from the domains so that SQL, quantum and placement code can raise it
without importing each other: the message always names the subject, the field, the
problem and the fix, and Airflow shows it in the task log before anything is submitted.
"""

from __future__ import annotations


class InvalidInputError(ValueError):
    """Input that cannot be used; the message names what, which field, and the fix."""

    def __init__(self, subject: str, field_name: str, problem: str, fix: str) -> None:
        super().__init__(f"{subject}, field '{field_name}': {problem}. Fix: {fix}")
        self.field = field_name
        self.problem = problem
        self.fix = fix
