"""The OpenLineage facet methods of this provider's operators (one mixin, one builder per operator)."""

from __future__ import annotations

from typing import Any

from airflow_dataops.operators._facts import FactPublisher


class OpenLineageFacets(FactPublisher):
    """Airflow's OpenLineage provider calls these after a try; the builders read what the try published.

    ``_openlineage_builder`` names the function of :mod:`airflow_dataops.lineage.openlineage`
    that describes the operator. The OpenLineage client is imported only here, at call time.
    """

    _openlineage_builder: str

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """What the finished try did: placement, quantum task or tables (see the lineage docs)."""
        from airflow_dataops.lineage import openlineage

        return getattr(openlineage, self._openlineage_builder)(self, task_instance)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        """A failed try is described with what it left (a failover record, a refused budget)."""
        return self.get_openlineage_facets_on_complete(task_instance)
