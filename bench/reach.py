"""What the radius around the symptoms costs in accuracy: fixed, grown as the service grows it, whole estate.

    python bench/reach.py [--suite heldout|final] [--per-cell 10] [--sizes 20,100,500] [--radius 3] [--widest 5]

An Infer that leaves max_hops to the server ranks over the entities within --radius hops of the
symptoms, grown to --widest when an entity at the edge shows trouble (rca.rank.reach, the
function the service calls). Over the same simulated incidents this prints, for a fixed radius,
that grown radius and the whole estate: the share of incidents whose root cause lies inside the
subgraph at all, the combined engine's AC@1 and AC@3, the median entities ranked over, and how
often the radius grew. bench/accuracy.py ranks over the whole estate.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tqdm import tqdm

from bench.machine import describe_machine
from rca.rank.engine import model_engine
from rca.rank.reach import grown_radius
from rca.simulator import simulate
from rca.simulator.suite import suite


def main(argv: list[str] | None = None) -> int:
    """Rank every incident of the suite over the three subgraphs and print one row each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="heldout", choices=("heldout", "final"))
    parser.add_argument("--per-cell", type=int, default=10, help="incidents per (size, fault type)")
    parser.add_argument("--sizes", default="20,100,500")
    parser.add_argument("--radius", type=int, default=3, help="the server's default radius")
    parser.add_argument("--widest", type=int, default=5, help="the radius it grows to")
    args = parser.parse_args(argv)

    engine = model_engine()
    rows: dict[str, list[tuple[bool, int, int]]] = {"fixed": [], "grown": [], "whole estate": []}
    grew = 0
    specs = list(suite(args.suite, args.per_cell, tuple(int(s) for s in args.sizes.split(","))))
    for spec in tqdm(specs, desc="incidents", unit="inc", file=sys.stderr):
        incident = simulate(spec.seed, spec.size, spec.fault_type)
        cut = incident.to_subgraph(args.radius)
        hops = grown_radius(cut, args.radius, args.widest)
        grew += hops != args.radius
        for name, subgraph in (
            ("fixed", cut),
            ("grown", cut if hops == args.radius else incident.to_subgraph(hops)),
            ("whole estate", incident.to_subgraph(None)),
        ):
            ranked = [c.entity_id for c in engine.rank(subgraph, 3).candidates]
            rank = ranked.index(incident.root_cause_id) + 1 if incident.root_cause_id in ranked else 0
            rows[name].append((incident.root_cause_id in subgraph.nodes, rank, len(subgraph.nodes)))

    n = len(specs)
    print(
        f"{n} incidents ({args.suite}, sizes {args.sizes}); radius {args.radius}, grown to {args.widest} "
        f"in {grew} ({grew / n:.0%}); {describe_machine()}"
    )
    print(f"{'subgraph':<14} {'root inside':>11} {'AC@1':>6} {'AC@3':>6} {'median entities':>16}")
    for name, results in rows.items():
        inside = sum(r[0] for r in results) / n
        ac1 = sum(r[1] == 1 for r in results) / n
        ac3 = sum(0 < r[1] <= 3 for r in results) / n
        print(f"{name:<14} {inside:>11.3f} {ac1:>6.3f} {ac3:>6.3f} {statistics.median(r[2] for r in results):>16.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
