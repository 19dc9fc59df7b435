"""Root-cause accuracy on a held-out simulator suite: engine vs baselines on the same incidents.

    python bench/accuracy.py [--suite heldout|final] [--per-cell 10] [--sizes 20,100,500] [--max-hops N]
    python bench/accuracy.py --cases DIR     (case folders in `rca diagnose` format; bench/case_accuracy.py)
    python bench/accuracy.py --cases DIR --ranks-json FILE   (also each case's rank per ranker, for `rca lab run`)
    python bench/accuracy.py --knob missing_signal=0.5   (a generator knob outside its training range)

Prints AC@1, AC@3 and Avg@5 (AC@k = share of incidents whose true root cause is in the top k;
Avg@5 = mean of AC@1..AC@5) per fault type and overall for every ranker, and the machine.
The benchmark suites' seeds never overlap the validation seeds the engine's weights were fitted on;
"heldout" was also read while the rules were developed, "final" was never looked into.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tqdm import tqdm

from bench.machine import describe_machine
from bench.model_rows import model_rankers, print_model_verdicts
from rca.rank.baselines import AnomalyMagnitudeRanker, PageRankRanker
from rca.rank.engine import engine_without_model
from rca.rank.ensemble import LABELS, deciding_terms
from rca.rank.propagation import PropagationRanker
from rca.rank.rules.evaluate import default_rule_engine
from rca.rank.rules.ranker import RulesRanker
from rca.rank.scoring import TOP, summarise
from rca.simulator import simulate
from rca.simulator.knobs import KNOBS, KnobError, set_knobs
from rca.simulator.suite import suite


def print_deciding_terms(decided: list[str]) -> None:
    """How often each term of the composed score put the engine's first candidate above its second."""
    if not decided:
        return
    counts = Counter(decided)
    print(
        "term that put the engine's #1 above its #2 most (share of incidents): "
        + ", ".join(f"{LABELS.get(term, term)} {counts[term] / len(decided):.0%}" for term, _ in counts.most_common())
    )


def print_calibration(confidence: list[tuple[float, bool]]) -> None:
    """How well the engine's top-1 score predicts being right (reliability bins and ECE)."""
    bins = [(0.0, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.01)]
    parts, ece = [], 0.0
    for lo, hi in bins:
        inside = [(p, ok) for p, ok in confidence if lo <= p < hi]
        if inside:
            mean_p = sum(p for p, _ in inside) / len(inside)
            acc = sum(ok for _, ok in inside) / len(inside)
            ece += len(inside) / len(confidence) * abs(mean_p - acc)
            parts.append(f"[{lo:.1f},{min(hi, 1.0):.1f}) n={len(inside)} score {mean_p:.2f} right {acc:.2f}")
    print("engine calibration (top-1 score vs share right): " + "; ".join(parts) + f"; ECE {ece:.3f}")


def main(argv: list[str] | None = None) -> int:
    """Run the suite and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-cell", type=int, default=10, help="incidents per (size, fault type)")
    parser.add_argument("--sizes", default="20,100,500")
    parser.add_argument(
        "--suite",
        default="heldout",
        choices=("heldout", "final"),
        help="heldout (default; read while developing the rules) or final (never looked into)",
    )
    parser.add_argument("--max-hops", type=int, default=None, help="cut the subgraph to N hops around the symptoms")
    parser.add_argument(
        "--mlp-model", type=Path, help="DiagMLP artifact (default: trained here with the committed settings)"
    )
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/rca-bench-cache"), help="cached training suites")
    parser.add_argument(
        "--cases", type=Path, help="a folder of case folders (`rca diagnose` format) instead of the simulator suite"
    )
    parser.add_argument(
        "--ranks-json", type=Path, help="with --cases: write each case's fault and rank of the truth per ranker here"
    )
    parser.add_argument(
        "--knob", action="append", default=[], help=f"NAME=VALUE, a generator knob ({', '.join(KNOBS)}); repeatable"
    )
    args = parser.parse_args(argv)
    sizes = tuple(int(s) for s in args.sizes.split(","))
    rankers = [
        *model_rankers(args.mlp_model, args.cache_dir),
        engine_without_model(),
        RulesRanker(default_rule_engine()),
        PropagationRanker(),
        PageRankRanker(),
        AnomalyMagnitudeRanker(),
    ]
    if args.cases is not None:
        from bench.case_accuracy import run_cases

        return run_cases(args.cases, rankers, args.ranks_json)
    try:
        knobs = set_knobs(args.knob)  # after the models are built: only the suite moves
    except KnobError as exc:
        raise SystemExit(f"--knob {exc}") from None
    ranks: dict[str, dict[str, list[int]]] = {r.name: defaultdict(list) for r in rankers}
    by_size: dict[str, dict[int, list[int]]] = {r.name: defaultdict(list) for r in rankers}
    elapsed: dict[str, float] = defaultdict(float)
    specs = list(suite(args.suite, args.per_cell, sizes))
    covered = 0  # incidents whose root cause lies inside the subgraph at all
    confidence: list[tuple[float, bool]] = []  # engine's top-1 score and whether it was right
    decided: list[str] = []  # per incident, the term with the largest margin of the engine's #1 over its #2
    for spec in tqdm(specs, desc="incidents", unit="inc"):
        incident = simulate(spec.seed, spec.size, spec.fault_type)
        sub = incident.to_subgraph(args.max_hops)
        covered += incident.root_cause_id in sub.nodes
        for ranker in rankers:
            t = time.perf_counter()
            result = ranker.rank(sub, TOP)
            elapsed[ranker.name] += time.perf_counter() - t
            rank = next((c.rank for c in result.candidates if c.entity_id == incident.root_cause_id), 0)
            if ranker.name == "engine":
                confidence.append((result.candidates[0].score, rank == 1))
                first, second = result.candidates[0], result.candidates[1]
                margins = deciding_terms(first.breakdown, second.breakdown, limit=1)
                decided.append(margins[0][0] if margins else "none")
            ranks[ranker.name][spec.fault_type].append(rank)
            by_size[ranker.name][spec.size].append(rank)

    print(f"\nmachine: {describe_machine()}")
    print(
        f"suite: {args.suite}, {len(specs)} incidents ({args.per_cell} per cell), sizes {sizes}, "
        f"{len(ranks[rankers[0].name])} fault types, "
        f"subgraph {'whole estate' if args.max_hops is None else f'{args.max_hops} hops'}"
    )
    if knobs:
        print(f"generator knobs moved: {'; '.join(knobs)}")
    print(f"root cause inside the subgraph: {covered}/{len(specs)} incidents (the ceiling of every ranker)")
    print(f"engine versions: {rankers[0].versions}\n")
    names = [r.name for r in rankers]
    header = f"{'fault type':18s} " + " ".join(f"{n:>24s}" for n in names)
    print("AC@1 / AC@3 / Avg@5 per fault type")
    print(header)
    for fault in ranks[names[0]]:
        cells = [" / ".join(f"{v:.2f}" for v in summarise(ranks[n][fault])) for n in names]
        print(f"{fault:18s} " + " ".join(f"{c:>24s}" for c in cells))
    for size in sizes:
        cells = [" / ".join(f"{v:.2f}" for v in summarise(by_size[n][size])) for n in names]
        print(f"{'size ' + str(size):18s} " + " ".join(f"{c:>24s}" for c in cells))
    overall = {n: summarise([r for rs in ranks[n].values() for r in rs]) for n in names}
    print(f"{'OVERALL':18s} " + " ".join(f"{' / '.join(f'{v:.2f}' for v in overall[n]):>24s}" for n in names))
    print(f"{'ms per incident':18s} " + " ".join(f"{elapsed[n] / len(specs) * 1000:>24.1f}" for n in names))
    print_calibration(confidence)
    print_deciding_terms(decided)
    best_baseline = max(overall[n][0] for n in ("pagerank", "anomaly-magnitude"))
    print_model_verdicts(ranks, overall, best_baseline)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
