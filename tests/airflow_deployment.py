"""A real Airflow deployment started from the test suite: separate services on PostgreSQL.

What users run, and what ``dag.test()`` is not: ``airflow api-server``, ``scheduler``,
``dag-processor`` and ``triggerer`` as separate processes, a PostgreSQL metadata database
of their own (created for the deployment and dropped afterwards, on the machine's
PostgreSQL at 127.0.0.1:5432), LocalExecutor by default or CeleryExecutor with Redis and
workers that share nothing on disk (each its own ``AIRFLOW_HOME``, as separate machines
would). The tests talk to it only through the public REST API, with a token from the
simple auth manager's login endpoint, as a user's script would.

Also the way to check a deployment of your own: ``AirflowDeployment.api`` needs only the
base URL and a user (see docs/testing.md).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from loopback import free_port

POSTGRES = "postgresql+psycopg2://postgres@127.0.0.1:5432"
ADMIN = ("admin", "deployment-admin-pw-5e1")
FINISHED = {"success", "failed"}


def _postgres(statement: str) -> None:
    """Run one statement on the server's ``postgres`` database (CREATE/DROP DATABASE need autocommit)."""
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


@dataclass
class AirflowDeployment:
    """Airflow's services as separate processes on a PostgreSQL database of their own."""

    root: Path
    dags_folder: Path
    executor: str = "LocalExecutor"
    workers: int = 0
    worker_concurrency: int = 4
    extra_env: dict[str, str] = field(default_factory=dict)
    database: str = field(default_factory=lambda: f"dataops_deploy_{uuid.uuid4().hex[:12]}")
    api_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def home(self) -> Path:
        """The services' AIRFLOW_HOME (the api-server, scheduler, dag-processor and triggerer machine)."""
        return self.root / "airflow"

    def worker_home(self, number: int) -> Path:
        """A Celery worker's own AIRFLOW_HOME: nothing on it is shared with the others."""
        return self.root / f"worker-{number}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def environment(self, home: Path) -> dict[str, str]:
        """What every service of the deployment is configured with (as a Helm chart would set it)."""
        # requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override a connection's own CA (see
        # tests/test_trino_server.py); a worker whose machine sets them would ignore the connection's.
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("AIRFLOW", "_AIRFLOW")) and key not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
        }
        env.update(
            {
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__CORE__EXECUTOR": self.executor,
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__CORE__FERNET_KEY": self._fernet_key,
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN[0]}:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / "passwords.json"),
                "AIRFLOW__API__BASE_URL": self.url,
                "AIRFLOW__API_AUTH__JWT_SECRET": self._jwt_secret,
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"{POSTGRES}/{self.database}",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
                "AIRFLOW__CELERY__BROKER_URL": self._broker,
                "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{POSTGRES}/{self.database}",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra_env)
        return env

    @property
    def _fernet_key(self) -> str:
        import base64

        return base64.urlsafe_b64encode(self._secret_bytes[:32]).decode()

    @property
    def _jwt_secret(self) -> str:
        return self._secret_bytes[32:].hex()

    @property
    def _broker(self) -> str:
        # One Redis database number per deployment, so that two runs never share a queue.
        return f"redis://127.0.0.1:6379/{int(self.database[-4:], 16) % 15 + 1}"

    @property
    def _secret_bytes(self) -> bytes:
        path = self.root / ".secrets"
        if not path.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            path.write_bytes(secrets.token_bytes(64))
        return path.read_bytes()

    def airflow(self, *args: str, home: Path | None = None, timeout: float = 300) -> str:
        """Run one ``airflow`` CLI command as the deployment's services would; fail with its output."""
        done = subprocess.run(
            [str(Path(sys.executable).with_name("airflow")), *args],
            env=self.environment(home or self.home),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    def start(self, timeout: float = 240) -> None:
        """Create the database, migrate it, start every service and wait until the API answers."""
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "passwords.json").write_text(json.dumps({ADMIN[0]: ADMIN[1]}))
        _postgres(f'CREATE DATABASE "{self.database}"')
        self.airflow("db", "migrate")
        self._spawn("api-server", ["api-server", "--port", str(self.api_port), "--host", "127.0.0.1"])
        self._spawn("scheduler", ["scheduler"])
        self._spawn("dag-processor", ["dag-processor"])
        self._spawn("triggerer", ["triggerer"])
        for number in range(self.workers):
            home = self.worker_home(number)
            home.mkdir(parents=True, exist_ok=True)
            name = f"worker-{number}"
            concurrency = str(self.worker_concurrency)
            self._spawn(name, ["celery", "worker", "--concurrency", concurrency, "--celery-hostname", name], home=home)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=2) as answer,
            ):
                if answer.status == 200:
                    return
            time.sleep(0.5)
        raise RuntimeError(f"the api-server did not answer within {timeout} s; see {self.home / 'api-server.log'}")

    def _spawn(self, name: str, args: list[str], home: Path | None = None) -> None:
        log = (self.root / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [str(Path(sys.executable).with_name("airflow")), *args],
            env=self.environment(home or self.home),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() ends its children too
        )
        log.close()

    def log(self, name: str) -> str:
        """What a service has printed so far."""
        return (self.root / f"{name}.log").read_text(errors="replace")

    def check_alive(self) -> None:
        """Fail, with the end of its log, if a service has exited."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise AssertionError(f"{name} exited with {process.returncode}:\n{self.log(name)[-4000:]}")

    def stop(self) -> None:
        """Stop every service (SIGTERM, then SIGKILL) and drop the database."""
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()
        with contextlib.suppress(Exception):
            _postgres(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    @cached_property
    def client(self) -> AirflowApi:
        """The deployment's REST API, as the admin user; it checks the services are up while it waits."""
        return AirflowApi(self.url, *ADMIN, check=self.check_alive, scheduler_log=lambda: self.log("scheduler"))


@dataclass
class AirflowApi:
    """Airflow's public REST API (``/api/v2``) as a user's script uses it: point it at any deployment.

    ``username``/``password`` are sent to the simple auth manager's ``/auth/token``; with
    another auth manager, pass ``token``.
    """

    url: str
    username: str = ""
    password: str = ""
    token_value: str | None = None
    check: Any = None
    scheduler_log: Any = None

    def check_alive(self) -> None:
        if self.check is not None:
            self.check()

    def api(self, method: str, path: str, body: Any = None, expect: tuple[int, ...] = (200,)) -> Any:
        """Call ``/api/v2{path}`` with the admin's token; return the decoded JSON answer."""
        request = urllib.request.Request(
            f"{self.url}/api/v2{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token()}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                status, text = answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        if status not in expect:
            raise AssertionError(f"{method} {path} answered {status}: {text[:2000]}")
        return json.loads(text) if text else None

    def get_json(self, path: str) -> Any:
        """GET a path of the api-server outside ``/api/v2`` (a plugin's app), with the token."""
        request = urllib.request.Request(f"{self.url}{path}", headers={"Authorization": f"Bearer {self.token()}"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            return json.loads(answer.read())

    def token(self) -> str:
        """A token from the simple auth manager's login endpoint, as ``airflow`` users get one."""
        if self.token_value is None:
            request = urllib.request.Request(
                f"{self.url}/auth/token",
                method="POST",
                data=json.dumps({"username": self.username, "password": self.password}).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=30) as answer:
                self.token_value = str(json.loads(answer.read())["access_token"])
        return self.token_value

    def set_connection(self, conn_id: str, conn_type: str, **fields: Any) -> None:
        """Create (or replace) a connection through the REST API, as a user does in the UI."""
        self.api("DELETE", f"/connections/{conn_id}", expect=(204, 404))
        self.api("POST", "/connections", {"connection_id": conn_id, "conn_type": conn_type, **fields}, expect=(201,))

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> None:
        """Wait until the dag-processor has parsed ``dag_id`` into the database."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            found = self.api("GET", f"/dags/{dag_id}", expect=(200, 404))
            if found and found.get("dag_id") == dag_id:
                return
            time.sleep(1)
        raise AssertionError(f"{dag_id} was not parsed within {timeout} s")

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """Trigger a run now; return its run id."""
        self.wait_for_dag(dag_id)
        run = self.api("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf or {}}, expect=(200, 201))
        return str(run["dag_run_id"])

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 300) -> str:
        """Wait until the run has finished, every service staying up; return its state."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            state = str(self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"])
            if state in FINISHED:
                return state
            time.sleep(1)
        raise AssertionError(
            f"{dag_id}/{run_id} still runs after {timeout} s: {self.task_states(dag_id, run_id)}\n"
            f"{self.scheduler_log()[-4000:] if self.scheduler_log else ''}"
        )

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        """Each task instance's state, keyed ``task_id`` or ``task_id[map_index]``."""
        found = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=1000")
        return {
            ti["task_id"] + (f"[{ti['map_index']}]" if ti["map_index"] >= 0 else ""): str(ti["state"])
            for ti in found["task_instances"]
        }


@contextlib.contextmanager
def running_deployment(root: Path, dags_folder: Path, **options: Any) -> Iterator[AirflowDeployment]:
    """A started deployment, stopped and its database dropped afterwards, whatever happens."""
    deployment = AirflowDeployment(root, dags_folder, **options)
    try:
        deployment.start()
        yield deployment
    finally:
        deployment.stop()
