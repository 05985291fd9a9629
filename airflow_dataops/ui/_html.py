"""The overview page as server-rendered HTML, from Jinja templates over the data the JSON route returns.

The markup lives in ``airflow_dataops/ui/templates/`` (``page.html.j2`` and the partials
and macros it uses); this module only builds the Jinja environment and renders. The
environment escapes every value itself (``autoescape=True``), so no template and no
caller escapes by hand, and a value with ``<script>`` or quotes (a DAG id, a target
name, a probe's error) shows as text. ``StrictUndefined`` turns a misspelt or missing
variable into an error instead of an empty cell. No JavaScript and no build step: one
HTML document with inline CSS. Elements carry ``data-*`` attributes (target name,
health, decision task) so that scripts and tests can find them without depending on
the layout.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined


def money(value: Any) -> str:
    """Dollars with four decimals (prices per hour are often fractions of a cent); ``-`` when unknown."""
    return "-" if value is None else f"${float(value):,.4f}"


def number(value: Any, digits: int = 1) -> str:
    """A quantity (CPUs, GiB, milliseconds) with ``digits`` decimals; ``-`` when unknown."""
    return "-" if value is None else f"{float(value):.{digits}f}"


def percent(value: Any) -> str:
    """A ratio as a whole percentage (``0.25`` is ``25%``)."""
    return f"{float(value):.0%}"


def moment(iso: str | None) -> str:
    """An ISO timestamp (UTC) as ``YYYY-MM-DD HH:MM:SS UTC``; ``-`` when there is none."""
    return f"{iso[:19].replace('T', ' ')} UTC" if iso else "-"


@cache
def environment() -> Environment:
    """The page's Jinja environment, built once per process.

    Templates are package data (found through the package, so they work from a wheel
    or a zip as well as from a checkout); blocks and their line breaks are trimmed so
    that the templates can be laid out for reading.
    """
    env = Environment(
        loader=PackageLoader("airflow_dataops.ui", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(money=money, number=number, percent=percent, moment=moment)
    return env


def render(overview: Mapping[str, Any]) -> str:
    """The whole page, for ``overview`` as :func:`airflow_dataops.ui.app.build_overview` returns it."""
    return environment().get_template("page.html.j2").render(overview=overview)


def render_missing_run(reason: str) -> str:
    """The page that says why a task try has no MLflow run to open."""
    return environment().get_template("mlflow_missing.html.j2").render(reason=reason)
