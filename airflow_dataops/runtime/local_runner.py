"""The ``local`` target: a pod's command run as a process on the worker, for development.

A laptop, CI and the showcase demo have no cluster; the ``local`` target lets the same
task definition run there. It runs the base container's ``command`` + ``args`` with the
container's literal ``env`` values, in the worker's environment, from the DAG file's
folder (so ``python -m`` finds the bundle's modules, as an image that ships the bundle
would), and streams the output line by line. A command starting with ``python`` or
``python3`` runs under the worker's own interpreter. What it ignores, by design: the
image (the worker's own software runs the command), volumes and mounts,
``valueFrom``/``envFrom`` env, resource requests and limits, security context,
sidecars and init containers. It is not isolation; do not use it for untrusted code.

XCom: the process gets ``AIRFLOW_DATAOPS_XCOM_FILE``, a path to write the JSON result
to, because ``/airflow/xcom/return.json`` (the sidecar's volume on a cluster) does not
exist on a worker. A script that writes to
``os.environ.get("AIRFLOW_DATAOPS_XCOM_FILE", "/airflow/xcom/return.json")`` works on
both.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

XCOM_ENV = "AIRFLOW_DATAOPS_XCOM_FILE"


class LocalPodError(ValueError):
    """The pod cannot run locally (e.g. it has no command)."""


class LocalProcess:
    """One run of a pod command; ``kill()`` stops it and everything it started."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], cwd: str | None = None) -> None:
        if not argv:
            raise LocalPodError(
                "the local target runs the pod's command, and the base container has neither "
                "'cmds' nor 'arguments'; give the task cmds=[...] (the image entrypoint is not available locally)"
            )
        self.argv = [sys.executable, *argv[1:]] if argv[0] in ("python", "python3") else list(argv)
        self._env = dict(env)
        self._cwd = cwd
        self._process: subprocess.Popen[bytes] | None = None
        self._xcom_dir = tempfile.TemporaryDirectory(prefix="airflow-dataops-xcom-")
        self.xcom_file = Path(self._xcom_dir.name) / "return.json"

    def run(self, on_line: Callable[[str], None]) -> int:
        """Run to the end, handing each output line to ``on_line``; return the exit code."""
        env = {**os.environ, **self._env, XCOM_ENV: str(self.xcom_file)}
        try:
            self._process = subprocess.Popen(
                self.argv,
                env=env,
                cwd=self._cwd,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so kill() reaches its children
            )
        except OSError as error:
            raise LocalPodError(f"cannot start {self.argv[0]!r}: {error}; is it installed on the worker?") from None
        assert self._process.stdout is not None
        with self._process.stdout:
            for raw in self._process.stdout:
                on_line(raw.decode(errors="backslashreplace").rstrip("\n"))
        return self._process.wait()

    def xcom(self) -> str | None:
        """What the process wrote to its XCom file, if anything."""
        return self.xcom_file.read_text() if self.xcom_file.exists() else None

    def kill(self) -> None:
        """Stop the process group (no-op when not running)."""
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)

    def close(self) -> None:
        """Remove the XCom folder."""
        self._xcom_dir.cleanup()
