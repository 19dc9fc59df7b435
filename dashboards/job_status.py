"""The scheduled ingest jobs' last runs (topology sync, metrics polls) as the Health page lists them.

Read from the status file the workers keep (ingest/jobs/status.py), the same one `rca sync status`
prints: a file, so the page can say when the last sync ran even while the graph is down.
"""

from __future__ import annotations

from pathlib import Path

from dashboards import ui
from ingest.jobs.status import JobStatus, StatusFile
from settings.ingest import SyncSettings


def status_file(sync: SyncSettings) -> StatusFile:
    """The status file the workers write, as configured (`RCA_SYNC__STATUS_FILE`) or by default."""
    return StatusFile(Path(sync.status_file) if sync.status_file else None)


def job_rows(jobs: dict[str, JobStatus], now: float) -> list[dict]:
    """One row per job, by name: its last run and outcome, the last success, the failures in a row."""
    return [
        {
            "job": job.name,
            "last run": ui.clock(job.last_end) if job.last_end else "never",
            "age": ui.ago(job.last_end, now),
            "outcome": "failed" if job.last_error else ("ok" if job.last_end else ""),
            "duration (s)": job.last_duration_s,
            "changes": job.last_changes,
            "last success": ui.clock(job.last_success) if job.last_success else "never",
            "failures in a row": job.consecutive_failures,
            "error": job.last_error or "",
        }
        for _, job in sorted(jobs.items())
    ]
