from __future__ import annotations

import importlib
import json
import re
import subprocess
from importlib.metadata import entry_points, version
from pathlib import Path
from typing import Any

import jsonschema

import airflow_dataops
from airflow_dataops.get_provider_info import get_provider_info


def test_entry_point_points_at_provider_info() -> None:
    (entry_point,) = [
        ep for ep in entry_points(group="apache_airflow_provider") if ep.dist and ep.dist.name == "airflow-dataops"
    ]
    assert entry_point.load() is get_provider_info


def test_provider_info_matches_airflow_schema() -> None:
    import airflow

    schema_path = Path(airflow.__file__).parent / "provider_info.schema.json"
    jsonschema.validate(get_provider_info(), json.loads(schema_path.read_text()))


def test_connection_forms_match_the_provider_yaml_schema() -> None:
    """The stricter schema of provider.yaml is the one that defines ``conn-fields`` and ``ui-field-behaviour``."""
    import airflow

    schema = json.loads((Path(airflow.__file__).parent / "provider.yaml.schema.json").read_text())
    jsonschema.validate(get_provider_info()["connection-types"], schema["properties"]["connection-types"])


def test_connection_types_are_the_ones_this_provider_owns() -> None:
    """Braket uses the amazon provider's ``aws`` connection; its hook stays listed as a hook."""
    info = get_provider_info()
    owned = sorted(c["connection-type"] for c in info["connection-types"])
    assert owned == ["ibm_quantum", "mlflow", "virtualized_data"]
    assert "airflow_dataops.hooks.braket" in info["hooks"][0]["python-modules"]


def test_every_form_field_is_labelled_and_explained() -> None:
    standard = ("host", "schema", "port", "login", "password")
    for declared in get_provider_info()["connection-types"]:
        for name, field in declared["conn-fields"].items():
            assert field["label"], (declared["connection-type"], name)
            assert field["description"], (declared["connection-type"], name)
        behaviour = declared["ui-field-behaviour"]
        shown = [name for name in standard if name not in behaviour["hidden-fields"]]
        assert shown, declared["connection-type"]
        for name in shown:
            assert behaviour["placeholders"].get(name), (declared["connection-type"], name)


def test_airflow_serves_every_declared_form() -> None:
    """What the API server's connection form reads (``/ui/connections/hook_meta``) comes from ProvidersManager."""
    from airflow.providers_manager import ProvidersManager
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    manager = ProvidersManager()  # type: ignore[no-untyped-call]
    hooks = ProvidersManagerTaskRuntime().hooks  # type: ignore[no-untyped-call]
    ui = {meta.connection_type: meta for meta in manager.iter_connection_type_hook_ui_metadata()}
    for declared in get_provider_info()["connection-types"]:
        conn_type = declared["connection-type"]
        hook = hooks[conn_type]
        assert hook is not None, conn_type
        assert hook.hook_class_name == declared["hook-class-name"]
        assert hook.package_name == "airflow-dataops"
        assert hook.hook_name == declared["hook-name"], "the hook class and the provider info name it alike"
        assert hook.connection_testable, f"{conn_type}: the UI's Test button needs test_connection()"
        assert ui[conn_type].hook_class_name == declared["hook-class-name"]
        behaviour = declared["ui-field-behaviour"]
        assert manager.field_behaviours[conn_type] == {
            "hidden_fields": behaviour["hidden-fields"],
            "relabeling": behaviour["relabeling"],
            "placeholders": behaviour["placeholders"],
        }
        for name, field in declared["conn-fields"].items():
            widget = manager.connection_form_widgets[f"extra__{conn_type}__{name}"]
            assert widget.package_name == "airflow-dataops"
            assert widget.field["schema"]["title"] == field["label"]
            assert widget.field["description"] == field["description"]


def test_version_is_the_distribution_version() -> None:
    assert get_provider_info()["versions"][0] == airflow_dataops.__version__ == version("airflow-dataops")


def test_every_listed_module_and_class_imports() -> None:
    info = get_provider_info()
    for key in ("hooks", "operators", "sensors", "triggers"):
        for entry in info[key]:
            for module in entry["python-modules"]:
                importlib.import_module(module)
    for dotted in [*info["extra-links"], *(c["hook-class-name"] for c in info["connection-types"])]:
        module, _, name = dotted.rpartition(".")
        assert hasattr(importlib.import_module(module), name), dotted


def _airflow_json(venv_bin: Path, *args: str) -> Any:
    """Run an ``airflow`` CLI command with ``--output json`` and parse its JSON line."""
    done = subprocess.run(
        [str(venv_bin / "airflow"), *args, "--output", "json"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Airflow may print log lines before the JSON document.
    (document,) = [line for line in done.stdout.splitlines() if line.startswith(("[", "{"))]
    return json.loads(document)


def test_airflow_cli_lists_the_provider(venv_bin: Path) -> None:
    providers = {p["package_name"]: p["version"] for p in _airflow_json(venv_bin, "providers", "list")}
    assert providers["airflow-dataops"] == airflow_dataops.__version__


def test_airflow_cli_gets_the_provider(venv_bin: Path) -> None:
    (provider,) = _airflow_json(venv_bin, "providers", "get", "airflow-dataops", "--full")
    assert provider["package-name"] == "airflow-dataops"
    assert provider["versions"] == [airflow_dataops.__version__]
    components = ("hooks", "operators", "sensors", "triggers", "connection-types", "extra-links", "plugins")
    expected = get_provider_info()
    assert {key: provider[key] for key in components} == {key: expected[key] for key in components}


def test_every_public_component_module_is_listed() -> None:
    """The metadata stays true: a new hook/operator/sensor/trigger module must be declared."""
    info = get_provider_info()
    package = Path(airflow_dataops.__file__).parent
    for key in ("hooks", "operators", "sensors", "triggers"):
        on_disk = {
            f"airflow_dataops.{key}.{path.stem}"
            for path in (package / key).glob("*.py")
            if not path.stem.startswith("_")
        }
        listed = {module for entry in info[key] for module in entry["python-modules"]}
        assert listed == on_disk, key


def test_airflow_config_list_shows_every_option_with_its_default(venv_bin: Path) -> None:
    from airflow_dataops.config import OPTIONS

    done = subprocess.run(
        [
            str(venv_bin / "airflow"),
            "config",
            "list",
            "--section",
            "dataops",
            "--show-values",
            "--include-descriptions",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    for name, declared in OPTIONS.items():
        assert declared["description"] in done.stdout
        shown = f"{name} = {declared['default']}" if declared["default"] is not None else f"# {name} = "
        assert shown in done.stdout, name


def test_the_configuration_reference_lists_every_option() -> None:
    from airflow_dataops.config import OPTIONS

    reference = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text()
    table = reference.split("| option | default | read by | meaning |", 1)[1].split("\n\n", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.MULTILINE))
    assert documented == set(OPTIONS)
