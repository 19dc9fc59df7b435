"""bench/sem_cases.py: the structural-equation suite's case folders are valid `rca diagnose` cases whose
roots lie upstream of the alert and carry the fault they are labelled with."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

from graph_schema.model import RelType
from rca.cli.diagnose.case import load_case

REPO = Path(__file__).resolve().parents[2]


def _callees(case) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for edge in case.topology.edges:
        if edge.relation.type == RelType.CALLS:
            out.setdefault(edge.source_id, set()).add(edge.target_id)
    return out


def _reachable(start: str, callees: dict[str, set[str]]) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in callees.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_sem_cases_load_as_cases_with_their_roots_upstream_and_their_level_shifts_in_the_series(tmp_path):
    out = tmp_path / "sem"
    subprocess.run(
        [sys.executable, "bench/sem_cases.py", str(out), "--cases", "6", "--seed", "1"], cwd=REPO, check=True
    )
    folders = sorted(p for p in out.iterdir() if p.is_dir())
    assert len(folders) == 6
    shifted = 0
    for folder in folders:
        case = load_case(folder, {})
        drawn = yaml.safe_load((folder / "generator.yaml").read_text())
        assert case.root_causes and case.symptoms[0].entity == "svc-0"
        # every root is a callee, direct or not, of the entity the alert fired on
        assert set(case.root_causes) <= _reachable("svc-0", _callees(case)) - {"svc-0"}
        assert case.alert_at > case.metrics[0].ts[59]  # the alert comes after the 60 points of history
        assert set(drawn["roots"]) == set(case.root_causes)
        if drawn["kind"] != "level_shift":
            continue
        for root in case.root_causes:
            column = next(c for c in case.metrics if c.entity == root)
            before, after = column.values[:60], column.values[60:]
            spread = 1.4826 * np.median(np.abs(before - np.median(before)))
            moved = abs(np.median(after) - np.median(before)) / spread
            if (
                abs(drawn["roots"][root]["shift_sigmas"]) >= 6
            ):  # a shift this size leaves the root's series far from where it was
                assert moved > 3, (folder.name, root, moved)
                shifted += 1
    assert shifted, "seed 1 draws at least one level shift of 6 noise deviations or more"
