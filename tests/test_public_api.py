from __future__ import annotations

import airflow_dataops


def test_public_surface_is_deliberate() -> None:
    """The top-level package exports only what we decided to export."""
    assert airflow_dataops.__all__ == ["__version__"]
