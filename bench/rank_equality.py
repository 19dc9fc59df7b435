"""Do two code trees rank the same? Rank a fixed set of incidents with each and compare everything.

    git archive main | tar -x -C /tmp/base                           # the reference tree
    python bench/rank_equality.py dump /tmp/base.pkl --root /tmp/base
    python bench/rank_equality.py dump /tmp/this.pkl                 # this checkout
    python bench/rank_equality.py compare /tmp/base.pkl /tmp/this.pkl

For a speed-up of the engine that must not change answers: simulated incidents of every fault
type at sizes 20, 100 and 500 (whole estate and cut to a few hops), the 297-entity latency-bench
incident and a few odd hand-made ones (repeated or no symptoms, parallel edges, a self loop, an
isolated entity) go through the combined GNN engine and every other ranker. Compared: feature
matrices, full score vectors (1e-9), candidates, findings, paths, explanations, embeddings and
feature snapshots. Prints the differences; exit status 1 when any exceeds the tolerance.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import numpy as np

TOLERANCE = 1e-9


def incidents(simulate, faults) -> list:
    """(name, subgraph) of the fixed set."""
    from dataclasses import replace

    from rca.rank.types import Edge, EntityNode, Symptom

    out, seed = [], 0
    for size in (20, 100, 500):
        for fault in faults:
            for hops in (None, 4) if size == 100 else (None,):
                out.append((f"{seed}-{size}-{fault}-{hops}", simulate(seed, size, fault).to_subgraph(hops)))
            seed += 1
    for seed in (40, 41, 42):  # mid-size ones, cut the way the service cuts
        for fault in faults:
            out.append((f"{seed}-60-{fault}-3", simulate(seed, 60, fault).to_subgraph(3)))
    out.append(("latency-bench-297", simulate(7, 300, "datastore_outage", id_prefix="x-").to_subgraph(max_hops=4)))
    for seed, fault in ((3, "cert_expiry"), (4, "host_failure"), (5, "bad_deploy"), (6, "datastore_outage")):
        sub = simulate(seed, 80, fault).to_subgraph(3)
        ids, first = list(sub.nodes), sub.symptoms[0]
        odd_edges = [
            sub.edges[0],
            Edge(sub.edges[1].source, sub.edges[1].target, "DEPENDS_ON"),
            Edge(ids[0], ids[0], "CALLS"),
            Edge(ids[2], ids[3], "INSTANCE_OF"),
            Edge(ids[3], ids[2], "INSTANCE_OF"),
        ]
        nodes = {**sub.nodes, "lonely-x": EntityNode("lonely-x", "Service", "lonely-x")}
        out.append(
            (
                f"odd-{seed}",
                replace(
                    sub,
                    nodes=nodes,
                    edges=sub.edges + odd_edges,
                    symptoms=sub.symptoms + [Symptom(first.entity_id, "latency", first.observed_at + 5)],
                ),
            )
        )
        out.append((f"odd-{seed}-no-symptom", replace(sub, symptoms=[])))
    return out


def _record(result) -> dict:
    return {
        "candidates": [(c.entity_id, c.score, c.rank) for c in result.candidates],
        "findings": [(f.rule, f.entity_id, f.strength, f.text, f.time) for f in result.findings],
        "paths": {
            k: [(p.symptom_id, p.score, [(h.from_id, h.relation, h.to_id, h.evidence) for h in p.hops]) for p in v]
            for k, v in result.paths.items()
        },
        "explanation": result.explanation,
        "versions": result.versions,
        "timing_keys": sorted(result.timings_ms),
        "embedding": list(result.embedding),
        "breakdowns": [c.breakdown for c in result.candidates],
        "snapshot": result.feature_snapshot() if result.feature_table is not None else None,
    }


def dump(out: Path, root: Path) -> None:
    """Rank the fixed set with the code under root and pickle the results."""
    sys.path.insert(0, str(root))
    import rca.rank.engine as composed
    from rca.rank.baselines import AnomalyMagnitudeRanker, PageRankRanker
    from rca.rank.gnn.serving import GnnRanker
    from rca.rank.propagation import PropagationRanker
    from rca.rank.rules.evaluate import default_rule_engine
    from rca.rank.rules.ranker import RulesRanker
    from rca.simulator import FAULT_TYPES, simulate

    if not composed.__file__.startswith(str(root.resolve())):
        raise SystemExit(f"imported {composed.__file__}, not the tree under {root}")
    seen: dict = {}
    finish = composed.finish

    def keep_scores(subgraph, graph, table, scores, *args, **kwargs):  # the full score vector and table
        seen.update(
            scores=np.array(scores, dtype=float),
            matrix=table.matrix.copy(),
            names=list(table.names),
            node_ids=list(table.node_ids),
            onsets=dict(table.onsets or {}),
        )
        return finish(subgraph, graph, table, scores, *args, **kwargs)

    composed.finish = keep_scores
    engine = composed.model_engine()
    assert engine.model is not None
    others = [
        GnnRanker(engine.model.artifact),
        composed.engine_without_model(),
        RulesRanker(default_rule_engine()),
        PropagationRanker(),
        PageRankRanker(),
        AnomalyMagnitudeRanker(),
    ]
    data = {}
    for name, sub in incidents(simulate, FAULT_TYPES):
        data[(name, "GnnEngine")] = {**_record(engine.rank(sub, 5)), **seen}
        for ranker in others:
            record = _record(ranker.rank(sub, 5))
            data[(name, f"{type(ranker).__name__}:{ranker.name}")] = record
        if name.startswith(("0-", "latency-bench")):  # caller-supplied features
            sub.extra_features = {next(iter(sub.nodes)): {"evidence": 0.9, "rule_max": 0.5, "unknown": 3.0}}
            data[(name, "GnnEngine+extra")] = _record(engine.rank(sub, 3))
            sub.extra_features = {}
    out.write_bytes(pickle.dumps(data))
    print(f"{len(data)} results of {root} in {out}")


def differences(a, b, path: str = "", tolerance: float = TOLERANCE) -> list[str]:
    """Where two pickled results differ (floats beyond tolerance)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape:
            return [f"{path}: shape {a.shape} vs {b.shape}"]
        if a.dtype.kind in "fc":
            gap = np.abs(a - b)
            return [] if np.all(gap <= tolerance) else [f"{path}: max difference {gap.max()}"]
        return [] if np.array_equal(a, b) else [f"{path}: differs"]
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{path}: keys {sorted(map(str, set(a) ^ set(b)))[:5]}"]
        return [d for k in a for d in differences(a[k], b[k], f"{path}.{k}", tolerance)]
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} vs {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]", tolerance)]
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


def print_same_rankings(a: dict, b: dict) -> None:
    """Per ranker: on how many incidents both trees give the same candidates in the same order."""
    rankers = sorted({r for _, r in a} | {r for _, r in b})
    for ranker in rankers:
        common = [k for k in a if k[1] == ranker and k in b]
        if not common:
            print(f"  {ranker}: only in {'the first' if any(k[1] == ranker for k in a) else 'the second'} dump")
            continue
        order_a = {k: [c[0] for c in a[k]["candidates"]] for k in common}
        order_b = {k: [c[0] for c in b[k]["candidates"]] for k in common}
        same = sum(order_a[k] == order_b[k] for k in common)
        top1 = sum(order_a[k][:1] == order_b[k][:1] for k in common)
        print(f"  {ranker}: same ranking on {same}/{len(common)} incidents, same top candidate on {top1}/{len(common)}")


def compare(base: Path, other: Path) -> int:
    """Print the differences; 1 when any exceeds the tolerance."""
    a, b = pickle.loads(base.read_bytes()), pickle.loads(other.read_bytes())
    beyond, inexact = differences(a, b), differences(a, b, tolerance=0.0)
    print(f"{len(a)} results: {len(beyond)} differences beyond {TOLERANCE}, {len(inexact)} not bit-identical")
    print_same_rankings(a, b)
    for d in beyond[:30]:
        print("  beyond tolerance:", d)
    for d in inexact[:10]:
        print("  not bit-identical:", d)
    return 1 if beyond else 0


def main(argv: list[str] | None = None) -> int:
    """dump or compare."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump", help="rank the fixed set and pickle the results")
    d.add_argument("out", type=Path)
    d.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1], help="code tree to rank with")
    c = sub.add_parser("compare", help="compare two dumps")
    c.add_argument("base", type=Path)
    c.add_argument("other", type=Path)
    args = parser.parse_args(argv)
    if args.command == "dump":
        dump(args.out, args.root)
        return 0
    return compare(args.base, args.other)


if __name__ == "__main__":
    raise SystemExit(main())
