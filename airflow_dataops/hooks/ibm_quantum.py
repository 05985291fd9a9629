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

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from airflow.sdk.bases.hook import BaseHook

from airflow_dataops.core.errors import InvalidInputError
from airflow_dataops.runtime.optional import import_optional

#: The channels qiskit-ibm-runtime accepts for an account in the cloud (its ``local`` channel needs none).
CHANNELS = ("ibm_quantum_platform", "ibm_cloud")
#: An IBM Cloud resource name has ten colon-separated segments:
#: ``crn:v1:<cname>:<ctype>:<service>:<location>:<scope>:<instance>:<type>:<resource>``.
CRN_SEGMENTS = 10


@dataclass(frozen=True)
class IbmQuantumSettings:
    """What an ``ibm_quantum`` connection says, checked before IBM is contacted."""

    token: str
    channel: str
    instance: str | None
    url: str | None

    def describe(self) -> str:
        """The settings without the token, for messages."""
        where = f", url {self.url}" if self.url else ""
        return f"channel {self.channel}, instance {self.instance or '(any of the account)'}{where}"


class IbmQuantumHook(BaseHook):
    """Open a ``QiskitRuntimeService`` and its backends for an ``ibm_quantum`` connection."""

    conn_name_attr = "ibm_quantum_conn_id"
    default_conn_name = "ibm_quantum_default"
    conn_type = "ibm_quantum"
    hook_name = "IBM Quantum"

    def __init__(self, ibm_quantum_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.ibm_quantum_conn_id = ibm_quantum_conn_id

    def _fail(self, field_name: str, problem: str, fix: str) -> InvalidInputError:
        return InvalidInputError(f"connection {self.ibm_quantum_conn_id!r}", field_name, problem, fix)

    def settings(self) -> IbmQuantumSettings:
        """The connection's settings, validated: a wrong one is named here rather than by IBM's API.

        qiskit-ibm-runtime reports a malformed CRN as an ``AttributeError`` from its regex, and
        a network failure as "check that you are using a valid API token"; checking first gives
        the user the field and the fix.
        """
        conn = self.get_connection(self.ibm_quantum_conn_id)
        extras = conn.extra_dejson
        if not conn.password:
            raise self._fail("password", "is empty", "put the IBM Cloud API key of the account in the password")
        channel = str(extras.get("channel") or CHANNELS[0])
        if channel not in CHANNELS:
            raise self._fail("extra.channel", f"{channel!r} is not a channel", f"use one of {', '.join(CHANNELS)}")
        instance = str(extras["instance"]).strip() if extras.get("instance") else None
        if instance and instance.startswith("crn:"):
            segments = instance.split(":")
            if len(segments) != CRN_SEGMENTS or segments[1] != "v1":
                raise self._fail(
                    "extra.instance", f"{instance!r} is not a complete CRN",
                    "copy the instance's CRN from IBM Quantum Platform (crn:v1:bluemix:public:quantum-computing:"
                    "<region>:a/<account>:<instance>::), or give the instance's name",
                )  # fmt: skip
        url = str(extras["url"]) if extras.get("url") else None
        if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname):
            raise self._fail("extra.url", f"{url!r} is not an http(s) URL", "give the endpoint's URL or leave it empty")
        return IbmQuantumSettings(token=conn.password, channel=channel, instance=instance, url=url)

    def service(self) -> Any:
        """The ``QiskitRuntimeService`` of the connection."""
        settings = self.settings()
        runtime = import_optional("qiskit_ibm_runtime")
        options = {"url": settings.url} if settings.url else {}
        return runtime.QiskitRuntimeService(
            channel=settings.channel, token=settings.token, instance=settings.instance, **options
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
        """What Airflow's "Test" button runs: check the settings here, then list the account's backends.

        Only IBM can say whether the token and the instance are good, so a success needs
        IBM's API to answer. When it cannot be reached, the message says which settings were
        checked here and why IBM could not confirm the rest (the root cause, which
        qiskit-ibm-runtime words as an invalid token).
        """
        try:
            settings = self.settings()
        except Exception as error:  # a bad field, or no such connection
            return False, str(error)
        try:
            names = [b.name for b in self.service().backends()]
        except ImportError as error:  # the ibm extra is not installed: the message names it
            return False, str(error)
        except Exception as error:
            return False, (
                f"The settings are well-formed ({settings.describe()}, token set), but IBM Quantum did not "
                f"confirm them: {_cause(error, settings.token)}"
            )
        return True, f"Connected to IBM Quantum ({settings.describe()}): {len(names)} backends"


def _cause(error: BaseException, secret: str) -> str:
    """``error`` and the first error it wraps from outside qiskit-ibm-runtime (e.g. requests' naming the host).

    qiskit-ibm-runtime words any failure to list instances as an invalid token; the
    wrapped error says whether it was the network. ``secret`` never appears in the result.
    """
    said = f"{type(error).__name__}: {error}"
    cause = error.__cause__ or error.__context__
    while cause is not None and type(cause).__module__.startswith("qiskit_ibm_runtime"):
        cause = cause.__cause__ or cause.__context__
    if cause is not None:
        said += f" (cause: {type(cause).__name__}: {cause})"
    return said.replace(secret, "***")
