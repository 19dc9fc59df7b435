"""bench/rerank.py: stored subgraphs rank as the engine ranks them when handed the incidents directly."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

from rca.rank.engine import model_engine
from rca.rank.scoring import TOP, summarise

REPO = Path(__file__).resolve().parents[2]


def _rerank(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "bench/rerank.py", *args], cwd=REPO, check=True, capture_output=True, text=True
    )
    return done.stdout


def test_stored_simulator_incidents_rank_as_the_engine_ranks_them_and_misses_are_named(tmp_path):
    stored = tmp_path / "sim.pkl"
    _rerank("dump-simulator", str(stored), "--per-cell", "1", "--sizes", "20")
    incidents = pickle.loads(stored.read_bytes())
    assert len(incidents) >= 10 and all(i.truth <= set(i.subgraph.nodes) for i in incidents)

    engine = model_engine(attribute=False)
    ranks = []
    for incident in incidents:
        candidates = engine.rank(incident.subgraph, TOP).candidates
        ranks.append(next((c.rank for c in candidates if c.entity_id in incident.truth), 0))
    expected = " / ".join(f"{v:.3f}" for v in summarise(ranks))

    out = _rerank("rank", str(stored), "--misses")
    row = next(line for line in out.splitlines() if line.startswith("sim "))
    assert row.split()[1] == str(len(incidents))
    assert row.split()[2:7] == expected.split()  # the engine's AC@1 / AC@3 / Avg@5, first of the two rankers
    missed = [i.name for i, r in zip(incidents, ranks) if r != 1]
    assert missed, "a suite the engine ranks perfectly tests nothing about --misses"
    assert sorted(line.split(":")[0].strip() for line in out.splitlines() if line.startswith("  ")) == sorted(missed)
