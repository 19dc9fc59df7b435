"""A tiny synthetic RCAEval-shaped dataset: <system>/<service>_<fault>/<n>/data.csv + inject_time.txt.

RCAEval's data is not shipped here; the shape (a `time` column of unix seconds, `<service>_<metric>`
columns, the root cause and fault in the folder names) is what `rca diagnose import rcaeval` reads.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

SERVICES = ("frontend", "cartservice", "checkoutservice", "currencyservice")
INJECT_AT = 1_700_000_000
START = INJECT_AT - 900  # RCAEval keeps minutes of normal data before the injection
END = INJECT_AT + 300


def write_case(root: Path, root_cause: str = "cartservice", fault: str = "cpu", n: int = 1, seed: int = 3) -> Path:
    """One case folder; the root cause's CPU and latency, and the frontend's latency, rise at the injection."""
    folder = root / "RE1-OB" / f"{root_cause}_{fault}" / str(n)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ts = np.arange(START, END + 1, 1.0)
    after = ts >= INJECT_AT
    columns: dict[str, np.ndarray] = {}
    for service in SERVICES:
        faulty = service == root_cause
        columns[f"{service}_cpu"] = 0.2 + rng.normal(0, 0.01, len(ts)) + (0.7 * after if faulty else 0)
        columns[f"{service}_mem"] = 300 + rng.normal(0, 2, len(ts))
        columns[f"{service}_latency-90"] = (
            0.05 + rng.normal(0, 0.002, len(ts)) + (0.8 * after if faulty or service == "frontend" else 0)
        )
        columns[f"{service}_workload"] = 40 + rng.normal(0, 1, len(ts))
    columns[f"{SERVICES[0]}_mystery"] = rng.normal(0, 1, len(ts))  # no known family: left out and counted
    with (folder / "data.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["time", *columns])
        for i, t in enumerate(ts):
            writer.writerow([int(t), *(f"{v[i]:.5f}" for v in columns.values())])
    (folder / "inject_time.txt").write_text(f"{INJECT_AT}\n")
    return folder
