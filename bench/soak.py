"""Soak: syslog at a steady rate and Infer calls at a steady rate, together, for minutes.

    python bench/soak.py [--minutes 10] [--rate 5000] [--infer-rate 20] [--sample-s 30] [--trace FILE]

Starts the embedded graph, writes three 300-entity simulated incidents, then runs the real
processes an operator runs: `rca ingest syslog --tcp` (the syslog worker) and `rca serve` (the
RootCause service). A sender process writes RFC 5424 lines over TCP at --rate lines/s; a caller
makes --infer-rate Infer calls/s. Every --sample-s it prints the worker's and the service's memory
(RSS) and open file descriptors, the Infer latency of that interval (p50, p99), the CPU share of
the graph server, the worker and the service, and the p99 of each stage the service timed itself
(InferResponse.timings_ms: subgraph, rank wait, rank, store), so that a tail can be placed;
--trace writes every call's time, latency and stages to a file. At the end it stops the
worker with SIGTERM (it flushes), counts the lines the graph holds, and prints the memory growth
after warm-up (the first fifth of the run), the descriptor growth, the latency drift (first
interval after warm-up against the last), and the lines lost. Exit status 1 when a line was lost.
Targets (issue 20): memory growth < 5% after warm-up, no descriptor growth, 0 lines lost.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.infer_latency import PASSWORD, cpu_seconds, hops_for, percentile, request_for, write_incident
from bench.machine import describe_machine
from bench.processes import start_rca
from graph_schema import migrations
from graph_schema.connection import EMBEDDED_USER, embedded_server
from graph_schema.cypher import events as cypher
from graph_schema.store import GraphStore
from rca.service.client import RootCauseClient, open_channel
from settings.graph import GraphSettings

HOSTS = [f"soak-host-{i}" for i in range(8)]
MESSAGES = [
    "GET /api/v1/items/{n} 200 {n}ms",
    "upstream 10.0.{n}.7:8080 timed out after {n}ms",
    "connect to 10.0.3.{n} port 5432 failed: Connection refused",
    "request {n} completed in {n} ms",
]
CONNECTIONS = 4
TICK_S = 0.1


def syslog_line(i: int) -> bytes:
    """One RFC 5424 line, octet-counted (RFC 6587) for the TCP listener."""
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    host = HOSTS[i % len(HOSTS)]
    message = MESSAGES[i % len(MESSAGES)].format(n=i % 997)
    line = f"<134>1 {stamp} {host} soak-app {i % 50000} - - {message}".encode()
    return b"%d %s" % (len(line), line)


def send(port: int, rate: int, seconds: float, sent: Any) -> None:
    """In its own process: `rate` lines/s over CONNECTIONS connections for `seconds`; counts what was sent."""
    conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(CONNECTIONS)]
    per_tick = max(1, round(rate * TICK_S))
    started = time.monotonic()
    i = 0
    while time.monotonic() - started < seconds:
        tick = time.monotonic()
        for k in range(CONNECTIONS):
            batch = b"".join(syslog_line(i + j) for j in range(k, per_tick, CONNECTIONS))
            conns[k].sendall(batch)
        i += per_tick
        with sent.get_lock():
            sent.value = i
        time.sleep(max(0.0, TICK_S - (time.monotonic() - tick)))
    for conn in conns:
        conn.close()


class Caller:
    """Infer calls at a steady rate on two threads; latencies collected per interval."""

    def __init__(self, target: str, requests: list, rate: float, trace: TextIO | None = None):
        self.target, self.requests, self.rate, self.trace = target, requests, rate, trace
        self.latencies: list[float] = []
        self.stages: list[dict[str, float]] = []  # the service's own stage timings (InferResponse.timings_ms)
        self.failures = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Begin calling."""
        for k in range(2):
            thread = threading.Thread(target=self._run, args=(k,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _run(self, k: int) -> None:
        client = RootCauseClient(open_channel(self.target), timeout_s=30)
        interval = 2.0 / self.rate  # two threads share the rate
        n = k
        next_at = time.monotonic() + k * interval / 2
        while not self._stop.is_set():
            time.sleep(max(0.0, next_at - time.monotonic()))
            started = time.perf_counter()
            try:
                response = client.infer(self.requests[n % len(self.requests)], timeout_s=30)
                elapsed = (time.perf_counter() - started) * 1000
                with self._lock:
                    self.latencies.append(elapsed)
                    self.stages.append(dict(response.timings_ms))
                    if self.trace is not None:  # one line per call, to set the tail beside the service's log
                        stages = " ".join(f"{k}={v:.1f}" for k, v in sorted(response.timings_ms.items()))
                        self.trace.write(f"{time.time():.3f} {elapsed:.1f} {stages}\n")
            except Exception:  # counted and reported: a soak must survive what it measures
                with self._lock:
                    self.failures += 1
            n += 2
            next_at += interval
        client.close()

    def take(self) -> tuple[list[float], list[dict[str, float]]]:
        """The latencies and the service's stage timings since the last take."""
        with self._lock:
            out, self.latencies = self.latencies, []
            stages, self.stages = self.stages, []
        return out, stages

    def stop(self) -> None:
        """Stop calling."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=35)


def footprint(pid: int) -> tuple[float, int]:
    """RSS (MiB) and open descriptors of a process and its children."""
    rss, fds = 0, 0
    root = psutil.Process(pid)
    for process in [root, *root.children(recursive=True)]:
        try:
            rss += process.memory_info().rss
            fds += process.num_fds()
        except psutil.NoSuchProcess:
            pass
    return rss / 2**20, fds


def stage_tails(stages: list[dict[str, float]]) -> str:
    """The 99th percentile of each stage the service timed (subgraph, rank wait, rank, store, total)."""
    names = sorted({name for timings in stages for name in timings if not name.startswith("engine_")})
    return " ".join(
        f"{name.removesuffix('_ms')} {percentile([t.get(name, 0.0) for t in stages], 99):.1f}" for name in names
    )


def lines_in_graph(store: GraphStore) -> int:
    """All lines counted in :Event nodes."""
    return store.read(cypher.EVENT_TOTALS)[0]["lines"] or 0


def main() -> int:
    """Run the soak and print its figures; 1 when a line was lost."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=5000, help="syslog lines per second")
    parser.add_argument("--infer-rate", type=float, default=20.0, help="Infer calls per second")
    parser.add_argument("--sample-s", type=float, default=30.0, help="seconds between printed samples")
    parser.add_argument("--trace", type=Path, help="write each Infer call's time, latency and stage timings here")
    args = parser.parse_args()
    seconds = args.minutes * 60

    with tempfile.TemporaryDirectory(prefix="rca-soak-") as tmp:
        settings = GraphSettings(password=PASSWORD, data_dir=Path(tmp) / "graph", heap="1g")
        server = embedded_server(settings).start()
        worker = service = None
        try:
            with GraphStore.connect(settings, uri=server.bolt_uri, user=EMBEDDED_USER) as store:
                migrations.migrate(store)
                print(f"machine: {describe_machine()}; graph at {server.bolt_uri}")
                incidents = [write_incident(store, seed, 300, "datastore_outage") for seed in range(3)]
                requests = [request_for(i, hops_for(i, 300)) for i in incidents]
                before = lines_in_graph(store)
                env = {
                    **os.environ,
                    "NEO4J_URI": server.bolt_uri,
                    "NEO4J_USER": EMBEDDED_USER,
                    "NEO4J_PASSWORD": PASSWORD,
                    "RCA_GRAPH__DATABASE": settings.database,
                    "RCA_SERVICE__METRICS_PORT": "0",
                    "RCA_SERVICE__PROCESSES": "1",
                    "RCA_SYSLOG__STATE_DIR": str(Path(tmp) / "syslog-state"),
                }
                worker, announced = start_rca(["ingest", "syslog", "--tcp", "127.0.0.1:0"], env, "listening on tcp")
                port = int(announced.rsplit(":", 1)[1])
                service, announced = start_rca(["serve", "--port", "0"], env, "RootCause serving")
                target = announced.split(" on ", 1)[1].split(" ", 1)[0]
                print(f"worker pid {worker.pid} on tcp {port}; service pid {service.pid} at {target}")
                print(f"{args.rate} lines/s and {args.infer_rate:g} Infer/s for {args.minutes:g} min")
                print(
                    f"{'t s':>6} {'worker MiB':>10} {'fds':>5} {'service MiB':>11} {'fds':>5} "
                    f"{'Infer p50':>9} {'p99 ms':>7} {'calls':>6} {'lines sent':>11}  "
                    "CPU % graph/worker/service  service's p99 per stage, ms"
                )

                sent = multiprocessing.Value("q", 0)
                sender = multiprocessing.Process(target=send, args=(port, args.rate, seconds, sent))
                trace = args.trace.open("w") if args.trace else None
                caller = Caller(target, requests, args.infer_rate, trace)
                pids = {"graph": server.pid, "worker": worker.pid, "service": service.pid}
                cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
                started = time.monotonic()
                sender.start()
                caller.start()
                samples = []
                last_sample = interval_start = started
                while sender.is_alive():
                    sender.join(timeout=args.sample_s)
                    if time.monotonic() - last_sample < args.sample_s / 2:
                        break  # the sender's last partial interval: too short to compare
                    last_sample = time.monotonic()
                    latencies, stages = caller.take()
                    cpu_now = {name: cpu_seconds(pid) for name, pid in pids.items()}
                    cpu = "/".join(
                        f"{100 * (cpu_now[name] - cpu_before[name]) / (time.monotonic() - interval_start):.0f}"
                        for name in cpu_now
                    )
                    cpu_before, interval_start = cpu_now, time.monotonic()
                    worker_mb, worker_fds = footprint(worker.pid)
                    service_mb, service_fds = footprint(service.pid)
                    p50 = statistics.median(latencies) if latencies else float("nan")
                    p99 = percentile(latencies, 99) if latencies else float("nan")
                    t = time.monotonic() - started
                    samples.append((t, worker_mb, worker_fds, service_mb, service_fds, p50))
                    print(
                        f"{t:6.0f} {worker_mb:10.1f} {worker_fds:5d} {service_mb:11.1f} {service_fds:5d} "
                        f"{p50:9.1f} {p99:7.1f} {len(latencies):6d} {sent.value:11d}  {cpu:>26}  {stage_tails(stages)}",
                        flush=True,
                    )
                caller.stop()
                if trace is not None:
                    trace.close()
                total_sent = sent.value
                worker.send_signal(signal.SIGTERM)  # the worker flushes what it holds, then exits
                worker_status = worker.wait(timeout=120)
                counted = lines_in_graph(store) - before
        finally:
            for process in (service, worker):
                if process is not None and process.poll() is None:
                    process.terminate()
                    process.wait(timeout=60)
            server.stop()

    warm = [s for s in samples if s[0] >= 0.2 * seconds] or samples
    first, last = warm[0], warm[-1]

    def growth(column: int) -> float:
        return 100.0 * (max(s[column] for s in warm) - first[column]) / first[column]

    lost = total_sent - counted
    print(f"\nworker exit status {worker_status} after SIGTERM; Infer calls failed: {caller.failures}")
    print(f"memory growth after warm-up: worker {growth(1):+.1f}%, service {growth(3):+.1f}% (target < 5%)")
    print(
        f"descriptors after warm-up: worker {first[2]} -> {last[2]}, service {first[4]} -> {last[4]}"
        " (target: no growth)"
    )
    print(f"Infer p50 drift: {first[5]:.1f} -> {last[5]:.1f} ms")
    print(f"lines sent {total_sent}, counted in the graph {counted}; lines lost: {lost}")
    return 1 if lost != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
