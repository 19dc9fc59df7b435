"""Write N entities and about 3N edges through the store on the embedded default; print rates and memory.

    python -m bench.graph_write [--sizes 1000 10000 100000] [--batch 5000]

Each size runs on a fresh embedded server in a temporary directory. The estate mixes the four
entity labels and every structural relation (instance-of, runs-on, calls, depends-on), written
with the same statements the topology reconcile uses.
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
from graph_schema.cypher import topology as cypher
from graph_schema.model import TOPOLOGY_RELATIONS, Label, RelType
from graph_schema.settings import GraphSettings
from graph_schema.store import GraphStore


def make_estate(n: int, seed: int = 7) -> tuple[dict[Label, list[dict]], dict, int]:
    """Entity rows per label (n in all) and edge rows per relation (about 3n in all)."""
    rng = random.Random(seed)
    sizes = {Label.SERVICE: n // 5, Label.HOST: n // 10, Label.DATASTORE: n // 10}
    sizes[Label.INSTANCE] = n - sum(sizes.values())
    ids = {label: [f"{label.lower()}-{i}" for i in range(count)] for label, count in sizes.items()}
    entities = {
        label: [{"id": i, "name": i, "kind": label.lower(), "technology": None, "attrs": None} for i in label_ids]
        for label, label_ids in ids.items()
    }
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
    edge_rows = {r: [{"source_id": a, "target_id": b, "rate": None, "error_rate": None} for a, b in pairs] for r, pairs in edges.items()}
    return entities, edge_rows, sum(len(rows) for rows in edge_rows.values())


def run_size(n: int, batch: int, heap: str) -> dict:
    """Write one estate of n entities on a fresh server; return the figures."""
    entities, edges, edge_count = make_estate(n)
    with tempfile.TemporaryDirectory() as tmp:
        settings = GraphSettings(password="bench-password", data_dir=Path(tmp), heap=heap, batch_size=batch)
        with embedded_server(settings) as server:
            jvm = psutil.Process(server.pid)
            with GraphStore.connect(settings, uri=server.bolt_uri, user=EMBEDDED_USER) as store:
                migrations.migrate(store)
                started = time.perf_counter()
                for label, rows in entities.items():
                    store.write_rows(cypher.UPSERT_ENTITIES[label], rows, source="bench", now=1.0)
                entity_s = time.perf_counter() - started
                started = time.perf_counter()
                for rel, rows in edges.items():
                    store.write_rows(cypher.UPSERT_EDGES[rel], rows, source="bench", now=1.0)
                edge_s = time.perf_counter() - started
                stored = sum(store.counts_by_label(entities).values())
            jvm_rss = jvm.memory_info().rss
    assert stored == n, f"wrote {n} entities but the graph holds {stored}"
    return {
        "n": n, "edges": edge_count, "entity_s": entity_s, "edge_s": edge_s,
        "entities_per_s": n / entity_s, "edges_per_s": edge_count / edge_s, "jvm_rss_mib": jvm_rss / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--batch", type=int, default=5000, help="rows per UNWIND batch")
    parser.add_argument("--heap", default="4g", help="embedded server's JVM heap")
    args = parser.parse_args()
    print(f"machine: {describe_machine()}")
    print(f"graph: embedded ArcadeDB over Bolt, batch {args.batch}, heap {args.heap}")
    print(f"{'N':>8} {'edges':>8} {'entities/s':>11} {'edges/s':>9} {'entity s':>9} {'edge s':>7} {'JVM RSS MiB':>12}")
    for n in args.sizes:
        r = run_size(n, args.batch, args.heap)
        print(f"{r['n']:>8,} {r['edges']:>8,} {r['entities_per_s']:>11,.0f} {r['edges_per_s']:>9,.0f} "
              f"{r['entity_s']:>9.2f} {r['edge_s']:>7.2f} {r['jvm_rss_mib']:>12,.0f}", flush=True)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of the writing process: {peak_mib:,.0f} MiB")


if __name__ == "__main__":
    main()
