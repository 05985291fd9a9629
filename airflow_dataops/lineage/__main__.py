"""``python -m airflow_dataops.lineage``: send the spool; list a DAG's deliveries; diff two of them.

- ``send``: send what waits in the lineage spool now (at the end of a CI job, from cron);
  it uses the same connection and spool settings as the listener. ``send --every N``
  goes on sending every N seconds until stopped: a sidecar or service per worker machine
  on a distributed setup, so a record written as the last sender finished never waits
  for the next task.
- ``deliveries DAG_ID``: the DAG's recorded runs, newest first, with their bundle version.
- ``diff DAG_ID RUN_A RUN_B``: what changed between two deliveries, task by task (bundle
  version, SQL hash, image, circuit fingerprint): what to roll back to, and why.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Parse the command and run it."""
    parser = argparse.ArgumentParser(prog="python -m airflow_dataops.lineage", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    send = commands.add_parser("send", help="send what waits in the spool")
    send.add_argument("--every", type=float, metavar="SECONDS", help="keep sending, every SECONDS, until stopped")
    listing = commands.add_parser("deliveries", help="list a DAG's recorded runs")
    listing.add_argument("dag_id")
    listing.add_argument("--limit", type=int, default=20)
    diff = commands.add_parser("diff", help="what changed between two runs of a DAG")
    diff.add_argument("dag_id")
    diff.add_argument("before")
    diff.add_argument("after")
    args = parser.parse_args(argv)
    if args.command == "send":
        return _send() if args.every is None else _send_every(args.every)
    from airflow_dataops.hooks.mlflow import MlflowHook, deliveries, delivery_versions, diff_deliveries
    from airflow_dataops.lineage.settings import mlflow_conn_id

    hook = MlflowHook(mlflow_conn_id())
    if args.command == "deliveries":
        for run in deliveries(hook, args.dag_id, args.limit):
            print(f"{run['run_id']}\t{run['state']}\tbundle {run['bundle_version'] or '-'}")
        return 0
    before, after = (delivery_versions(hook, args.dag_id, run) for run in (args.before, args.after))
    for name, found in ((args.before, before), (args.after, after)):
        if not found:
            print(f"no delivery {name!r} of {args.dag_id!r} is recorded in MLflow", file=sys.stderr)
            return 2
    print("\n".join(diff_deliveries(before, after)) or "no versions differ")
    return 0


def _send() -> int:
    from airflow_dataops.lineage.delivery import send_spool
    from airflow_dataops.lineage.settings import mlflow_conn_id, spool_folder
    from airflow_dataops.lineage.spool import Spool

    sent = send_spool()
    waiting = Spool(spool_folder()).pending()
    where = f"the {mlflow_conn_id()!r} connection"
    print(f"sent {sent} lineage records to {where}; {waiting} still wait in {spool_folder()}")
    return 0 if waiting == 0 else 1


def _send_every(seconds: float) -> int:
    """Send, then sleep ``seconds``, until SIGTERM or Ctrl-C; a failed round is retried the next time."""
    import signal
    import threading

    from airflow_dataops.lineage.delivery import send_spool
    from airflow_dataops.lineage.settings import spool_folder

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"sending the lineage spool {spool_folder()} every {seconds:g} s until stopped", flush=True)
    try:
        while not stop.is_set():
            sent = send_spool()
            if sent:
                print(f"sent {sent} lineage records", flush=True)
            stop.wait(seconds)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
