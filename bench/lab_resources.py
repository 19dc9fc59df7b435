"""CPU and memory of every part of a running lab (issue 25: the lab's resource use on a 2-core machine).

    rca lab up --estate examples/lab/estate-shop.yaml --workdir /tmp/lab &   # wait until it is up
    python bench/lab_resources.py --workdir /tmp/lab [--samples 6] [--interval 5]

Measures the lab in WORKDIR (rca/cli/lab/resources.py: every process group lab.json records, plus the
supervisor) --samples times over --interval seconds each and prints, per part and per kind, the mean
CPU (percent of one core) and the last resident memory, with the machine and its load average (the
machine is shared: other work shows in the load, not in the lab's figures).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe_machine
from rca.cli.lab.resources import PartUsage, format_resources, measure


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--samples", type=int, default=6)
    parser.add_argument("--interval", type=float, default=5.0)
    args = parser.parse_args()
    record = json.loads((args.workdir / "lab.json").read_text())
    with urllib.request.urlopen(record["control_url"] + "/status", timeout=30) as response:
        status = json.loads(response.read())
    print(describe_machine())
    print(f"lab {status['estate']}: {len(status['services'])} services, {len(status['datastores'])} datastores")
    runs = []
    for index in range(args.samples):
        runs.append(measure(status, args.interval))
        print(f"  sample {index + 1}/{args.samples}: load average {os.getloadavg()[0]:.1f}", flush=True)
    mean = []
    for parts in zip(*runs):
        first = parts[0]
        cpu = sum(p.cpu_percent for p in parts) / len(parts)
        mean.append(PartUsage(first.name, first.kind, parts[-1].processes, cpu, parts[-1].rss_bytes))
    print(f"\nmean over {args.samples} x {args.interval:g} s (CPU: percent of one core; RSS: last sample)")
    print(format_resources(mean))
    with urllib.request.urlopen(record["control_url"] + "/status", timeout=30) as response:
        load = json.loads(response.read()).get("load", {})
    print("\nload generator: " + "; ".join(f"{s}: {sorted(o.items())}" for s, o in load.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
