"""A real MLflow tracking server (``mlflow server``, SQLite backend) on loopback, for lineage tests.

With ``admin_password``, it runs MLflow's own basic-auth app (``--app-name basic-auth``),
whose admin user is ``admin``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopback import free_port


@dataclass
class MlflowServer:
    """A running ``mlflow server`` that can be stopped and started again on the same store and port."""

    folder: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    log_file: Any = None
    admin_password: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _log(self) -> Any:
        """The server's log file (kept, so that stop() closes it)."""
        self.log_file = (self.folder / "server.log").open("ab")
        return self.log_file

    def start(self, timeout: float = 120.0) -> None:
        """Start it and wait until ``/health`` answers."""
        mlflow = Path(sys.executable).with_name("mlflow")
        command = [
            str(mlflow), "server", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
            "--backend-store-uri", f"sqlite:///{self.folder / 'mlflow.db'}",
            "--default-artifact-root", str(self.folder / "artifacts"),
        ]  # fmt: skip
        env = dict(os.environ)
        if self.admin_password:
            config = self.folder / "basic_auth.ini"
            config.write_text(
                "[mlflow]\ndefault_permission = READ\n"
                f"database_uri = sqlite:///{self.folder / 'auth.db'}\n"
                f"admin_username = admin\nadmin_password = {self.admin_password}\n"
                "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
            )
            command += ["--app-name", "basic-auth"]
            env["MLFLOW_AUTH_CONFIG_PATH"] = str(config)
            env["MLFLOW_FLASK_SERVER_SECRET_KEY"] = "csrf-key-of-the-test-server"
        self.process = subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._log(),
            start_new_session=True,  # its own process group: stop() kills uvicorn's workers too
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mlflow server exited; see {self.folder / 'server.log'}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()  # never leave a server behind when it was too slow to start
        raise RuntimeError(f"mlflow server did not answer within {timeout} s; see {self.folder / 'server.log'}")

    def stop(self) -> None:
        """Kill it (as a crash would) and wait for its workers to go."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.process = None
            self.log_file.close()


def start_mlflow_server(folder: Path, admin_password: str | None = None) -> MlflowServer:
    """A fresh server on a free port, storing under ``folder`` (with basic auth if ``admin_password``)."""
    server = MlflowServer(folder, free_port(), admin_password=admin_password)
    server.start()
    return server
