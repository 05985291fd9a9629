"""``python -m airflow_dataops.lineage send``: send what waits in the lineage spool now.

The listener sends in the background; a process that ends first (``airflow dags test``,
a short-lived worker) leaves its last records on disk. This command sends them, e.g. at
the end of a CI job or from cron; it uses the same connection and spool settings.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Parse the command, send the spool, say what happened."""
    parser = argparse.ArgumentParser(prog="python -m airflow_dataops.lineage", description=__doc__)
    parser.add_argument("command", choices=["send"])
    parser.parse_args(argv)
    from airflow_dataops.lineage.listener import mlflow_conn_id, send_spool, spool_folder
    from airflow_dataops.lineage.spool import Spool

    sent = send_spool()
    waiting = Spool(spool_folder()).pending()
    print(
        f"sent {sent} lineage records to the {mlflow_conn_id()!r} connection; {waiting} still wait in {spool_folder()}"
    )
    return 0 if waiting == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
