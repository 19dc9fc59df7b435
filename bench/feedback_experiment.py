"""Feedback experiment: does `rca train --with-feedback` learn a pattern the simulator under-represents?

    python bench/feedback_experiment.py [--fault network_loss] [--confirmed 20] [--judge-per-cell 4]

1. Trains a base model on the simulator's training suite with the chosen fault type left out
   (the under-represented pattern), with the committed settings otherwise; makes it active.
2. Starts the embedded graph and the gRPC service with that model; for 20 incidents of the pattern
   (their own seeds), writes the estate and signals through the graph writes, calls Infer and
   confirms the true root cause with Feedback, as an on-call engineer would.
3. Fine-tunes with the code path of `rca train --with-feedback` (read the confirmed incidents from
   the graph, check and split them, fine-tune, judge on the held-back share), on the same
   simulator data as the base model (still without the pattern), so any gain comes from feedback.
4. Prints AC@1 on fresh incidents of the pattern and on the other fault types, before and after,
   for the GNN alone and for the combined engine, and the machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe_machine
from graph_schema import migrations
from graph_schema.connection import EMBEDDED_USER, embedded_server
from graph_schema.store import GraphStore
from rca.rank.engine import engine_of
from rca.rank.gnn.artifact import Registry
from rca.rank.gnn.serving import FEATURE_NAMES, GnnRanker
from rca.service.client import RootCauseClient, open_channel
from rca.service.server import start_server
from rca.service.stubs import pb
from rca.simulator import FAULT_TYPES, simulate
from rca.simulator.suite import suite
from rca.training.feedback import fine_tune, fine_tune_settings, prepare, read_confirmed
from rca.training.gnn import TrainSettings
from rca.training.pipeline import simulator_data, train_artifact
from settings.graph import GraphSettings
from settings.service import ServiceSettings
from tests.support import signal_writes

PASSWORD = "bench-password-1"
FEEDBACK_WEIGHT = 5.0
CONFIRMED_SEED_BASE = 5_000_000  # seeds of the confirmed incidents: apart from every named suite


def accuracy(ranker, specs) -> float:
    """AC@1 of a ranker on simulated incidents."""
    hits = 0
    for spec in specs:
        incident = simulate(spec.seed, spec.size, spec.fault_type)
        hits += ranker.rank(incident.to_subgraph(), 1).candidates[0].entity_id == incident.root_cause_id
    return hits / len(specs)


def main() -> int:
    """Run the experiment and print before/after figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fault", default="network_loss", choices=FAULT_TYPES)
    parser.add_argument("--confirmed", type=int, default=20)
    parser.add_argument("--judge-per-cell", type=int, default=4, help="fresh incidents per (size, fault) for judging")
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/rca-bench-cache"))
    args = parser.parse_args()
    print(f"machine: {describe_machine()}")
    others = tuple(f for f in FAULT_TYPES if f != args.fault)
    with tempfile.TemporaryDirectory(prefix="rca-feedback-") as tmp:
        models = Path(tmp) / "models"
        settings = TrainSettings()
        names, train_set, val_set = simulator_data(settings, args.cache_dir)
        keep = [s for s in train_set if s.fault_type != args.fault]
        val_keep = [s for s in val_set if s.fault_type != args.fault]
        print(
            f"base model: trained on {len(keep)} simulated incidents without {args.fault} "
            f"(left out {len(train_set) - len(keep)}), validated on {len(val_keep)} also without it"
        )
        base = train_artifact(settings, names, keep, val_keep, progress=True)
        registry = Registry(models)
        registry.store(base)
        registry.activate(base.version)

        graph = GraphSettings(password=PASSWORD, data_dir=Path(tmp) / "graph", heap="1g")
        server = embedded_server(graph).start()
        try:
            with GraphStore.connect(graph, uri=server.bolt_uri, user=EMBEDDED_USER) as store:
                migrations.migrate(store)
                service = start_server(
                    ServiceSettings(port=0, metrics_port=0, workers=4), store, engine_of(base), metrics=False
                )
                client = RootCauseClient(open_channel(service.target), timeout_s=60)
                sizes = (20, 100, 300)
                for k in tqdm(range(args.confirmed), desc="confirmed incidents"):
                    incident = simulate(CONFIRMED_SEED_BASE + k, sizes[k % len(sizes)], args.fault, id_prefix=f"fb{k}-")
                    signal_writes.write_simulated(store, incident)
                    response = client.infer(
                        pb.InferRequest(
                            symptoms=[
                                pb.Symptom(entity_id=s["entity_id"], family=s["family"], observed_at=s["observed_at"])
                                for s in incident.symptoms
                            ],
                            window=pb.TimeWindow(start=incident.window[0], end=incident.window[1]),
                            top_k=5,
                            max_hops=3,
                        )
                    )
                    client.feedback(
                        pb.FeedbackRequest(
                            incident_id=response.incident_id,
                            verdict=pb.CONFIRMED,
                            root_cause_entity_id=incident.root_cause_id,
                            user="bench",
                        )
                    )
                client.close()
                service.stop()
                rows = read_confirmed(store)
            feedback = prepare(rows, names, 0.3, FEEDBACK_WEIGHT)
            print(
                f"\nfine-tuning on {len(feedback.tune)} confirmed incidents (weight {FEEDBACK_WEIGHT}) "
                f"+ {len(keep)} simulated; judged on {len(feedback.held_back)} held back"
            )
            t = time.perf_counter()
            tuned, report, better, reason = fine_tune(
                base, feedback, names, keep, val_keep, fine_tune_settings(settings)
            )
            for when in ("before", "after"):
                for key, title in (
                    ("held_back", "held-back confirmed, GNN"),
                    ("held_back_combined", "held-back confirmed, combined"),
                    ("simulator_validation", "simulator validation, GNN"),
                ):
                    m = report[when][key]
                    print(
                        f"{when:6s} {title:32s} AC@1 {m['ac1']:.3f}  AC@3 {m['ac3']:.3f}  ({m['incidents']} incidents)"
                    )
            print(f"decision: {'activate' if better else 'keep the base'} ({reason}); {time.perf_counter() - t:.0f} s")
            if better:
                registry.store(tuned)
                registry.activate(tuned.version)
        finally:
            server.stop()
        after = registry.load_active(FEATURE_NAMES)

    pattern = list(suite("heldout", args.judge_per_cell, (20, 100, 300), (args.fault,)))
    rest = list(suite("heldout", max(1, args.judge_per_cell // 2), (20, 100, 300), others))
    print(f"\njudged on fresh held-out incidents: {len(pattern)} of {args.fault}, {len(rest)} of the other types")
    print(f"{'model':30s} {'AC@1 ' + args.fault:>24s} {'AC@1 rest':>12s}")
    for label, artifact in (("before (base)", base), ("after --with-feedback", after)):
        for kind, ranker in (("GNN", GnnRanker(artifact)), ("combined", engine_of(artifact, attribute=False))):
            a, b = accuracy(ranker, pattern), accuracy(ranker, rest)
            print(f"{label + ', ' + kind:30s} {a:>24.3f} {b:>12.3f}", flush=True)
    print(f"active model after the run: {after.version} (base {base.version})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
