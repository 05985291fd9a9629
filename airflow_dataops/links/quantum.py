"""Extra links from a quantum task in the Airflow UI to its page in the Braket console."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperatorLink

from airflow_dataops.core import facts
from airflow_dataops.links.supercluster import published


def braket_console_url(task_arn: str) -> str:
    """The Braket console page of ``task_arn`` (its region is part of the ARN)."""
    region = task_arn.split(":")[3] or "us-east-1"
    return f"https://{region}.console.aws.amazon.com/braket/home?region={region}#/tasks/{task_arn}"


class BraketTaskLink(BaseOperatorLink):
    """The task's "Braket console" link: the quantum task the operator submitted or waited for."""

    name = "Braket console"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        """The console URL, or nothing when the task ran on a local simulator."""
        arn = published(operator, facts.QUANTUM_TASK_ARN)
        return braket_console_url(str(arn)) if arn else ""


def ibm_job_url(job_id: str) -> str:
    """The IBM Quantum Platform page of a job."""
    return f"https://quantum.cloud.ibm.com/jobs/{job_id}"


class IbmJobLink(BaseOperatorLink):
    """The task's "IBM Quantum job" link (empty for local and fake-backend runs)."""

    name = "IBM Quantum job"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        """The job page URL, or nothing when no IBM job was submitted."""
        job_id = published(operator, facts.QUANTUM_JOB_ID)
        return ibm_job_url(str(job_id)) if job_id else ""
