"""YAML read with PyYAML's C loader when it is built in (the same safe rules, some 10x faster).

Why: a placement decision reads the supercluster declaration, and a probe may read a
kubeconfig, in every task process that starts. PyYAML's pure-Python ``safe_load`` takes
some 80 ms on a 50-target declaration; its libyaml-based ``CSafeLoader`` parses the same
document into the same data. Wheels of PyYAML ship with libyaml; a build without it
falls back to the pure-Python loader.
"""

from __future__ import annotations

from typing import Any


def safe_load(text: str) -> Any:
    """``yaml.safe_load(text)``, through ``CSafeLoader`` when available; errors are ``yaml.YAMLError``."""
    import yaml  # a dependency of Airflow itself; imported lazily like every parser here

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
