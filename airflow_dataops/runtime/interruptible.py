"""Run blocking engine work so that Airflow's timeout and kill signals stop it at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def run_interruptibly(call: Callable[[], T], interrupt: Callable[[], None]) -> T:
    """Run ``call`` in a helper thread while this thread waits in Python; interrupt it on any exception.

    DuckDB does not return to Python while a statement runs, so a signal (Airflow's
    ``execution_timeout`` alarm, the SIGTERM that kills a task) would wait for the whole
    query; and an exception raised by a signal inside a client library (the trino
    client's retry loop, urllib3) can be swallowed there. Waiting here instead lets the
    signal's exception arrive at once, in our code; the work is then interrupted (DuckDB
    interrupt, Trino cancel) and the exception goes on. (An ``Event`` is waited on, not
    ``Thread.join``: a join broken by an exception can be left unusable.)
    """
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        try:
            outcome["value"] = call()
        except BaseException as error:
            outcome["error"] = error
        finally:
            done.set()

    threading.Thread(target=work, name="embedded-sql", daemon=True).start()
    try:
        while not done.wait(0.05):
            pass
    except BaseException:
        interrupt()
        done.wait()
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]
