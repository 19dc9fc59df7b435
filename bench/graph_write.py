"""Write N entities and about 3N edges through the store on the embedded default; print rates and memory.

    python -m bench.graph_write [--sizes 1000 10000 100000] [--batch 5000]

Each size runs on a fresh embedded server in a temporary directory. The estate mixes the four
entity labels and every structural relation (instance-of, runs-on, calls, depends-on) and goes
through the topology reconcile, the path every topology source writes by: a first load (all
new) and a second reconcile of the same snapshot (all known: refreshed, nothing created).
Entities and edges are timed apart by reconciling an entities-only snapshot first.
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from pathlib import Path

import psutil

from bench.machine import describe_machine
from graph_schema import migrations
from graph_schema.connection import EMBEDDED_USER, embedded_server
from graph_schema.model import TOPOLOGY_RELATIONS, Label, RelType
from graph_schema.store import GraphStore
from ingest.topology.reconcile import reconcile
from ingest.topology.snapshot import EdgeRecord, EntityRecord, TopologySnapshot
from settings.graph import GraphSettings


def make_estate(n: int, seed: int = 7) -> tuple[list[EntityRecord], list[EdgeRecord]]:
    """n entities over the four labels and about 3n edges over every structural relation."""
    rng = random.Random(seed)
    sizes = {Label.SERVICE: n // 5, Label.HOST: n // 10, Label.DATASTORE: n // 10}
    sizes[Label.INSTANCE] = n - sum(sizes.values())
    ids = {label: [f"{label.lower()}-{i}" for i in range(count)] for label, count in sizes.items()}
    entities = [EntityRecord(label, i, name=i) for label, label_ids in ids.items() for i in label_ids]
    relation = {(r.type, r.source, r.target): r for r in TOPOLOGY_RELATIONS}
    edges: dict = {r: set() for r in TOPOLOGY_RELATIONS}
    services, hosts, stores = ids[Label.SERVICE], ids[Label.HOST], ids[Label.DATASTORE]
    for k, inst in enumerate(ids[Label.INSTANCE]):
        edges[relation[(RelType.INSTANCE_OF, Label.INSTANCE, Label.SERVICE)]].add((inst, services[k % len(services)]))
        edges[relation[(RelType.RUNS_ON, Label.INSTANCE, Label.HOST)]].add((inst, rng.choice(hosts)))
    for ds in stores:
        edges[relation[(RelType.RUNS_ON, Label.DATASTORE, Label.HOST)]].add((ds, rng.choice(hosts)))
    for svc in services:
        for _ in range(5):
            edges[relation[(RelType.CALLS, Label.SERVICE, Label.SERVICE)]].add((svc, rng.choice(services)))
        for _ in range(2):
            edges[relation[(RelType.CALLS, Label.SERVICE, Label.DATASTORE)]].add((svc, rng.choice(stores)))
            edges[relation[(RelType.DEPENDS_ON, Label.SERVICE, Label.DATASTORE)]].add((svc, rng.choice(stores)))
    return entities, [EdgeRecord(relation, a, b) for relation, pairs in edges.items() for a, b in sorted(pairs)]


def run_size(n: int, batch: int, heap: str) -> dict:
    """Write one estate of n entities on a fresh server; return the figures."""
    entities, edges = make_estate(n)
    with tempfile.TemporaryDirectory() as tmp:
        settings = GraphSettings(password="bench-password", data_dir=Path(tmp), heap=heap, batch_size=batch)
        with embedded_server(settings) as server:
            jvm = psutil.Process(server.pid)
            with GraphStore.connect(settings, uri=server.bolt_uri, user=EMBEDDED_USER) as store:
                migrations.migrate(store)
                warm_entities = _warm_up(store)

                snapshot = TopologySnapshot(entities=entities, edges=edges)
                started = time.perf_counter()
                first = reconcile(store, snapshot, source="bench", now=1.0, grace_period_s=3600)
                first_s = time.perf_counter() - started
                started = time.perf_counter()
                again = reconcile(store, snapshot, source="bench", now=2.0, grace_period_s=3600)
                again_s = time.perf_counter() - started
                stored = sum(
                    store.counts_by_label([Label.SERVICE, Label.INSTANCE, Label.HOST, Label.DATASTORE]).values()
                )
            jvm_rss = jvm.memory_info().rss
    assert stored == n + warm_entities, f"wrote {n} entities (+{warm_entities} warm-up) but the graph holds {stored}"
    assert len(first.created) == n and len(first.edges_created) == len(edges) and not again.changed
    entity_s = first.write_seconds["create_entities"]
    edge_s = first.write_seconds["create_edges"] + first.write_seconds["merge_new_edges"]
    return {
        "n": n,
        "edges": len(edges),
        "entity_s": entity_s,
        "edge_s": edge_s,
        "first_s": first_s,
        "again_s": again_s,
        "entities_per_s": n / entity_s,
        "edges_per_s": len(edges) / edge_s,
        "jvm_rss_mib": jvm_rss / 2**20,
    }


def _warm_up(store: GraphStore) -> int:
    """Let the JVM compile the write path first, on a throwaway estate, so the figures are steady state."""
    entities, edges = make_estate(2000, seed=99)
    warm = [EntityRecord(e.label, f"warm-{e.id}") for e in entities]
    warm_edges = [EdgeRecord(e.relation, f"warm-{e.source_id}", f"warm-{e.target_id}") for e in edges]
    for now in (1.0, 2.0):
        reconcile(store, TopologySnapshot(warm, warm_edges), source="warm-up", now=now, grace_period_s=0)
    return len(warm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--batch", type=int, default=5000, help="rows per UNWIND batch")
    parser.add_argument("--heap", default="4g", help="embedded server's JVM heap")
    args = parser.parse_args()
    print(f"machine: {describe_machine()}")
    print(f"graph: embedded ArcadeDB over Bolt, batch {args.batch}, heap {args.heap}")
    print("first load of the estate through the reconcile (one transaction), then the same snapshot again;")
    print("entities/s and edges/s time the entity and edge writes of the first load; 'load s' is all of it")
    print(f"{'N':>8} {'edges':>8} {'entities/s':>11} {'edges/s':>9} {'load s':>7} {'again s':>8} {'JVM RSS MiB':>12}")
    for n in args.sizes:
        r = run_size(n, args.batch, args.heap)
        print(
            f"{r['n']:>8,} {r['edges']:>8,} {r['entities_per_s']:>11,.0f} {r['edges_per_s']:>9,.0f} "
            f"{r['first_s']:>7.2f} {r['again_s']:>8.2f} {r['jvm_rss_mib']:>12,.0f}",
            flush=True,
        )
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of the writing process: {peak_mib:,.0f} MiB")


if __name__ == "__main__":
    main()
