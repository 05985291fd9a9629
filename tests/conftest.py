"""Test configuration: an isolated Airflow home whose dags folder is the repo's dags/.

Airflow reads its configuration when it is first imported, so the environment is set
here, at import time of the conftest, before any test module imports Airflow.
``dag.test()`` only runs DAGs that live in the configured dags folder, hence the
folder points at the real ``dags/`` of the repository.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
DAGS_FOLDER = REPO_ROOT / "dags"

_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="airflow-dataops-tests-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS_FOLDER)
# The cluster policy, installed the way an operator installs it: airflow_local_settings.py
# in $AIRFLOW_HOME/config, which Airflow imports at start-up.
(_AIRFLOW_HOME / "config").mkdir()
(_AIRFLOW_HOME / "config" / "airflow_local_settings.py").write_text(
    "from airflow_dataops.policies import task_policy\n\n__all__ = ['task_policy']\n"
)
# Two bundles: the product's dags/ and the test DAGs of tests/dags/ (dag.test() runs a
# DAG only from a configured bundle, and test DAGs do not belong in the product's).
TEST_DAGS_FOLDER = REPO_ROOT / "tests" / "dags"
os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps(
    [
        {"name": "dags-folder", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle", "kwargs": {}},
        {
            "name": "test-dags",
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": str(TEST_DAGS_FOLDER)},
        },
    ]
)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}"
os.environ["DATAOPS_SHOWCASE_DIR"] = str(_AIRFLOW_HOME / "showcase")
# The DAG files import their helper package from the dags folder, as Airflow's
# dag-processor does by putting the folder on sys.path.
if str(DAGS_FOLDER) not in sys.path:
    sys.path.insert(0, str(DAGS_FOLDER))
from customer_campaign import SHOWCASE_DATA_CONNECTION  # noqa: E402  (needs the dags folder on sys.path)

os.environ["AIRFLOW_CONN_SHOWCASE_DATA"] = SHOWCASE_DATA_CONNECTION
(_AIRFLOW_HOME / "showcase" / "lake").mkdir(parents=True)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Create Airflow's metadata database once per test session (SQLite in a temp home)."""
    from airflow.utils import db

    db.initdb()
    return _AIRFLOW_HOME


@pytest.fixture(scope="session")
def venv_bin() -> Path:
    """The folder of the running interpreter, where the ``airflow`` CLI is installed."""
    return Path(sys.executable).parent
