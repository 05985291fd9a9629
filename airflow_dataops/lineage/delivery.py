"""How spooled lineage records reach MLflow: within the task, or from a server process's own thread.

Two places end a record, and each sends it in the way that place can afford:

- A task process (``on_task_instance_*``) sends the spool itself before it ends, waiting
  at most ``[dataops] lineage_send_timeout`` seconds. Nothing outlives the task, so an
  ephemeral worker (a Celery worker in a pod, a KubernetesExecutor pod) loses nothing
  when its disk goes with it, as long as MLflow answered. What MLflow did not take waits
  in the spool for the next task on that machine, or for the documented sender service
  (``python -m airflow_dataops.lineage send --every N``); point ``lineage_spool`` at
  shared storage where workers are ephemeral and MLflow may be down.
- A server process (the scheduler ends DAG runs; the scheduler and the API server can
  fail task instances) must not wait on MLflow, the metadata database or anything else
  inside its loop: a lookup there once detached the scheduler's DagRun from its session
  and crashed it. Its records go to :class:`BackgroundSender`, one daemon thread per
  process, which looks the connection up with its own database session, spools and
  sends. A missing or unreachable MLflow costs the loop a queue ``put``.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from typing import Any

from airflow_dataops.core.lineage import LineageRecord
from airflow_dataops.lineage.settings import mlflow_conn_id, spool_folder
from airflow_dataops.lineage.spool import Spool

log = logging.getLogger(__name__)
#: Seconds a process that ends waits for its background sender to spool (and try to send) what it holds.
EXIT_FLUSH_SECONDS = 30.0


def connected_hook() -> Any:
    """The MLflow hook of the configured connection, its connection fetched; None when there is none."""
    from airflow_dataops.hooks.mlflow import MlflowHook

    hook = MlflowHook(mlflow_conn_id())
    try:
        hook.connection  # noqa: B018  (fetched here, in the caller's thread: a task's supervisor channel)
    except Exception:
        return None
    return hook


def send_unlocked(spool: Spool, hook: Any, health_timeout: float = 3.0) -> int:
    """Send ``spool`` (its sender lock held by the caller); stop at the first failure.

    A failure is noted in the spool, so that the next task's log says why lineage waits.
    ``health_timeout`` bounds the health check: a server that is down refuses at once,
    but a busy one may answer slowly, and a task that may wait longer gives it that time.
    """
    conn_id, sent = hook.mlflow_conn_id, 0
    if spool.pending() and not hook.reachable(health_timeout):
        spool.note_problem(
            f"{hook.tracking_uri} does not answer; check that the tracking server runs and that connection "
            f"{conn_id!r} names it (host and port, or the tracking_uri extra)"
        )
        log.warning("MLflow lineage: %s", spool.problem())
        return 0
    for claimed, record in spool.claim():
        try:
            hook.write(record)
        except Exception as error:
            Spool.release(claimed)
            spool.note_problem(_explained(error, conn_id))
            log.warning("MLflow lineage: %s not sent: %s", record.key, spool.problem())
            return sent
        Spool.done(claimed)
        sent += 1
    spool.clear_problem()
    return sent


def send_spool() -> int:
    """Send what waits in the spool, after any running sender of this machine; return how many were sent.

    Records that this process's background sender still holds are spooled first.
    """
    BackgroundSender.flush()
    hook = connected_hook()
    if hook is None:
        return 0
    spool = Spool(spool_folder())
    with spool.sending(wait=True):  # a file lock: it also orders threads of one process
        return send_unlocked(spool, hook)


def send_within(spool: Spool, hook: Any, seconds: float) -> bool:
    """Send the spool from a helper thread, waiting at most ``seconds``; return whether it finished.

    MLflow's client retries a failing request for minutes; the task waits no longer than
    its budget. A send cut short leaves its claimed record to the next sender (a claim
    whose process is gone is taken back), and writes are idempotent, so nothing doubles.
    """

    def send() -> None:
        try:
            with spool.sending(wait=True):
                send_unlocked(spool, hook, health_timeout=max(3.0, deadline - time.monotonic()))
        except Exception as error:  # lineage never fails a task
            log.warning("MLflow lineage: sending failed: %s", error)

    deadline = time.monotonic() + seconds
    sender = threading.Thread(target=send, name="dataops-lineage-send", daemon=True)
    sender.start()
    sender.join(seconds)
    return not sender.is_alive()


def _explained(error: Exception, conn_id: str) -> str:
    """What failed, and what to change."""
    text = " ".join(str(error).split())[:500]
    if any(code in text for code in ("401", "403", "Unauthorized", "Permission")):
        return (
            f"MLflow refused the credentials ({text}); check the login and password (or token) of "
            f"connection {conn_id!r}"
        )
    return f"{text}; the records wait in the spool and are sent again with the next task"


class BackgroundSender:
    """One daemon thread per server process that spools and sends the records handed to it.

    The caller (the scheduler's loop) only puts a built record on a queue. The thread
    does everything that may block: it looks the MLflow connection up (with a database
    session of its own thread, never the loop's), drops the record when no connection
    exists, else spools it and sends the spool.
    """

    _instance: BackgroundSender | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self.records: queue.Queue[LineageRecord] = queue.Queue()
        self.pid = os.getpid()
        self.thread = threading.Thread(target=self._run, name="dataops-lineage-background", daemon=True)
        self.thread.start()
        # A process that ends (``airflow dags test``, a scheduler stopping) first spools what it was given.
        atexit.register(BackgroundSender.flush, EXIT_FLUSH_SECONDS)

    @classmethod
    def submit(cls, record: LineageRecord) -> None:
        """Hand ``record`` over; returns at once."""
        with cls._lock:
            if cls._instance is None or not cls._instance.thread.is_alive():
                cls._instance = cls()
            cls._instance.records.put(record)

    @classmethod
    def flush(cls, timeout: float = 60.0) -> None:
        """Wait (at most ``timeout`` s) until this process's background sender has handled what it was given."""
        instance = cls._instance
        if instance is None or instance.pid != os.getpid():  # a forked child has no such thread
            return
        done = threading.Event()

        def wait() -> None:
            instance.records.join()
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        done.wait(timeout)

    def _run(self) -> None:
        while True:
            record = self.records.get()
            try:
                self._deliver(record)
            except Exception as error:  # never let the thread die on one record
                log.warning("MLflow lineage: the record %s was not made: %s", record.key, error)
            finally:
                self.records.task_done()

    @staticmethod
    def _deliver(record: LineageRecord) -> None:
        from airflow_dataops.lineage.backlog import report_backlog

        hook = connected_hook()
        if hook is None:
            return
        folder = spool_folder()
        spool = Spool(folder)
        spool.put(record)
        with spool.sending(wait=True):
            send_unlocked(spool, hook)
        report_backlog(folder, spool.pending(), spool.problem())  # what still waits, as after a task's send
