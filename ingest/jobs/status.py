"""Per-job run status (last run, duration, changes, error), kept in a small JSON file.

A file, not the graph: `rca sync status` must still tell the truth while the graph is down, and it
is read by a different process than the worker that writes it.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

import platformdirs


def default_status_file() -> Path:
    """Where the status lives unless configured."""
    return Path(platformdirs.user_state_dir("rca-service", appauthor=False)) / "sync_status.json"


@dataclass
class JobStatus:
    """The latest figures of one scheduled job."""

    name: str
    runs: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    last_start: float | None = None
    last_end: float | None = None
    last_duration_s: float | None = None
    last_changes: int | None = None
    last_error: str | None = None
    last_success: float | None = None
    details: dict = field(default_factory=dict)


class StatusFile:
    """Load and atomically save the job statuses; safe to share between threads of one process."""

    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path else default_status_file()
        self._lock = threading.Lock()

    def load(self) -> dict[str, JobStatus]:
        """Every job's status; empty when nothing ran yet (or the file is unreadable, which is said)."""
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read job status file {self.path}: {exc}") from exc
        return {name: JobStatus(**entry) for name, entry in data.get("jobs", {}).items()}

    def save(self, status: JobStatus) -> None:
        """Replace one job's entry (write to a temporary file, then rename)."""
        with self._lock:
            try:
                jobs = self.load()
            except ValueError:
                jobs = {}  # a corrupt file is replaced rather than blocking every later run
            jobs[status.name] = status
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".sync_status.")
            with os.fdopen(fd, "w") as out:
                json.dump({"jobs": {name: asdict(job) for name, job in jobs.items()}}, out, indent=1)
            os.replace(tmp, self.path)
