"""What reading an RCAEval RE2/RE3 traces.csv costs `rca diagnose import rcaeval`: CPU per span and per bucket.

    python bench/rcaeval_import.py [--spans 300000] [--services 20] [--rows 1000]

Writes a synthetic traces.csv in Jaeger's columns (three-span traces between random services, one in
ten leaf spans failing) to a temporary folder, then times `read_traces` (CPU per span, peak resident
memory) and `trace_series` over a metrics grid of one row a second (CPU per filled bucket).
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe_machine
from rca.cli.diagnose.rcaeval_sources import read_traces, trace_series

START_MS = 1_700_000_000_000


def write_traces(file: Path, traces: int, services: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    names = [f"svc-{i}" for i in range(services)]
    with file.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["traceID", "spanID", "parentSpanID", "serviceName", "startTimeMillis", "duration", "statusCode"]
        )
        for k in range(traces):
            at = START_MS + k * 10
            parent = ""
            for depth in range(3):
                span = f"{k:x}-{depth}"
                failed = depth == 2 and k % 10 == 0
                duration = rng.randint(1_000, 50_000)
                writer.writerow(
                    [f"{k:016x}", span, parent, rng.choice(names), at + depth, duration, 500 if failed else 200]
                )
                parent = span


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=300_000)
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--rows", type=int, default=1_000, help="metrics rows, one a second")
    args = parser.parse_args()
    print(describe_machine())
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "traces.csv"
        write_traces(file, args.spans // 3, args.services)
        started = time.process_time()
        traces = read_traces(file)
        read_cpu = time.process_time() - started
        rows = [START_MS / 1000 + i for i in range(args.rows)]
        started = time.process_time()
        series = trace_series(traces, rows)
        series_cpu = time.process_time() - started
    filled = sum(cell != "" for (_, signal), cells in series.items() if signal.endswith("_s") for cell in cells)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"read_traces: {traces.spans} spans, {read_cpu:.2f} s CPU, {read_cpu / traces.spans * 1e6:.1f} us a span")
    print(
        f"trace_series: {len(series)} columns x {args.rows} rows, {filled} filled buckets per signal pair, "
        f"{series_cpu:.2f} s CPU, {series_cpu / max(filled, 1) * 1e6:.0f} us a bucket"
    )
    print(f"peak resident memory of this process: {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
