"""IbmQuantumHook: IBM Quantum backends from an Airflow connection (the token stays in the connection).

Connection ``ibm_quantum`` fields: *Password* is the API token; extras ``channel``
(``ibm_quantum_platform``, the default, or ``ibm_cloud``), ``instance`` (the CRN or
instance name) and ``url`` (a different endpoint). Needs the ``ibm`` extra
(qiskit-ibm-runtime).

Backends named ``fake_<name>`` (``fake_manila``, ``fake_torino``, ...) are
qiskit-ibm-runtime's own fake backends: real device properties and noise models,
simulated locally, no account needed. They are how this provider's IBM path is tested.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk.bases.hook import BaseHook

from airflow_dataops.runtime.optional import import_optional


class IbmQuantumHook(BaseHook):
    """Open a ``QiskitRuntimeService`` and its backends for an ``ibm_quantum`` connection."""

    conn_name_attr = "ibm_quantum_conn_id"
    default_conn_name = "ibm_quantum_default"
    conn_type = "ibm_quantum"
    hook_name = "IBM Quantum"

    def __init__(self, ibm_quantum_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.ibm_quantum_conn_id = ibm_quantum_conn_id

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Labels for the Airflow UI's connection form."""
        return {
            "hidden_fields": ["schema", "port", "host", "login"],
            "relabeling": {"password": "API token"},
            "placeholders": {"extra": '{"channel": "ibm_quantum_platform", "instance": "<CRN or instance name>"}'},
        }

    def service(self) -> Any:
        """The ``QiskitRuntimeService`` of the connection."""
        runtime = import_optional("qiskit_ibm_runtime")
        conn = self.get_connection(self.ibm_quantum_conn_id)
        extras = conn.extra_dejson
        options = {"url": extras["url"]} if extras.get("url") else {}
        return runtime.QiskitRuntimeService(
            channel=extras.get("channel") or "ibm_quantum_platform",
            token=conn.password,
            instance=extras.get("instance"),
            **options,
        )

    def backend(self, name: str) -> Any:
        """The backend ``name``: a fake backend locally, else the service's."""
        if name.startswith("fake_"):
            fake_provider = import_optional("qiskit_ibm_runtime.fake_provider")
            stem = "Fake" + name.removeprefix("fake_").replace("_", " ").title().replace(" ", "")
            for class_name in (f"{stem}V2", stem):  # FakeManilaV2, FakeTorino, ...
                if hasattr(fake_provider, class_name):
                    return getattr(fake_provider, class_name)()
            return fake_provider.FakeProviderForBackendV2().backend(name)  # raises, naming the known ones
        return self.service().backend(name)

    def test_connection(self) -> tuple[bool, str]:
        """What the UI's "Test" button runs: list the account's backends."""
        try:
            names = [b.name for b in self.service().backends()]
        except Exception as error:
            return False, f"IBM Quantum did not accept the connection: {error}"
        return True, f"Connected to IBM Quantum ({len(names)} backends)"
