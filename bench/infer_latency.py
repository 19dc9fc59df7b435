"""Infer latency and throughput over gRPC against the graph, for neighbourhoods of 50, 300 and 2000 entities.

Starts the embedded graph (or uses NEO4J_URI), writes a few simulated incidents per estate size
(each its own estate, fault and symptoms; calls rotate over them so no answer is ever asked
twice in a row) through the graph writes, runs `rca serve` as its own process, and calls Infer from
this process with 1 and with 8 concurrent clients. Prints p50, p99 and throughput per size, the CPU
time per call spent by the service, the graph server (embedded only) and this client (on 2 cores, together they bound
the throughput), the server's own stage timings, the share of the machine's CPU time the
hypervisor took from it meanwhile (steal: on a shared host, rows with a high share ran on a
slower machine), and the machine. It warms up for --warm-up-s per size first (the graph
server's JIT compiles for the first few hundred calls). Targets (issue 5): p50 <= 20 ms and p99 <= 80 ms
at 300 entities; >= 100 Infer/s with 8 clients.

    python bench/infer_latency.py [--calls 200] [--sizes 50 300 2000] [--processes 1 2] [--no-topology-cache]
                                  [--fresh-neighbourhoods]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import psutil
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe_machine
from graph_schema import migrations
from graph_schema.connection import EMBEDDED_USER, embedded_server
from graph_schema.embedded import free_port
from graph_schema.store import GraphStore
from rca.service.client import RootCauseClient
from rca.service.stubs import pb
from rca.simulator import simulate
from settings.graph import GraphSettings
from tests.support import signal_writes

PASSWORD = "bench-password-1"
# the incidents of one size differ in fault (and so in symptoms and evidence), not only in seed
FAULTS = ("datastore_outage", "latency", "bad_deploy", "host_failure", "errors", "cpu_exhaustion")


def machine(store: GraphStore) -> str:
    """The machine (bench.machine), its load right now, and the graph server."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    agent = store.check(required_version=None).agent
    return f"{describe_machine()}; load {load}; graph {agent} at {store.uri}"


def write_incident(store: GraphStore, seed: int, n: int, fault: str):
    """One simulated incident in its own estate of n entities, written through the graph writes."""
    incident = simulate(7 + seed, n, fault, id_prefix=f"lat{n}-{seed}-")
    signal_writes.write_simulated(store, incident)
    return incident


def hops_for(incident, n: int) -> int:
    """The smallest radius whose neighbourhood holds at least 90% of the estate (at most 6)."""
    for hops in range(1, 7):
        if len(incident.to_subgraph(max_hops=hops).nodes) >= 0.9 * n:
            return hops
    return 6


def request_for(incident, hops: int):
    return pb.InferRequest(
        symptoms=[
            pb.Symptom(entity_id=s["entity_id"], family=s["family"], observed_at=s["observed_at"])
            for s in incident.symptoms
        ],
        window=pb.TimeWindow(start=incident.window[0], end=incident.window[1]),
        top_k=5,
        max_hops=hops,
    )


def run_calls(port: int, requests: list, calls: int, concurrency: int, label: str):
    """Latencies (ms) of `calls` Infer calls made by `concurrency` clients, and the wall time.

    Each client has its own connection (as separate callers would), so a server of several
    processes on one port gets connections spread over its processes by the kernel.
    """
    clients = [
        RootCauseClient(
            grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)]), timeout_s=60
        )
        for _ in range(concurrency)
    ]
    slots = threading.local()
    handed = iter(clients)
    lock = threading.Lock()

    def one(i):
        if not hasattr(slots, "client"):
            with lock:
                slots.client = next(handed)
        started = time.perf_counter()
        response = slots.client.infer(requests[i % len(requests)], timeout_s=60)
        return (time.perf_counter() - started) * 1000, response

    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            results = list(tqdm(pool.map(one, range(calls)), total=calls, desc=label, leave=False, file=sys.stderr))
        return [r[0] for r in results], time.perf_counter() - started, [r[1] for r in results]
    finally:
        for client in clients:
            client.close()


def warm_up(port: int, requests: list, concurrency: int, seconds: float) -> None:
    """Call for at least `seconds` (and 50 calls): the graph server's JIT is still compiling for the first
    few hundred calls and would otherwise be measured as graph CPU and latency."""
    started = time.monotonic()
    done = 0
    while done < 50 or time.monotonic() - started < seconds:
        run_calls(port, requests, 50, concurrency, "warm-up")
        done += 50


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def cpu_ticks() -> tuple[int, int]:
    """(steal, total) jiffies of the machine so far: the hypervisor's share taken from this VM."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return fields[7] if len(fields) > 7 else 0, sum(fields)


def cpu_seconds(pid: int | None, descendants: bool = True) -> float:
    """CPU time (user + system) of a process (and its living descendants) so far; 0 for None."""
    if pid is None:
        return 0.0
    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *(root.children(recursive=True) if descendants else [])]:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def run_server(args, incidents: dict, processes: int, env: dict, graph_pid: int | None) -> None:
    """Start `rca serve` with `processes` serving processes, call it for every estate size, print, stop it."""
    port = free_port()
    service = subprocess.Popen(
        [sys.executable, "-m", "rca.cli.main", "serve", "--port", str(port)],
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        print(f"server: {service.stdout.readline().strip()}")
        mode = (
            "per-call graph walk"
            if args.no_topology_cache
            else "topology snapshot + one signals read"
            + (
                ""
                if args.no_topology_cache
                else ", every neighbourhood built afresh"
                if args.fresh_neighbourhoods
                else ", neighbourhoods reused (the incidents repeat, as alerts that fire again do)"
            )
        )
        print(
            f"subgraph: {mode}; {processes} serving processes x {args.workers} threads; "
            "every call also stores its Incident"
        )
        print(
            f"{'entities':>8} {'hops':>4} {'procs':>5} {'clients':>7} {'calls':>5} "
            f"{'p50 ms':>8} {'p99 ms':>8} {'Infer/s':>8}  "
            "CPU ms per call: service / graph / bench client;  median stages: subgraph / rank / store ms;  steal"
        )
        pids = ((service.pid, True), (graph_pid, True), (os.getpid(), False))  # the client's children: the others
        for n, made in incidents.items():
            radius = [hops_for(incident, n) for incident in made]
            requests = [request_for(incident, hops) for incident, hops in zip(made, radius)]
            calls = args.calls if n < 1000 else max(20, args.calls // 5)
            warm_up(port, requests, 2 * processes, args.warm_up_s)
            for concurrency in (1, 8):
                before = [cpu_seconds(*pid) for pid in pids]
                steal_before, total_before = cpu_ticks()
                latencies, wall, responses = run_calls(port, requests, calls, concurrency, f"{n} x{concurrency}")
                # the service stores incidents write-behind: let the last ones land inside the measurement
                time.sleep(0.2)
                cpu = " / ".join(f"{(cpu_seconds(*pid) - b) / calls * 1000:.1f}" for pid, b in zip(pids, before))
                steal_after, total_after = cpu_ticks()
                steal = (steal_after - steal_before) / max(1, total_after - total_before)
                stages = " / ".join(
                    f"{statistics.median(r.timings_ms.get(k, 0) for r in responses):.1f}"
                    for k in ("subgraph_ms", "rank_ms", "store_ms")
                )
                entities = statistics.mean(r.subgraph_entities for r in responses)
                print(
                    f"{entities:>8.0f} {min(radius)}-{max(radius):<2} {processes:>5} {concurrency:>7} {calls:>5} "
                    f"{statistics.median(latencies):>8.1f} {percentile(latencies, 99):>8.1f} {calls / wall:>8.1f}  "
                    f"{cpu};  {stages};  {steal:.0%}",
                    flush=True,
                )
            engine = ", ".join(
                f"{k[7:]} {statistics.median(r.timings_ms.get(k, 0) for r in responses):.1f}"
                for k in sorted(responses[-1].timings_ms)
                if k.startswith("engine_") and k != "engine_total"
            )
            print(
                f"{'':>8} engine stages (median of the 8-client calls, ms): {engine}; "
                f"model {responses[-1].versions.get('model', '-')}",
                flush=True,
            )
    finally:
        service.terminate()
        service.wait(60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 300, 2000])
    parser.add_argument("--calls", type=int, default=200, help="calls per size and concurrency (fewer at 2000)")
    parser.add_argument("--workers", type=int, default=8, help="server threads per serving process")
    parser.add_argument(
        "--processes",
        type=int,
        nargs="+",
        default=[os.cpu_count() or 1],
        help="serving processes of `rca serve` (several values: one server after the other, side by side)",
    )
    parser.add_argument(
        "--incidents",
        type=int,
        default=4,
        help="distinct incidents per size (own estate, fault and symptoms); calls rotate over them",
    )
    parser.add_argument(
        "--warm-up-s",
        type=float,
        default=15.0,
        help="seconds of calls before measuring each size (the graph server's JIT compiles meanwhile)",
    )
    parser.add_argument("--no-topology-cache", action="store_true", help="walk the graph on every call")
    parser.add_argument(
        "--fresh-neighbourhoods",
        action="store_true",
        help="keep no neighbourhoods in the topology snapshot: every call walks it and builds its "
        "propagation graph (an alert storm of always-new symptom sets)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="rca-bench-") as tmp:
        external = os.environ.get("NEO4J_URI")
        settings = GraphSettings(
            password=os.environ.get("NEO4J_PASSWORD", PASSWORD),
            data_dir=Path(tmp) / "graph",
            heap="1g",
            uri=external,
            user=os.environ.get("NEO4J_USER", "neo4j"),
        )
        server = None if external else embedded_server(settings).start()
        uri = external or server.bolt_uri
        user = settings.user if external else EMBEDDED_USER
        try:
            with GraphStore.connect(settings, uri=uri, user=user) as store:
                migrations.migrate(store)
                print(f"machine: {machine(store)}")
                incidents = {}
                for n in tqdm(args.sizes, desc="writing estates", file=sys.stderr):
                    incidents[n] = [
                        write_incident(store, seed, n, FAULTS[seed % len(FAULTS)]) for seed in range(args.incidents)
                    ]

            for processes in args.processes:
                run_server(
                    args,
                    incidents,
                    processes,
                    graph_pid=server.pid if server else None,
                    env={
                        **os.environ,
                        "NEO4J_URI": uri,
                        "NEO4J_USER": user,
                        "NEO4J_PASSWORD": settings.password.get_secret_value(),
                        "RCA_GRAPH__DATABASE": settings.database,
                        "RCA_SERVICE__METRICS_PORT": "0",
                        "RCA_SERVICE__WORKERS": str(args.workers),
                        "RCA_SERVICE__PROCESSES": str(processes),
                        "RCA_SERVICE__TOPOLOGY_REFRESH_S": "0" if args.no_topology_cache else "30",
                        "RCA_SERVICE__NEIGHBOURHOODS_KEPT": "0" if args.fresh_neighbourhoods else "64",
                    },
                )
        finally:
            if server is not None:
                server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
