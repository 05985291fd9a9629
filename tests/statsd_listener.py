"""A StatsD listener on loopback: a UDP socket read by a thread, keeping every metric line it receives.

StatsD's wire format is ``name:value|type`` (``c`` counter, ``g`` gauge, ``ms`` timer),
optionally ``|@rate``, several lines per datagram. With Airflow's
``statsd_influxdb_enabled`` the tags ride in the name: ``name,key=value,...``.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Received:
    """One metric line as the listener parsed it."""

    name: str
    tags: dict[str, str]
    value: float
    kind: str


def parse(line: str) -> Received:
    """``airflow.dataops.failovers.cheap,target=cheap:1|c`` -> its name, tags, value and type."""
    head, _, rest = line.partition(":")
    value, kind, *_ = rest.split("|")
    name, *pairs = head.split(",")
    tags = dict(pair.split("=", 1) for pair in pairs)
    return Received(name, tags, float(value), kind)


class StatsdListener:
    """Listen on ``127.0.0.1:<port>`` until closed; ``received`` holds every parsed line."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self.port: int = self._socket.getsockname()[1]
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                datagram = self._socket.recv(65535)
            except TimeoutError:
                continue
            lines = [parse(line) for line in datagram.decode().splitlines() if line.strip()]
            with self._lock:
                self.received.extend(lines)

    def named(self, name: str) -> list[Received]:
        """Every line received so far with exactly this name (tags aside)."""
        with self._lock:
            return [r for r in self.received if r.name == name]

    def settle(self, quiet: float = 0.3, timeout: float = 5.0) -> None:
        """Wait until nothing has arrived for ``quiet`` seconds (datagrams sent just before may still be queued)."""
        deadline = time.monotonic() + timeout
        seen = -1
        while time.monotonic() < deadline:
            with self._lock:
                count = len(self.received)
            if count == seen:
                return
            seen = count
            time.sleep(quiet)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._socket.close()
