"""A spool of lineage records on local disk: nothing is lost when MLflow is unreachable.

Each record is one file, written atomically (temporary name, then rename). A sender
claims a file by renaming it (atomic on one file system, so two processes never send the
same record), deletes it once MLflow has it, and gives it back if sending failed. A claim
left by a sender process that died (killed, or its machine restarted) is
taken back at once when that process is gone, else after ``stale_after`` seconds.
"""

from __future__ import annotations

import fcntl
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from airflow_dataops.core.lineage import LineageRecord

_READY = ".json"
_CLAIMED = ".claimed"
_PROBLEM = ".delivery-problem"


def _alive(claimed: Path) -> bool:
    """Whether the process that claimed this file still runs (the spool is local to this machine)."""
    try:
        pid = int(claimed.name.split(".")[-2])
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (ValueError, PermissionError):
        return True
    return True


class Spool:
    """Records waiting to be sent, in ``folder``."""

    def __init__(self, folder: str | Path, stale_after: float = 300.0) -> None:
        self.folder = Path(folder)
        self.stale_after = stale_after

    def put(self, record: LineageRecord) -> Path:
        """Write ``record``; named so that older records sort first (a DAG run before its tasks at a tie)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        kind = "0" if record.parent_key is None else "1"
        name = f"{record.end_ms:015d}-{kind}-{uuid.uuid4().hex}"
        temporary = self.folder / f".{name}.tmp"
        temporary.write_text(record.to_json())
        final = self.folder / f"{name}{_READY}"
        os.replace(temporary, final)
        return final

    @contextmanager
    def sending(self, wait: bool) -> Iterator[bool]:
        """Hold the spool's sender lock (one sender at a time, across processes); yields whether it was got.

        ``wait=False`` gives up at once when another sender holds it.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / ".sender.lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def sender_running(self) -> bool:
        """Whether a sender holds the spool's lock now: it sends what is written before it stops."""
        with self.sending(wait=False) as got:
            return not got

    def pending(self) -> int:
        """How many records wait (claimed or not)."""
        if not self.folder.is_dir():
            return 0
        return sum(1 for p in self.folder.iterdir() if p.name.endswith((_READY, _CLAIMED)))

    def claim(self) -> Iterator[tuple[Path, LineageRecord]]:
        """Claim waiting records one by one, oldest first; stale claims are taken back first."""
        if not self.folder.is_dir():
            return
        now = time.time()
        for path in self.folder.glob(f"*{_CLAIMED}"):
            with suppress(FileNotFoundError):
                if not _alive(path) or now - path.stat().st_mtime > self.stale_after:
                    os.replace(path, path.with_name(path.name.split(_READY)[0] + _READY))
        for path in sorted(self.folder.glob(f"*{_READY}")):
            claimed = path.with_name(f"{path.name}.{os.getpid()}{_CLAIMED}")
            try:
                os.replace(path, claimed)
            except FileNotFoundError:  # another sender took it
                continue
            yield claimed, LineageRecord.from_json(claimed.read_text())

    def note_problem(self, text: str) -> None:
        """Remember why the last send failed, for the next task's log (a sender's own log is seen by nobody)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self.folder / f"{_PROBLEM}.{os.getpid()}.tmp"
        temporary.write_text(text)
        os.replace(temporary, self.folder / _PROBLEM)

    def clear_problem(self) -> None:
        """Sending works again."""
        (self.folder / _PROBLEM).unlink(missing_ok=True)

    def problem(self) -> str | None:
        """Why the last send failed, if it did."""
        try:
            return (self.folder / _PROBLEM).read_text()
        except FileNotFoundError:
            return None

    @staticmethod
    def done(claimed: Path) -> None:
        """The record is in MLflow: forget it."""
        claimed.unlink(missing_ok=True)

    @staticmethod
    def release(claimed: Path) -> None:
        """Sending failed: put the record back for the next sender."""
        with suppress(FileNotFoundError):
            os.replace(claimed, claimed.with_name(claimed.name.split(_READY)[0] + _READY))
