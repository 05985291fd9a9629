"""The OpenLineage facet methods of this provider's operators (one mixin, one builder per operator)."""

from __future__ import annotations

from typing import Any


class OpenLineageFacets:
    """Airflow's OpenLineage provider calls these after a try; the builders read what the try published.

    ``_openlineage_builder`` names the function of :mod:`airflow_dataops.lineage.openlineage`
    that describes the operator. The OpenLineage client is imported only here, at call time.
    """

    _openlineage_builder: str

    def _publish_fact(self, context: Any, key: str, value: Any) -> Any:
        """Push ``value`` to XCom under ``key`` and keep it for the facet methods; return it.

        OpenLineage calls the facet methods in a process forked from the task's; reading
        XCom back from there goes through the supervisor connection the fork shares and
        hangs, so the facts travel in the operator's own memory instead.
        """
        if key != "return_value":
            context["ti"].xcom_push(key=key, value=value)
        self.__dict__.setdefault("_openlineage_facts", {})[key] = value
        return value

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """What the finished try did: placement, quantum task or tables (see the lineage docs)."""
        from airflow_dataops.lineage import openlineage

        return getattr(openlineage, self._openlineage_builder)(self, task_instance)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        """A failed try is described with what it left (a failover record, a refused budget)."""
        return self.get_openlineage_facets_on_complete(task_instance)
