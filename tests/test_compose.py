"""The docker-compose stack (docker-compose.yaml at the root, its files in deploy/), checked without Docker.

No Docker engine exists on the development machines, so the stack cannot be started
here. Instead: the compose file is validated against the Compose Specification's own
JSON schema (vendored in tests/data, see its README), every path it builds from or
mounts is resolved as Compose resolves it (relative to the compose file) and must exist,
and every place where the stack and the code must agree is checked against the code
itself (constants imported, the declaration the stack mounts loaded by the project's
loader, hooks built from the compose connections).
"""

from __future__ import annotations

import configparser
import importlib.util
import json
import os
import re
import subprocess
import tomllib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any, cast

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
# At the root, where a plain `docker compose` in the checkout finds it; Compose resolves
# every relative path of the file (build context, bind mounts) against its folder.
COMPOSE_FILE = REPO / "docker-compose.yaml"
COMPOSE_DIR = COMPOSE_FILE.parent
# The names `docker compose` looks for, in its order (compose-go's DefaultFileNames).
COMPOSE_FILE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
SCHEMA_FILE = REPO / "tests" / "data" / "compose-spec.json"
AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")
K3S_SERVICES = ("k3s-a", "k3s-b")

_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def interpolate(value: str) -> str:
    """``value`` as Compose sees it with no variable set: ``$$`` is ``$``, ``${X:-d}`` is ``d``.

    A variable without a default would become an empty string; that is an error here.
    """

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        if match.group(2) is not None:
            return match.group(2)
        raise ValueError(f"{value!r}: ${match.group(1) or match.group(3)} has no default (escape it as $$)")

    return _VARIABLE.sub(replace, value)


@cache
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())  # resolves the << merge keys
    return data


def service(name: str) -> dict[str, Any]:
    services: dict[str, Any] = compose()["services"]
    assert name in services, f"no service {name!r} in {COMPOSE_FILE}"
    result: dict[str, Any] = services[name]
    return result


def environment(name: str) -> dict[str, str]:
    env = service(name).get("environment") or {}
    assert isinstance(env, dict), f"{name}: write environment as a mapping"
    return {str(key): interpolate(str(value)) for key, value in env.items()}


def connections(name: str = "airflow-scheduler") -> dict[str, dict[str, Any]]:
    """conn id -> the connection's JSON, as Airflow reads AIRFLOW_CONN_<ID> in service ``name``."""
    found = {}
    for key, value in environment(name).items():
        if key.startswith("AIRFLOW_CONN_"):
            found[key.removeprefix("AIRFLOW_CONN_").lower()] = json.loads(value)
    return found


def mounts(name: str) -> dict[str, str]:
    """Container path -> source (named volume, or a bind path relative to the compose file) of service ``name``."""
    result = {}
    for volume in service(name).get("volumes") or []:
        source, target = str(volume).split(":")[:2]
        result[target] = source
    return result


def bind_source(name: str, target: str) -> Path:
    """The host file or folder that service ``name`` bind-mounts at ``target``, as Compose resolves it."""
    source = mounts(name).get(target)
    assert source is not None, f"{name} mounts nothing at {target}"
    assert source.startswith((".", "/")), f"{name} mounts volume {source!r} at {target}, not a file of the checkout"
    return (COMPOSE_DIR / source).resolve()


def image_dockerfile() -> Path:
    """The Dockerfile of the stack's Airflow image: Compose reads ``dockerfile`` relative to ``context``."""
    build = service("airflow-scheduler")["build"]
    return (COMPOSE_DIR / str(build["context"]) / str(build["dockerfile"])).resolve()


def flags(name: str) -> list[str]:
    command = service(name).get("command") or []
    assert isinstance(command, list), f"{name}: write command as a list"
    return [str(part) for part in command]


def load_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the Compose Specification ---------------------------------------------------------


def schema_errors(document: object) -> list[str]:
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_the_compose_file_follows_the_compose_specification() -> None:
    assert schema_errors(compose()) == []


def test_the_schema_rejects_what_compose_rejects() -> None:
    broken = json.loads(json.dumps(compose()))
    broken["services"]["trino"]["depends_on"] = 5
    broken["services"]["postgres"]["helthcheck"] = {}
    errors = schema_errors(broken)
    assert any(e.startswith("services/trino/depends_on") for e in errors), errors
    assert any("helthcheck" in e for e in errors), errors


def test_variables_are_escaped_or_have_defaults() -> None:
    def strings(node: object) -> list[str]:
        if isinstance(node, dict):
            return [s for value in node.values() for s in strings(value)]
        if isinstance(node, list):
            return [s for value in node for s in strings(value)]
        return [node] if isinstance(node, str) else []

    for text in strings(compose()):
        interpolate(text)  # raises on a variable Compose would silently empty
    with pytest.raises(ValueError, match="DATAOPS_SHOWCASE_DIR"):
        interpolate('{"path": "$DATAOPS_SHOWCASE_DIR/lake"}')


def test_dependencies_volumes_and_ports_are_declared() -> None:
    services = compose()["services"]
    declared_volumes = set(compose().get("volumes") or {})
    used_volumes: set[str] = set()
    host_ports: list[str] = []
    for name, body in services.items():
        for dependency in body.get("depends_on") or {}:
            assert dependency in services, f"{name} depends on {dependency!r}, which is not a service"
        for target, source in mounts(name).items():
            if source.startswith((".", "/")):
                path = (COMPOSE_DIR / source).resolve()
                assert path.exists(), f"{name} mounts {source} at {target}; {path} does not exist"
                assert path.is_relative_to(REPO), f"{name} mounts {source}, outside the checkout"
            else:
                assert source in declared_volumes, f"{name} uses volume {source!r}, not declared under volumes:"
                used_volumes.add(source)
        for port in body.get("ports") or []:
            address, host_port, _ = str(port).split(":")
            assert address == "127.0.0.1", f"{name} publishes {port} beyond this machine (credentials are dev-only)"
            host_ports.append(host_port)
    assert declared_volumes == used_volumes, f"declared but unused: {declared_volumes - used_volumes}"
    assert len(host_ports) == len(set(host_ports)), f"a host port is published twice: {sorted(host_ports)}"


def test_the_compose_file_is_where_docker_compose_finds_it() -> None:
    at_root = [name for name in COMPOSE_FILE_NAMES if (REPO / name).exists()]
    assert at_root == [COMPOSE_FILE.name], f"one compose file at the root, not {at_root}"
    elsewhere = [p.relative_to(REPO) for name in COMPOSE_FILE_NAMES for p in DEPLOY.rglob(name)]
    assert elsewhere == [], f"a second compose file would be a second entry point: {elsewhere}"


def test_the_image_builds_from_the_checkout() -> None:
    """The context and Dockerfile exist where Compose looks; what the Dockerfile copies is in the context."""
    builds = {name: body["build"] for name, body in compose()["services"].items() if "build" in body}
    assert set(builds) >= {*AIRFLOW_SERVICES, "airflow-init"}
    for name, build in builds.items():
        context = (COMPOSE_DIR / build["context"]).resolve()
        assert context == REPO, f"{name} builds from {context}; the Dockerfile copies from the repository root"
        dockerfile = context / build["dockerfile"]  # Compose: relative to the context
        assert dockerfile.is_file(), f"{name}: no Dockerfile at {dockerfile}"
        # BuildKit uses <Dockerfile>.dockerignore, beside it, over the context's .dockerignore.
        assert dockerfile.with_name(dockerfile.name + ".dockerignore").is_file()
        for line in dockerfile.read_text().splitlines():
            if line.startswith("COPY ") and "--from=" not in line:
                sources = [part for part in line.split()[1:-1] if not part.startswith("--")]
                for source in sources:
                    assert (context / source).exists(), f"{dockerfile.name} copies {source}; not in {context}"


# --- connections -----------------------------------------------------------------------


def test_connection_ids_are_the_ones_the_code_uses() -> None:
    from airflow_dataops.core.placement.declaration import load_supercluster
    from airflow_dataops.hooks.mlflow import MlflowHook
    from airflow_dataops.hooks.virtualized_data import VirtualizedDataHook
    from airflow_dataops.lineage.settings import mlflow_conn_id
    from showcase_customer_campaign import DATA_CONN_ID

    declaration = bind_source("airflow-scheduler", environment("airflow-scheduler")["AIRFLOW_DATAOPS_SUPERCLUSTER"])
    kubernetes = {t.conn_id for t in load_supercluster(declaration).targets if t.kind == "kubernetes"}
    expected = {MlflowHook.default_conn_name, DATA_CONN_ID, VirtualizedDataHook.default_conn_name, *kubernetes}
    assert mlflow_conn_id() == MlflowHook.default_conn_name  # the listener's default, with no [dataops] setting
    for name in AIRFLOW_SERVICES:
        assert set(connections(name)) == expected, name


def test_every_connection_parses_with_a_registered_type() -> None:
    from airflow.models.connection import Connection
    from airflow.providers.cncf.kubernetes.get_provider_info import get_provider_info as cncf_info
    from airflow.providers.trino.get_provider_info import get_provider_info as trino_info

    from airflow_dataops.get_provider_info import get_provider_info

    providers: list[Callable[[], dict[str, Any]]] = [get_provider_info, cncf_info, trino_info]  # unannotated
    registered = {c["connection-type"] for info in providers for c in info()["connection-types"]}
    for conn_id, value in connections().items():
        assert value["conn_type"] in registered, f"{conn_id}: type {value['conn_type']!r} is registered by no provider"
        parsed = Connection.from_json(json.dumps(value), conn_id=conn_id)
        assert parsed.conn_type == value["conn_type"]


def test_the_showcase_connection_is_the_showcases_own() -> None:
    from customer_campaign import SHOWCASE_DATA_CONNECTION
    from showcase_customer_campaign import DATA_CONN_ID

    assert connections()[DATA_CONN_ID] == json.loads(SHOWCASE_DATA_CONNECTION)
    assert environment("airflow-scheduler")["DATAOPS_SHOWCASE_DIR"] in mounts("airflow-scheduler")


def test_the_hooks_accept_the_compose_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook

    from airflow_dataops.hooks.mlflow import MlflowHook
    from airflow_dataops.hooks.virtualized_data import VirtualizedDataHook
    from showcase_customer_campaign import DATA_CONN_ID

    for conn_id, value in connections().items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(value))
    assert MlflowHook().tracking_uri == "http://mlflow:5000"
    assert "mlflow" in compose()["services"]
    assert "--port=5000" in flags("mlflow")
    trino = VirtualizedDataHook().trino_settings
    assert VirtualizedDataHook().engine == "trino"
    assert (trino.host, trino.port, trino.http_scheme) == ("trino", 8080, "http")
    assert f"{trino.catalog}.properties" in {p.name for p in bind_source("trino", "/etc/trino/catalog").iterdir()}
    assert VirtualizedDataHook(DATA_CONN_ID).engine == "embedded"
    for conn_id, value in connections().items():
        if value["conn_type"] == "kubernetes":
            hook: Any = KubernetesHook(conn_id=conn_id)  # unannotated
            path = hook._get_field("kube_config_path")
            assert Path(path).parent.as_posix() in mounts("airflow-scheduler"), f"{conn_id}: {path} is not mounted"


# --- the supercluster of the stack -------------------------------------------------------


def test_the_declaration_names_exactly_the_compose_clusters(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_dataops.core.placement.declaration import load_supercluster
    from airflow_dataops.core.placement.live_state import POOL_LABELS
    from airflow_dataops.operators.kubernetes import SuperclusterPodOperator

    declared = environment("airflow-scheduler")["AIRFLOW_DATAOPS_SUPERCLUSTER"]
    assert bind_source("airflow-scheduler", declared) == DEPLOY / "supercluster.yaml"
    supercluster = load_supercluster(bind_source("airflow-scheduler", declared))
    kube = {value["extra"]["kube_config_path"]: conn_id for conn_id, value in connections().items()
            if value["conn_type"] == "kubernetes"}  # fmt: skip
    assert {t.conn_id for t in supercluster.targets} == set(kube.values())
    rewriter = flags("k3s-kubeconfigs")
    kube_folder = mounts("airflow-scheduler")
    for target in supercluster.targets:
        path = next(p for p, c in kube.items() if c == target.conn_id)
        cluster = Path(path).stem  # kubeconfigs.sh writes <cluster>.yaml
        assert cluster == target.name
        assert cluster in K3S_SERVICES
        assert cluster in rewriter
        assert kube_folder[str(Path(path).parent)] == mounts(cluster)["/output"] == "kubeconfigs"
        assert environment(cluster)["K3S_KUBECONFIG_OUTPUT"] == f"/output/{cluster}.raw.yaml"
        assert f"--tls-san={cluster}" in flags(cluster)
        for pool in target.node_pools:
            assert f"--node-label={POOL_LABELS[0]}={pool.name}" in flags(cluster)

    # The operators read the declaration named by AIRFLOW_DATAOPS_SUPERCLUSTER, mounted from deploy/.
    monkeypatch.setenv("AIRFLOW_DATAOPS_SUPERCLUSTER", declared)
    operator = SuperclusterPodOperator(task_id="t", image="python:3.11-slim")
    dag_file = SimpleNamespace(fileloc="/opt/airflow/dags/showcase.py")  # the environment wins over the DAG's folder
    assert operator._declaration_path(cast("Any", {"dag": dag_file})) == Path(declared)


def test_kubeconfigs_are_rewritten_to_the_service_names(tmp_path: Path) -> None:
    raw = "apiVersion: v1\nclusters:\n- cluster:\n    server: https://127.0.0.1:6443\n  name: default\n"
    for cluster in K3S_SERVICES:
        (tmp_path / f"{cluster}.raw.yaml").write_text(raw)
    script = bind_source("k3s-kubeconfigs", service("k3s-kubeconfigs")["entrypoint"][1])  # bash <script>
    subprocess.run(["bash", str(script), str(tmp_path), *K3S_SERVICES], check=True, capture_output=True)
    for cluster in K3S_SERVICES:
        assert f"server: https://{cluster}:6443\n" in (tmp_path / f"{cluster}.yaml").read_text()
    (tmp_path / "k3s-c.raw.yaml").write_text("server: https://10.0.0.1:6443\n")
    failed = subprocess.run(["bash", str(script), str(tmp_path), "k3s-c"], capture_output=True, text=True)
    assert failed.returncode == 1
    assert "no https://127.0.0.1 server" in failed.stderr
    missing = subprocess.run(
        ["bash", str(script), str(tmp_path), "k3s-d"],
        capture_output=True,
        text=True,
        env={**os.environ, "KUBECONFIG_WAIT_SECONDS": "0"},
    )
    assert missing.returncode == 1
    assert "no kubeconfig from k3s-d" in missing.stderr


def test_pods_get_the_paths_both_clusters_mount() -> None:
    from kubernetes.client import models as k8s

    from airflow_dataops.core.placement.declaration import load_supercluster

    settings = load_module(bind_source("airflow-scheduler", "/opt/airflow/config/airflow_local_settings.py"))
    pod = k8s.V1Pod(spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="base", image="python:3.11-slim")]))
    settings.pod_mutation_hook(pod)
    settings.pod_mutation_hook(pod)  # idempotent: KPO builds the pod more than once
    host_paths = [volume.host_path.path for volume in pod.spec.volumes]
    assert sorted(host_paths) == sorted(settings.SHARED_PATHS)
    assert [m.mount_path for m in pod.spec.containers[0].volume_mounts] == list(settings.SHARED_PATHS)
    assert pod.spec.containers[0].security_context.run_as_user == int(service("airflow-scheduler")["user"][:5])
    for path in settings.SHARED_PATHS:
        sources = {mounts(cluster).get(path) for cluster in K3S_SERVICES}
        assert len(sources) == 1, f"{path} is not mounted alike in {K3S_SERVICES}"
        source = sources.pop()
        assert source is not None, f"{path} is not mounted in {K3S_SERVICES}"
        assert source in (mounts("airflow-scheduler").get(path), mounts("airflow-init").get("/pod-site"))
    declaration = bind_source("airflow-scheduler", environment("airflow-scheduler")["AIRFLOW_DATAOPS_SUPERCLUSTER"])
    for target in load_supercluster(declaration).targets:
        python_path = target.overrides.env["PYTHONPATH"].split(":")
        assert "/opt/airflow/dags" in python_path
        assert "/opt/dataops/pod-site" in python_path


# --- Trino ----------------------------------------------------------------------------------


def catalog(name: str) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string("[catalog]\n" + (bind_source("trino", "/etc/trino/catalog") / f"{name}.properties").read_text())
    return dict(parser["catalog"])


def test_trino_catalogs_are_the_showcases() -> None:
    from customer_campaign.prepare import CLEAN, RAW
    from customer_campaign.publish import TARGETS

    tables = {RAW, CLEAN, TARGETS, "lake.segments.assignments"}
    catalogs = {p.stem for p in bind_source("trino", "/etc/trino/catalog").glob("*.properties")}
    assert {t.split(".")[0] for t in tables} == catalogs
    entrypoint = service("trino-schemas")["entrypoint"]
    schemas_file = next(part.removeprefix("--file=") for part in entrypoint if part.startswith("--file="))
    schemas = bind_source("trino-schemas", schemas_file).read_text()
    for table in tables:
        assert "CREATE SCHEMA IF NOT EXISTS {}.{};".format(*table.split(".")[:2]) in schemas
    assert bind_source("trino", "/etc/trino/catalog") == DEPLOY / "trino" / "catalog"
    trino_env = environment("trino")
    buckets = set(flags("minio-buckets"))
    init_sql = bind_source("postgres", "/docker-entrypoint-initdb.d/10-init-databases.sql").read_text()
    for name in catalogs:
        properties = catalog(name)
        assert properties["connector.name"] == "iceberg"
        assert properties["iceberg.jdbc-catalog.catalog-name"] == name
        for value in properties.values():
            for variable in re.findall(r"\$\{ENV:([A-Za-z0-9_]+)\}", value):
                assert variable in trino_env, f"{name}.properties reads ${{ENV:{variable}}}; trino does not set it"
        assert properties["iceberg.jdbc-catalog.default-warehouse-dir"].removeprefix("s3://").strip("/") in buckets
        database = properties["iceberg.jdbc-catalog.connection-url"].rsplit("/", 1)[1]
        assert f"CREATE DATABASE {database} OWNER {trino_env['ICEBERG_JDBC_USER']};" in init_sql
        assert properties["s3.endpoint"] == environment("minio-buckets")["S3_ENDPOINT_URL"]
    assert "CREATE TABLE iceberg_tables" in init_sql
    assert "CREATE TABLE iceberg_namespace_properties" in init_sql


# --- the image ------------------------------------------------------------------------------


def test_the_dockerfile_installs_the_project() -> None:
    from importlib.metadata import version

    assert image_dockerfile() == DEPLOY / "Dockerfile"
    dockerfile = image_dockerfile().read_text()
    airflow_version = re.search(r"^ARG AIRFLOW_VERSION=(\S+)$", dockerfile, re.MULTILINE)
    assert airflow_version is not None
    assert airflow_version.group(1) == version("apache-airflow"), "the image's Airflow is not the locked one"
    assert "FROM apache/airflow:${AIRFLOW_VERSION}-python3.11" in dockerfile
    assert re.search(r"^COPY .*pyproject\.toml README\.md /opt/dataops/src/$", dockerfile, re.MULTILINE)
    assert re.search(r"^COPY .*airflow_dataops /opt/dataops/src/airflow_dataops$", dockerfile, re.MULTILINE)
    assert '"/opt/dataops/src[all]"' in dockerfile
    assert '"apache-airflow==${AIRFLOW_VERSION}"' in dockerfile
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    for requirement in pyproject["dependency-groups"]["demo"]:
        assert f'"{requirement}"' in dockerfile, f"the showcase needs {requirement}"
    assert "--target /opt/dataops/pod-site" in dockerfile
    assert "cp -a /opt/dataops/pod-site/. /pod-site/" in flags("airflow-init")[0]
    ignored = image_dockerfile().with_name("Dockerfile.dockerignore").read_text().split()
    assert {"!pyproject.toml", "!README.md", "!airflow_dataops/"} <= set(ignored)
