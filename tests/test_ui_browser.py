"""The supercluster page in a real browser, served by a real ``airflow api-server``, after a real showcase run.

1. The showcase DAG runs through ``dag.test()`` against a supercluster of three targets:
   ``local``, a simulated Kubernetes cluster that answers (``cheap``) and a cluster whose
   API refuses connections (``down``), with lineage going to a real MLflow server.
2. ``airflow api-server`` starts as a subprocess on a free loopback port, on the same
   Airflow home and database, with the simple auth manager and one viewer account.
3. Debian's Chromium, driven by Playwright, logs in as the viewer, opens the page, checks
   the targets and the run's decision, follows the decision's MLflow link, and reaches
   the page from the Airflow UI's navigation. A screenshot is kept in ``.artifacts/``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import DAGS_FOLDER, REPO_ROOT
from kube_clusters import SimulatedCluster, start_cluster
from loopback import free_port
from mlflow_server import MlflowServer, start_mlflow_server
from ui_supercluster import down_connection_env, write_declaration

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = REPO_ROOT / ".artifacts"
VIEWER_PASSWORD = "viewer-password-of-the-ui-test"


@dataclass
class Scene:
    """What the test set up: the run, the api-server's address, the MLflow server."""

    dag_run: Any
    base: str
    mlflow: MlflowServer
    token: str


@pytest.fixture(scope="module")
def cheap(airflow_db: Path) -> Iterator[SimulatedCluster]:
    cluster = start_cluster("cheap", "k8s_ui_cheap", cpu="4", memory="8Gi")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def mlflow(cheap: SimulatedCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """A real MLflow server, with the supercluster, connections and lineage settings set in this process's
    environment (which the api-server inherits)."""
    folder = tmp_path_factory.mktemp("ui")
    mlflow = start_mlflow_server(tmp_path_factory.mktemp("mlflow"))
    try:
        with pytest.MonkeyPatch.context() as env:
            for key, value in (cheap.connection_env(), down_connection_env()):
                env.setenv(key, value)
            env.setenv("AIRFLOW_DATAOPS_SUPERCLUSTER", str(write_declaration(folder, cheap, with_missing=False)))
            env.setenv("AIRFLOW_CONN_MLFLOW_DEFAULT", json.dumps({"conn_type": "mlflow", "host": mlflow.url}))
            env.setenv("AIRFLOW__DATAOPS__LINEAGE_SPOOL", str(folder / "spool"))
            yield mlflow
    finally:
        mlflow.stop()


def _run_showcase(workdir: Path) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(DAGS_FOLDER), bundle_path=DAGS_FOLDER).dags["showcase_customer_campaign"]
    return dag.test(run_conf={"workdir": str(workdir), "budget": 9000.0})


def _send_lineage(env: dict[str, str]) -> None:
    """Deliver what the listener spooled (the documented ``send`` command), so MLflow has the runs now."""
    done = subprocess.run(
        [sys.executable, "-m", "airflow_dataops.lineage", "send"], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]


def _start_api_server(env: dict[str, str], folder: Path, port: int) -> subprocess.Popen[bytes]:
    passwords = folder / "passwords.json"
    passwords.write_text(json.dumps({"viewer": VIEWER_PASSWORD}))
    server_env = {
        **env,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "viewer:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__API_AUTH__JWT_SECRET": "a-jwt-secret-of-the-ui-test-long-enough-for-hmac-sha512-0123456789abcdef",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
    }
    log = (folder / "api-server.log").open("ab")
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("airflow")), "api-server", "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1", "--apps", "core"],
        env=server_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def _wait_until_up(base: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"airflow api-server exited ({process.returncode}); see {log}")
        try:
            with urllib.request.urlopen(f"{base}/api/v2/monitor/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"airflow api-server did not answer within {timeout} s; see {log}")


def _login(base: str) -> str:
    body = json.dumps({"username": "viewer", "password": VIEWER_PASSWORD}).encode()
    request = urllib.request.Request(
        f"{base}/auth/token", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return str(json.loads(answer.read())["access_token"])


@pytest.fixture(scope="module")
def scene(mlflow: MlflowServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    folder = tmp_path_factory.mktemp("api-server")
    dag_run = _run_showcase(folder / "showcase")
    _send_lineage(dict(os.environ))
    port = free_port()
    process = _start_api_server(dict(os.environ), folder, port)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process, folder / "api-server.log")
        yield Scene(dag_run, base, mlflow, _login(base))
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def browser_page(scene: Scene) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "Debian's chromium is missing: `make chromium` installs it"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.add_cookies([{"name": "_token", "value": scene.token, "url": scene.base}])
            yield context.new_page()
        finally:
            browser.close()


def decision_row(page: Any, scene: Scene) -> Any:
    """The row of the run's placement decision (the showcase's pod step)."""
    rows = page.locator("tr.decision[data-dag='showcase_customer_campaign'][data-task='segment_customers.run_kmeans']")
    return rows.filter(has_text=scene.dag_run.run_id)


def test_the_page_lists_the_targets_and_the_runs_decision(scene: Scene, browser_page: Any) -> None:
    assert scene.dag_run.state == "success"
    page = browser_page
    answer = page.goto(f"{scene.base}/dataops/")
    assert answer is not None
    assert answer.status == 200
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "ui-overview.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"\nscreenshot of the supercluster page: {screenshot}")

    rows = page.locator("tr[data-target]")
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.target)") == ["local", "cheap", "down"]
    assert page.locator("tr[data-target='local']").get_attribute("data-health") == "not probed"
    assert page.locator("tr[data-target='cheap']").get_attribute("data-health") == "reachable"
    assert "free now 4.00 CPU, 8.0 GiB" in page.locator("tr[data-target='cheap']").inner_text()
    down = page.locator("tr[data-target='down']")
    assert down.get_attribute("data-health") == "unreachable"
    assert "Cannot connect to host 127.0.0.1" in down.inner_text()

    decision = decision_row(page, scene)
    assert decision.count() == 1
    assert decision.get_attribute("data-chosen") == "local"
    explanation = decision.locator("pre.explanation").inner_text()
    assert explanation.startswith("placement policies: cheapest, fastest_start")
    assert "#1 local (pool worker): $0.0000/h" in explanation
    assert "#2 cheap (pool general): $0.0110/h" in explanation
    assert "excluded down: unreachable (ClientConnectorError" in explanation


def test_a_decision_links_to_its_mlflow_run(scene: Scene, browser_page: Any) -> None:
    page = browser_page
    page.goto(f"{scene.base}/dataops/")
    href = decision_row(page, scene).get_by_role("link", name="MLflow run").get_attribute("href")
    assert href is not None
    page.goto(f"{scene.base}/dataops/{href}")
    assert page.url.startswith(f"{scene.mlflow.url}/#/experiments/")
    run_id = page.url.rsplit("/runs/", 1)[1]
    with urllib.request.urlopen(f"{scene.mlflow.url}/api/2.0/mlflow/runs/get?run_id={run_id}", timeout=10) as got:
        tags = {t["key"]: t["value"] for t in json.loads(got.read())["run"]["data"]["tags"]}
    assert tags["airflow.task_id"] == "segment_customers.run_kmeans"
    assert tags["airflow.run_id"] == scene.dag_run.run_id
    assert tags["dataops.cluster"] == "local"


def test_the_page_is_in_the_airflow_uis_navigation(scene: Scene, browser_page: Any) -> None:
    page = browser_page
    request = urllib.request.Request(f"{scene.base}/api/v2/plugins", headers={"Authorization": f"Bearer {scene.token}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        plugins = json.loads(answer.read())["plugins"]
    (plugin,) = [p for p in plugins if p["name"] == "airflow_dataops"]
    assert [(v["name"], v["href"], v["url_route"]) for v in plugin["external_views"]] == [
        ("Supercluster", "/dataops/", "supercluster")
    ]
    page.goto(f"{scene.base}/")
    page.get_by_role("link", name="Supercluster").first.click()
    # CI once saw the UI move on to a sub-path of the plugin route (".../plugin/supercluster/dataops/").
    page.wait_for_url(re.compile(re.escape(f"{scene.base}/plugin/supercluster") + r"(/.*)?$"))
    frame = page.frame_locator("iframe")
    frame.locator("tr[data-target='down'][data-health='unreachable']").wait_for(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "ui-navigation.png"))
    print(f"\nscreenshot of the page inside the Airflow UI: {ARTIFACTS / 'ui-navigation.png'}")
