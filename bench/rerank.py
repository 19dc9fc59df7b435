"""Rank stored incident subgraphs again, every suite in seconds: the loop for trying a ranking change.

    python bench/rerank.py dump-cases /tmp/ttR /tmp/tt.pkl          # case folders, through the service
    python bench/rerank.py dump-simulator /tmp/sim.pkl [--knob NAME=VALUE]  # the simulator's held-out suite
    python bench/rerank.py rank /tmp/tt.pkl /tmp/sim.pkl [--misses] [--without-model] [--model FILE]

`dump-cases` runs each case folder through the path `rca diagnose --all` takes (topology reconcile,
syslog pipeline, the metrics detector, Infer over gRPC on one throwaway graph), the way
`bench/accuracy.py --cases` does, and pickles the subgraph Infer ranked with the case's truth and
fault kind: 45 TrainTicket cases take about 7 minutes. `dump-simulator` pickles the incidents
`bench/accuracy.py` ranks (the same suite, cell size and sizes). `rank` then ranks every stored subgraph
with the engine (the shipped model unless told otherwise) and the anomaly-magnitude baseline, side by
side: the five suites of docs/accuracy.md, 660 incidents, in about 20 s on this machine. What it
changes is the ranking code of this checkout, so a change to features, rules or composition is
measured on every suite at once; a change to ingest, the detector or the subgraph fetch needs a new
dump. The engine's figures equal `bench/accuracy.py`'s on the same subgraphs.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rca.rank.scoring import TOP, summarise
from rca.rank.types import IncidentSubgraph


@dataclass(frozen=True)
class Stored:
    """One incident as ranked: its name, fault kind, root causes and the subgraph."""

    name: str
    fault: str
    truth: frozenset[str]
    subgraph: IncidentSubgraph


def dump_cases(folder: Path, out: Path) -> int:
    """Pickle the subgraph of every case folder under ``folder`` that names its root causes."""
    from bench.case_accuracy import diagnosed, fault_of

    stored = [
        Stored(case.name, fault_of(case), frozenset(case.root_causes), subgraph)
        for case, _, subgraph in diagnosed(folder)
    ]
    out.write_bytes(pickle.dumps(stored))
    print(f"{len(stored)} incidents -> {out}")
    return 0


def dump_simulator(out: Path, per_cell: int, sizes: tuple[int, ...], knobs: list[str]) -> int:
    """Pickle the simulator's held-out suite as bench/accuracy.py builds it (whole estate), with the
    generator knobs set as given (NAME=VALUE)."""
    from rca.simulator import simulate
    from rca.simulator.knobs import KnobError, set_knobs
    from rca.simulator.suite import suite

    try:
        for moved in set_knobs(knobs):
            print(f"generator knob {moved}")
    except KnobError as exc:
        raise SystemExit(f"--knob {exc}") from None
    stored = []
    for spec in suite("heldout", per_cell, sizes):
        incident = simulate(spec.seed, spec.size, spec.fault_type)
        name = f"{spec.fault_type}-{spec.size}-{spec.seed}"
        stored.append(Stored(name, spec.fault_type, frozenset({incident.root_cause_id}), incident.to_subgraph(None)))
    out.write_bytes(pickle.dumps(stored))
    print(f"{len(stored)} incidents -> {out}")
    return 0


def _engine(without_model: bool, model: Path | None):
    if without_model:
        from rca.rank.engine import engine_without_model

        return engine_without_model()
    from rca.rank.engine import engine_of, model_engine

    if model is None:
        return model_engine(attribute=False)
    from rca.rank.gnn.artifact import load
    from rca.rank.gnn.serving import FEATURE_NAMES

    return engine_of(load(model, FEATURE_NAMES), attribute=False)


def rank(files: list[Path], misses: bool, without_model: bool, model: Path | None) -> int:
    """AC@1 / AC@3 / Avg@5 of the engine and the magnitude baseline on every stored suite."""
    from rca.rank.baselines import AnomalyMagnitudeRanker

    rankers = [_engine(without_model, model), AnomalyMagnitudeRanker()]
    print(f"{'suite':24s} {'n':>4s} " + " ".join(f"{r.name:>22s}" for r in rankers))
    for file in files:
        stored: list[Stored] = pickle.loads(file.read_bytes())
        ranks: dict[str, list[int]] = defaultdict(list)
        for incident in stored:
            for ranker in rankers:
                candidates = ranker.rank(incident.subgraph, TOP).candidates
                found = next((c.rank for c in candidates if c.entity_id in incident.truth), 0)
                ranks[ranker.name].append(found)
                if misses and ranker is rankers[0] and found != 1:
                    top = ", ".join(c.entity_id for c in candidates[:3])
                    print(f"  {incident.name}: truth {sorted(incident.truth)} at {found or '>5'}; first {top}")
        cells = [" / ".join(f"{v:.3f}" for v in summarise(ranks[r.name])) for r in rankers]
        print(f"{file.stem:24s} {len(stored):>4d} " + " ".join(f"{c:>22s}" for c in cells))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the subcommand and run it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    cases = sub.add_parser("dump-cases", help="diagnose case folders and pickle the subgraphs Infer ranked")
    cases.add_argument("folder", type=Path, help="a folder of case folders (`rca diagnose` format)")
    cases.add_argument("out", type=Path, help="the pickle to write")
    simulator = sub.add_parser("dump-simulator", help="pickle the simulator's held-out suite")
    simulator.add_argument("out", type=Path, help="the pickle to write")
    simulator.add_argument("--per-cell", type=int, default=10, help="incidents per (size, fault type)")
    simulator.add_argument("--sizes", default="20,100,500", help="estate sizes, comma-separated")
    simulator.add_argument("--knob", action="append", default=[], help="NAME=VALUE, a generator knob; repeatable")
    ranking = sub.add_parser("rank", help="rank stored subgraphs with this checkout's engine and the baseline")
    ranking.add_argument("files", type=Path, nargs="+", help="pickles written by dump-cases or dump-simulator")
    ranking.add_argument("--misses", action="store_true", help="print each incident the engine does not rank first")
    ranking.add_argument("--without-model", action="store_true", help="the engine as served with no model")
    ranking.add_argument("--model", type=Path, help="a model artifact file instead of the shipped model")
    args = parser.parse_args(argv)
    if args.command == "dump-cases":
        return dump_cases(args.folder, args.out)
    if args.command == "dump-simulator":
        return dump_simulator(args.out, args.per_cell, tuple(int(s) for s in args.sizes.split(",")), args.knob)
    return rank(args.files, args.misses, args.without_model, args.model)


if __name__ == "__main__":
    from bench.rerank import main as run  # so the pickles name bench.rerank.Stored, which any reader imports

    raise SystemExit(run())
