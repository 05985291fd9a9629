"""The lineage backlog: a gauge each time a record is spooled, a notification when the spool grows.

Settings (``[dataops]``):

- ``lineage_backlog_threshold`` (default 100): records waiting before the first notification;
- ``lineage_backlog_notifier``: notifier objects to call, as import paths
  (``my_company.alerts.ops_slack``, comma-separated for several). None: no notification.

A notification goes out once per level (the threshold, then each doubling: 100, 200,
400, ...) and episode, whichever task process reaches the level first: an empty marker
file per level, created exclusively in the spool folder, decides. The episode ends,
and the markers go, when the backlog is below the threshold again.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from airflow_dataops.core import metrics

log = logging.getLogger(__name__)
_MARKER = ".backlog-alert-"


def _settings() -> tuple[int, str]:
    from airflow_dataops.config import option

    threshold = int(option("lineage_backlog_threshold") or metrics.DEFAULT_BACKLOG_THRESHOLD)
    return threshold, option("lineage_backlog_notifier") or ""


def _first_to_reach(folder: Path, level: int) -> bool:
    """Whether this process is the first to see ``level`` in this episode (atomic across processes)."""
    try:
        os.close(os.open(folder / f"{_MARKER}{level}", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def _end_episode(folder: Path) -> None:
    for marker in folder.glob(f"{_MARKER}*"):
        marker.unlink(missing_ok=True)


def report_backlog(folder: str, waiting: int, problem: str | None, source: Any = None) -> None:
    """Emit the backlog gauge and, at a new level, call the configured notifiers; never raise.

    ``source`` is the task instance or DAG run whose record was just spooled; it is in
    the notifier's context as ``ti`` or ``dag_run``.
    """
    from airflow_dataops import observability

    observability.lineage_backlog(waiting)
    try:
        threshold, paths = _settings()
        level = metrics.backlog_level(waiting, threshold)
        if level is None:
            _end_episode(Path(folder))
            return
        if not paths or not _first_to_reach(Path(folder), level):
            return
        event = metrics.backlog_event(waiting=waiting, threshold=threshold, level=level, spool=folder, problem=problem)
        log.warning("Lineage backlog: %s", event["summary"])
        context: dict[str, Any] = {}
        if source is not None:
            context = {"ti": source, "task_instance": source} if hasattr(source, "task_id") else {"dag_run": source}
        observability.notify(observability.load_notifiers(paths), context, event)
    except Exception as error:
        log.warning("Lineage backlog: no notification sent: %s", error)
