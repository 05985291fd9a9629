"""The detached lineage sender: ``python -m airflow_dataops.lineage._sender <spool folder>``.

Task processes only write records to the spool and start this process, which outlives
them and sends the spool with MLflow's client. At most one sender runs per spool: it
holds an exclusive lock on ``<spool>/.sender.lock``, taken with the standard library
before anything heavy is imported, so a sender started while another runs costs a bare
interpreter start and exits; a task that finds the lock held starts none at all. The
running sender goes on until the spool is empty, and looks again after letting go of
the lock, so records written meanwhile are sent too.
"""

from __future__ import annotations

import sys


def main(folder: str) -> int:
    """Send the spool in ``folder`` unless another sender already does."""
    from airflow_dataops.lineage.spool import Spool  # light: the standard library and a dataclass

    spool = Spool(folder)
    while True:
        with spool.sending(wait=False) as got:
            if not got:
                return 0  # another sender has it
            from airflow_dataops.lineage.listener import send_unlocked

            while spool.pending():
                if not send_unlocked(spool):
                    return 0  # MLflow is down or refuses: the records wait for the next sender
        # A task that saw the lock held started no sender: what it wrote while this one was
        # letting go is sent by this one.
        if not spool.pending():
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
