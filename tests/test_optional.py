from __future__ import annotations

import sys

import pytest

from airflow_dataops.runtime.optional import EXTRA_FOR_MODULE, MissingExtraError, import_optional


def test_installed_sdk_is_returned() -> None:
    module = import_optional("sqlglot")
    assert module.__name__ == "sqlglot"


@pytest.mark.parametrize(("module", "extra"), sorted(EXTRA_FOR_MODULE.items()))
def test_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch, module: str, extra: str) -> None:
    # A None entry in sys.modules is Python's own way of making an import fail.
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingExtraError) as caught:
        import_optional(module, feature="The test feature")
    message = str(caught.value)
    assert f"pip install 'airflow-dataops[{extra}]'" in message
    assert message.startswith(f"The test feature needs the '{module}' package")
    assert caught.value.extra == extra
    assert isinstance(caught.value, ImportError)


def test_missing_submodule_of_missing_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "braket", None)
    monkeypatch.delitem(sys.modules, "braket.circuits", raising=False)  # other tests may have loaded it
    with pytest.raises(MissingExtraError, match=r"airflow-dataops\[quantum\]"):
        import_optional("braket.circuits")


def test_unknown_module_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="not an optional dependency"):
        import_optional("numpy")
