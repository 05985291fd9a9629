"""A custom XCom backend of the kind deployments use: values live in files, the database keeps a reference.

Like an object-storage backend (Airflow's common.io ``XComObjectStorageBackend``), it
stores the value elsewhere and returns a reference string for the metadata database; its
``deserialize_value`` turns the reference back into the value. Readers that bypass the
backend (the ORM, the REST API without ``deserialize``) see only the reference.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from airflow.sdk import BaseXCom

PREFIX = "file-xcom://"


class FileXComBackend(BaseXCom):
    """Values as JSON files under ``$DATAOPS_TEST_XCOM_STORE``; references in the database."""

    @staticmethod
    def serialize_value(
        value: Any,
        *,
        key: str | None = None,
        task_id: str | None = None,
        dag_id: str | None = None,
        run_id: str | None = None,
        map_index: int | None = None,
    ) -> str:
        folder = Path(os.environ["DATAOPS_TEST_XCOM_STORE"])
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{uuid.uuid4().hex}.json"
        path.write_text(json.dumps(value))
        return BaseXCom.serialize_value(PREFIX + str(path))

    @staticmethod
    def deserialize_value(result: Any) -> Any:
        value = BaseXCom.deserialize_value(result)
        if isinstance(value, str) and value.startswith(PREFIX):
            return json.loads(Path(value[len(PREFIX) :]).read_text())
        return value
