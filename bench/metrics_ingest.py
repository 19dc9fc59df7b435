"""Benchmark of the metrics ingest: detection quality and poll time against a real Prometheus.

Generates an estate (default 200 services x 10 signals, 6 h at 15 s) with a daily cycle, noise,
occasional single-point outliers and injected step, ramp and spike faults; backfills it into a
local Prometheus with promtool; replays the window through the detector exactly as
`rca ingest metrics --from/--to` does; prints precision, recall, median onset error and the
seconds of one full poll (every template's range query + detection, as the live worker does
every 30 s). Graph writes are not part of the figures (see --help).

    /work/main/.venv/bin/python bench/metrics_ingest.py            # full size
    /work/main/.venv/bin/python bench/metrics_ingest.py --services 20 --hours 3   # quick
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.metrics.backfill import backfill
from ingest.metrics.poll import MetricsPoller
from ingest.metrics.promql_templates import load_templates
from ingest.metrics.reader import PrometheusReader
from settings.ingest import MetricsSettings
from tests.support.metrics_synthetic import Fault, SeriesSpec, daily_cycle, write_openmetrics
from tests.support.prometheus_server import LocalPrometheus

# signal: (family, direction, typical level, relative noise)
SIGNALS = {
    "latency_p50": ("latency", "up", 0.05, 0.04),
    "latency_p99": ("latency", "up", 0.25, 0.06),
    "error_ratio": ("errors", "up", 0.01, 0.10),
    "request_rate": ("traffic", "both", 200.0, 0.03),
    "cpu": ("saturation", "up", 0.40, 0.04),
    "memory": ("saturation", "up", 0.55, 0.01),
    "disk_busy": ("saturation", "up", 0.20, 0.05),
    "net_rx": ("saturation", "both", 5e6, 0.04),
    "net_tx": ("saturation", "both", 3e6, 0.04),
    "queue_depth": ("saturation", "up", 20.0, 0.08),
}


@dataclass(frozen=True)
class Injected:
    service: str
    signal: str
    fault: Fault


def _files(workdir: Path) -> tuple[Path, Path, Path]:
    signals = workdir / "signals.yaml"
    lines = ["signals:"]
    for name, (family, direction, level, noise) in SIGNALS.items():
        lines.append(
            f"  - {{name: {name}, family: {family}, query: 'bench_{name}', entity: bench_service, "
            f"direction: {direction}, min_scale: {level * noise * 0.5:g}, min_delta: {level * 0.1:g}}}"
        )
    signals.write_text("\n".join(lines) + "\n")
    mapping = workdir / "mapping.yaml"
    mapping.write_text("rules:\n  bench_service: {prom_label: service, entity: Service}\n")
    discovery = workdir / "discovery.yaml"
    discovery.write_text("edges: []\n")  # the benchmark measures anomaly detection only
    return signals, discovery, mapping


def generate(
    path: Path,
    services: int,
    hours: float,
    step: float,
    fault_share: float,
    seed: int,
    end: float,
    magnitude: float = 1.0,
):
    """Write the estate's OpenMetrics; return (timestamps, injected faults, sample count)."""
    rng = np.random.default_rng(seed)
    ts = np.arange(end - hours * 3600, end + step / 2, step)
    first, last = ts[0] + 1.5 * 3600, ts[-1] - 40 * 60  # faults need a baseline before and room after
    injected: list[Injected] = []
    specs = []
    for s in range(services):
        service = f"svc-{s:03d}"
        for name, (_family, direction, level, noise) in SIGNALS.items():
            base = level * rng.uniform(0.5, 2.0)
            values = base * daily_cycle(ts, rng.uniform(0.05, 0.3), phase_s=rng.uniform(0, 86400))
            values = values + rng.normal(0, noise * base, len(ts))
            outliers = rng.random(len(ts)) < 0.002  # lone scrape glitches: never a fault
            values[outliers] += rng.choice([-1, 1], outliers.sum()) * 6 * noise * base
            if rng.random() < fault_share:
                shape = ("step", "ramp", "spike")[len(injected) % 3]
                start = float(np.floor(rng.uniform(first, last) / step) * step)
                sign = (-1.0 if (direction == "both" and rng.random() < 0.5) else 1.0) * magnitude
                if shape == "step":
                    fault = Fault("step", start, rng.uniform(15, 40) * 60, sign * base * rng.uniform(0.5, 1.5))
                elif shape == "ramp":
                    fault = Fault("ramp", start, rng.uniform(15, 30) * 60, sign * base * rng.uniform(1.0, 2.0))
                else:
                    fault = Fault("spike", start, rng.uniform(1.5, 4) * 60, sign * base * rng.uniform(1.0, 3.0))
                values = values + fault.apply(ts)
                injected.append(Injected(service, name, fault))
            specs.append(SeriesSpec(f"bench_{name}", {"service": service}, np.clip(values, 0, None)))
    samples = write_openmetrics(path, ts, specs)
    return ts, injected, samples


def score(found: dict[str, tuple], injected: list[Injected], step: float, slack_s: float = 120.0):
    """Precision, recall, onset errors and the unmatched detections."""
    by_series: dict[tuple[str, str], list[Injected]] = {}
    for item in injected:
        by_series.setdefault((item.service, item.signal), []).append(item)
    detected_faults: dict[int, float] = {}
    false_positives = []
    for key, change in found.values():
        _label, service, signal = key
        match = None
        for item in by_series.get((service, signal), []):
            f = item.fault
            if f.start - slack_s <= change.onset <= f.start + f.duration_s + slack_s:
                match = item
        if match is None or id(match) in detected_faults:
            false_positives.append((key, change))
            continue
        detected_faults[id(match)] = abs(change.onset - match.fault.start)
    detections = len(found)
    precision = (detections - len(false_positives)) / detections if detections else 1.0
    recall = len(detected_faults) / len(injected) if injected else 1.0
    return precision, recall, list(detected_faults.values()), false_positives


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--hours", type=float, default=6.0)
    parser.add_argument("--step", type=float, default=15.0)
    parser.add_argument("--fault-share", type=float, default=0.03, help="share of series that get a fault")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--magnitude",
        type=float,
        default=1.0,
        help="scale of the fault sizes (1: +50..150%% steps, +100..200%% ramps, +100..300%% spikes)",
    )
    parser.add_argument("--polls", type=int, default=5, help="full polls timed at the end of the window")
    parser.add_argument("--workdir", type=Path, help="keep files here (default: a temporary directory)")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="rca-bench-metrics-"))
    workdir.mkdir(parents=True, exist_ok=True)
    end = float(np.floor((time.time() - 120) / args.step) * args.step)
    t0 = time.monotonic()
    ts, injected, samples = generate(
        workdir / "estate.om", args.services, args.hours, args.step, args.fault_share, args.seed, end, args.magnitude
    )
    t_gen = time.monotonic() - t0
    prometheus = LocalPrometheus(workdir)
    t0 = time.monotonic()
    prometheus.backfill(workdir / "estate.om")
    t_backfill = time.monotonic() - t0
    (workdir / "estate.om").unlink()
    prometheus.start()
    try:
        templates = load_templates(*_files(workdir))
        settings = MetricsSettings(prometheus_url=prometheus.url, step_s=args.step)
        poller = MetricsPoller(PrometheusReader(settings), templates, settings)
        found: dict[str, tuple] = {}
        original = poller.poll

        def collecting_poll(now=None, *, fresh_from=None):
            report = original(now, fresh_from=fresh_from)
            for key, change in report.changes:
                found[change.id] = (key, change)
            return report

        poller.poll = collecting_poll
        replay_from = ts[0] + settings.baseline_window_s + settings.gap_s
        t0 = time.monotonic()
        replay = backfill(poller, replay_from, ts[-1], settings.backfill_step_s)
        t_replay = time.monotonic() - t0

        # live-style full polls: a fresh worker's first poll, then the regular 30 s polls
        live = MetricsPoller(PrometheusReader(settings), templates, settings)
        poll_times, series = [], 0
        for i in range(args.polls):
            report = live.poll(ts[-1] - (args.polls - 1 - i) * settings.poll_interval_s)
            poll_times.append(report.duration_s)
            series = report.series
    finally:
        prometheus.stop()

    precision, recall, onset_errors, false_positives = score(found, injected, args.step)
    version = subprocess.run(["prometheus", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    print(
        f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cpus, {platform.platform()}, "
        f"python {platform.python_version()}; {version}"
    )
    print(
        f"estate: {args.services} services x {len(SIGNALS)} signals = {args.services * len(SIGNALS)} series, "
        f"{args.hours:g} h at {args.step:g} s, {samples:,} samples; generated in {t_gen:.1f} s, "
        f"promtool backfill {t_backfill:.1f} s"
    )
    shapes = {s: sum(1 for i in injected if i.fault.shape == s) for s in ("step", "ramp", "spike")}
    print(
        f"faults injected: {len(injected)} ({', '.join(f'{n} {s}' for s, n in shapes.items())}), "
        f"magnitude x{args.magnitude:g}"
    )
    print(
        f"replay: {replay.polls} polls of {settings.backfill_step_s:g} s in {t_replay:.1f} s; "
        f"{len(found)} anomalies detected"
    )
    print(f"precision: {precision:.3f}")
    print(f"recall:    {recall:.3f}")
    if onset_errors:
        med = statistics.median(onset_errors)
        print(
            f"median onset error: {med:.1f} s ({med / args.step:.2f} steps); "
            f"p90 {np.percentile(onset_errors, 90):.1f} s"
        )
    for shape in ("step", "ramp", "spike"):
        errs = [
            abs(c.onset - i.fault.start)
            for k, c in found.values()
            for i in injected
            if i.fault.shape == shape
            and (i.service, i.signal) == (k[1], k[2])
            and i.fault.start - 120 <= c.onset <= i.fault.start + i.fault.duration_s + 120
        ]
        hits = len(
            {
                (k[1], k[2])
                for k, c in found.values()
                for i in injected
                if i.fault.shape == shape and (i.service, i.signal) == (k[1], k[2])
            }
        )
        print(
            f"  {shape:5s}: detected {hits}/{shapes[shape]}, median onset error "
            f"{statistics.median(errs) if errs else float('nan'):.1f} s"
        )
    print(
        f"seconds per full poll: median {statistics.median(poll_times):.2f} s over {len(poll_times)} polls "
        f"({series} series each; first poll {poll_times[0]:.2f} s); graph writes not included"
    )
    for key, change in false_positives[:10]:
        print(
            f"  unmatched detection: {key[1]} {key[2]} onset {change.onset - ts[0]:.0f}s into the window, "
            f"score {change.score:.1f}, {change.direction}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
