"""The lab's shipped recordings as a regression suite (bench/data/lab_cases/, docs/lab.md Recordings).

Every recorded scenario must still load and replay through `rca diagnose --all`, and the replayed
engine must not fall more than 0.1 below the AC@3 it had when the recordings were shipped
(bench/data/lab_cases/expected.json).
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from tests.integration.cli import rca

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "bench" / "data" / "lab_cases"
ARCHIVE = SHIPPED / "lab_cases.tar.xz"


def test_the_shipped_recordings_replay_and_the_engine_keeps_its_accuracy(tmp_path):
    expected = json.loads((SHIPPED / "expected.json").read_text())
    with tarfile.open(ARCHIVE) as archive:
        archive.extractall(tmp_path, filter="data")
    cases = tmp_path / "lab_cases"
    names = sorted(p.name for p in cases.iterdir() if (p / "case.yaml").is_file())
    assert names == sorted(expected["cases"])

    done = rca("diagnose", "--all", str(cases), "--json", timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert sorted(entry["case"] for entry in lines if "case" in entry) == names
    [summary] = [entry["summary"] for entry in lines if "summary" in entry]
    assert summary["scored"] == len(names)
    assert summary["AC@3"] >= expected["replay_ac3"] - 0.1, (summary, expected["replay_ac3"])
