"""``airflow dataops probe``: keep the machine's live-state snapshot of the supercluster fresh.

A decision in a task process probes every Kubernetes target, and a cold Kubernetes
client costs milliseconds of CPU per cluster, so with many clusters the decision costs
several round trips. With ``[dataops] live_state_snapshot`` set, decisions read the
snapshot file when it is younger than the cache's ten seconds; this command, run as a
sidecar or service on each worker machine, probes every target every N seconds and
writes it, so decisions there never wait for the clusters.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse


def probe_command(args: argparse.Namespace) -> None:
    """The ``airflow dataops probe`` action."""
    sys.exit(run_probe(args.declaration, every=args.every, timeout=args.timeout))


def run_probe(declaration: str, *, every: float | None, timeout: float) -> int:
    """Probe the targets of ``declaration`` once, or every ``every`` seconds until SIGTERM."""
    from airflow_dataops.config import option
    from airflow_dataops.hooks.supercluster import SuperclusterHook

    snapshot = option("live_state_snapshot")
    if not snapshot:
        print(
            "airflow dataops probe: [dataops] live_state_snapshot is not set, so decisions would not read what "
            "this command probes; set it (e.g. AIRFLOW__DATAOPS__LIVE_STATE_SNAPSHOT=/var/run/airflow/live-state.json)",
            file=sys.stderr,
        )
        return 2
    hook = SuperclusterHook(declaration, probe_timeout=timeout)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while True:
        states = hook.refresh_live_states()
        down = sorted(name for name, state in states.items() if not state.reachable)
        print(f"probed {len(states)} targets into {snapshot}; unreachable: {', '.join(down) or 'none'}", flush=True)
        if every is None or stop.wait(every):
            return 0
