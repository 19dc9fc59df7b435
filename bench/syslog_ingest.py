"""Syslog ingest benchmark: parse, parse+templates, and end to end over TCP into the graph.

Builds a corpus (default 200k lines) mixing RFC 5424, RFC 3164 and the loghub samples, then
prints lines/s for each stage, peak memory and memory growth over the end-to-end run, and the
machine it ran on. Run from the repository root:

    python -m bench.syslog_ingest [--lines 200000] [--connections 8] [--skip-graph]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from tqdm import tqdm

from bench.machine import describe_machine
from graph_schema import migrations
from graph_schema.connection import open_graph
from graph_schema.cypher import events as cypher
from ingest.syslog.classes import SignatureClassifier, load_class_rules
from ingest.syslog.entities import EntityMapper, load_entity_rules
from ingest.syslog.listeners import SyslogListeners
from ingest.syslog.parser import SyslogParser
from ingest.syslog.pipeline import SyslogPipeline
from ingest.syslog.templates import LogTemplates
from settings.graph import GraphSettings
from settings.ingest import SyslogSettings

LOGHUB = Path(__file__).resolve().parents[2] / "shared" / "data" / "loghub"
APPS = ["checkout", "payments", "cart", "search", "auth", "ledger", "gateway", "inventory"]
MESSAGES = [
    "GET /api/v1/items/{n} 200 {ms}ms",
    "upstream {ip}:8080 timed out after {ms}ms",
    "connect to {ip} port 5432 failed: Connection refused",
    "user {user} logged in from {ip}",
    "cache miss for key session:{hex}",
    "request {uuid} completed in {ms} ms",
    "worker {n} restarted after crash",
    "deployed version 1.{n}.3",
    "write failed: No space left on device",
]


def build_corpus(total: int, seed: int = 7) -> list[bytes]:
    """``total`` lines: one third RFC 5424, one third RFC 3164, one third loghub samples."""
    rng = random.Random(seed)
    loghub = [
        line for name in ("Linux", "OpenSSH") for line in (LOGHUB / name / f"{name}_2k.log").read_text().splitlines()
    ]
    lines = []
    for i in range(total):
        kind = i % 3
        if kind == 2:
            lines.append(loghub[i // 3 % len(loghub)].encode())
            continue
        msg = rng.choice(MESSAGES).format(
            n=rng.randint(1, 999),
            ms=rng.randint(1, 5000),
            ip=f"10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            user=rng.choice(["alice", "bob", "carol"]),
            hex=f"{rng.getrandbits(64):016x}",
            uuid=f"{rng.getrandbits(32):08x}-1234-4abc-8def-{rng.getrandbits(48):012x}",
        )
        app, host, sec = rng.choice(APPS), f"node-{rng.randint(1, 20)}", i // 1000
        if kind == 0:
            lines.append(
                (
                    f"<{rng.choice((11, 14, 30))}>1 2026-11-23T10:{sec // 60 % 60:02d}:{sec % 60:02d}.{i % 1000:03d}Z "
                    f"{host} {app} {rng.randint(100, 999)} - - {msg}"
                ).encode()
            )
        else:
            lines.append(
                (
                    f"<{rng.choice((11, 14, 30))}>Nov 23 10:{sec // 60 % 60:02d}:{sec % 60:02d} "
                    f"{host} {app}[{rng.randint(100, 999)}]: {msg}"
                ).encode()
            )
    return lines


def _rates(n: int, work) -> tuple[float, float]:
    """(lines per wall second, lines per CPU second) of ``work()``; on a shared machine the
    CPU-time figure is the one-core rate, the wall figure what this run got."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return n / (time.perf_counter() - wall), n / (time.process_time() - cpu)


def bench_parse(lines: list[bytes]) -> tuple[float, float]:
    parser = SyslogParser()
    texts = [line.decode() for line in lines]

    def work():
        for text in texts:
            parser.parse(text)

    return _rates(len(texts), work)


def bench_templates(lines: list[bytes]) -> tuple[float, float, int]:
    parser = SyslogParser()
    templates = LogTemplates(max_templates=SyslogSettings().max_templates)
    classifier = SignatureClassifier(load_class_rules())
    mapper = EntityMapper(load_entity_rules())
    texts = [line.decode() for line in lines]

    def work():
        for text in texts:
            record = parser.parse(text)
            mapper.map(record.hostname, record.app_name)
            tid = templates.add(record.message)
            classifier.for_template(templates.template(tid))

    return (*_rates(len(texts), work), len(templates))


def _send(port: int, lines: list[bytes], connections: int) -> None:
    """In a separate process, so the sender does not share the worker's interpreter lock."""

    def one(part):
        with socket.create_connection(("127.0.0.1", port)) as conn:
            payload = b"".join(b"%d %s" % (len(line), line) for line in part)
            conn.sendall(payload)

    threads = [threading.Thread(target=one, args=(lines[i::connections],)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _warm_up(pipeline: SyslogPipeline, batches: int) -> None:
    """Write unrelated Event rows first: a long-running graph server has its JIT warm already."""
    for b in range(batches):
        rows = [
            {
                "entity_id": f"warmup-{i % 50}",
                "entity_label": "Host",
                "entity_name": f"warmup-{i % 50}",
                "kind": "host",
                "first_ts": 0.0,
                "last_ts": 0.0,
                "id": f"warmup-{b}-{i}",
                "template_id": "warmup",
                "template": "warm up",
                "bucket": 0.0,
                "bucket_seconds": 60.0,
                "count": 1,
                "severity": 6,
                "signature_class": "other",
                "sample": "warm up",
            }
            for i in range(1000)
        ]
        pipeline.writer.write_batch({"events": rows, "changes": []})


def bench_end_to_end(lines: list[bytes], connections: int, warmup_batches: int) -> dict:
    proc = psutil.Process()
    with tempfile.TemporaryDirectory() as tmp:
        graph = GraphSettings(data_dir=Path(tmp) / "graph", heap="1g", password="bench-password", max_retry_time_s=10)
        with open_graph(graph) as store:
            migrations.migrate(store)
            settings = SyslogSettings(state_dir=Path(tmp) / "state")
            pipeline = SyslogPipeline(settings, store)
            _warm_up(pipeline, warmup_batches)
            warm_lines = store.read(cypher.EVENT_TOTALS)[0]["lines"] or 0
            pipeline.start()
            listeners = SyslogListeners(pipeline)
            _, port = listeners.add_tcp("127.0.0.1", 0)
            rss_start = proc.memory_info().rss
            cpu_start = sum(proc.cpu_times()[:2])
            graph_procs = proc.children(recursive=True)  # the embedded server's JVM
            graph_cpu_start = sum(sum(p.cpu_times()[:2]) for p in graph_procs)
            samples = []
            sender = multiprocessing.Process(target=_send, args=(port, lines, connections))
            started = time.perf_counter()
            sender.start()
            with tqdm(total=len(lines), desc="end to end", unit="line") as bar:
                done = 0
                while done < len(lines):
                    time.sleep(0.5)
                    samples.append(proc.memory_info().rss)
                    bar.update(pipeline.lines_processed - done)
                    done = pipeline.lines_processed
                    if not sender.is_alive() and sender.exitcode:
                        raise RuntimeError("sender failed")
            processed_at = time.perf_counter()
            pipeline.flush()
            assert pipeline.buffer.wait_empty(300), "the graph did not take the aggregates"
            written_at = time.perf_counter()
            worker_cpu = sum(proc.cpu_times()[:2]) - cpu_start
            graph_cpu = sum(sum(p.cpu_times()[:2]) for p in graph_procs) - graph_cpu_start
            sender.join()
            listeners.stop()
            pipeline.stop()
            totals = store.read(cypher.EVENT_TOTALS)[0]
            totals = {"lines": (totals["lines"] or 0) - warm_lines, "events": totals["events"] - warmup_batches * 1000}
    quarter = samples[len(samples) // 4] if samples else rss_start
    return {
        "lines_per_s": len(lines) / (written_at - started),
        "lines_per_worker_cpu_s": len(lines) / worker_cpu,
        "graph_cpu_s": graph_cpu,
        "worker_cpu_s": worker_cpu,
        "processing_lines_per_s": len(lines) / (processed_at - started),
        "lines_in_graph": totals["lines"],
        "events": totals["events"],
        "rss_start_mb": rss_start / 2**20,
        "rss_peak_mb": max(samples + [rss_start]) / 2**20,
        "rss_growth_after_first_quarter_mb": (max(samples[len(samples) // 4 :] or [rss_start]) - quarter) / 2**20,
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--connections", type=int, default=8, help="TCP connections of the sender")
    parser.add_argument("--skip-graph", action="store_true", help="only the in-process stages")
    parser.add_argument(
        "--warmup-batches", type=int, default=3, help="batches of 1000 unrelated rows written before timing"
    )
    args = parser.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {describe_machine()}; load average {load} (shared machine)")
    lines = build_corpus(args.lines)
    print(f"corpus: {len(lines):,} lines (1/3 RFC 5424, 1/3 RFC 3164, 1/3 loghub Linux+OpenSSH)")
    wall, cpu = bench_parse(lines)
    print(f"parse only:            {cpu:>10,.0f} lines/s per CPU second ({wall:,.0f} per wall second)")
    wall, cpu, count = bench_templates(lines)
    print(
        f"parse + templates:     {cpu:>10,.0f} lines/s per CPU second ({wall:,.0f} per wall second; "
        f"with entity mapping and classes; {count} templates)"
    )
    if args.skip_graph:
        return 0
    r = bench_end_to_end(lines, args.connections, args.warmup_batches)
    lost = len(lines) - (r["lines_in_graph"] or 0)
    print(
        f"end to end over TCP:   {r['lines_per_s']:>10,.0f} lines/s (first byte sent -> last aggregate written; "
        f"{args.connections} connections; graph warmed with {args.warmup_batches * 1000:,} unrelated rows)"
    )
    print(f"  processing only:     {r['processing_lines_per_s']:>10,.0f} lines/s (first byte -> last line aggregated)")
    print(
        f"  CPU used:            {r['lines_per_worker_cpu_s']:>10,.0f} lines per CPU second of the worker "
        f"({r['worker_cpu_s']:.1f} s worker, {r['graph_cpu_s']:.1f} s graph server)"
    )
    print(
        f"  lines in graph:      {r['lines_in_graph']:,} of {len(lines):,} (lost: {lost}); {r['events']:,} Event nodes"
    )
    print(
        f"  memory: start {r['rss_start_mb']:.0f} MiB, peak {r['rss_peak_mb']:.0f} MiB, "
        f"growth after first quarter {r['rss_growth_after_first_quarter_mb']:.1f} MiB, "
        f"ru_maxrss {r['maxrss_mb']:.0f} MiB"
    )
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
