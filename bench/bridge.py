"""Alertmanager bridge: notifications accepted per second, and time from notification to delivered diagnosis.

    python bench/bridge.py [--repeats 3000] [--groups 100] [--rate 5] [--senders 8]

Starts the embedded graph, writes simulated 300-entity incidents, runs `rca serve` and
`rca bridge alertmanager` as their own processes (as deployed) with a webhook receiver in this
process. Then:

1. acceptance: --repeats notifications of one already-diagnosed group (Alertmanager's repeat
   notifications, the bulk of its traffic) from --senders concurrent senders; prints accepted/s;
2. diagnosis: --groups new alert groups at --rate per second (below Infer's capacity); for each,
   the time from posting the notification to the receiver getting its diagnosis; prints p50/p99.

Targets (issue 23): >= 200 notifications/s accepted; diagnosis delivered p99 <= 1 s below Infer's capacity.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.infer_latency import PASSWORD, percentile, write_incident
from bench.machine import describe_machine
from bench.processes import start_rca
from graph_schema import migrations
from graph_schema.connection import EMBEDDED_USER, embedded_server
from graph_schema.store import GraphStore
from settings.graph import GraphSettings
from tests.support.http_receiver import Receiver
from tests.support.local_server import free_port

ROOT = Path(__file__).resolve().parents[1]
FAULTS = ("datastore_outage", "latency", "errors", "cpu_exhaustion")


def body(key: str, entity: str, at: float) -> bytes:
    stamp = datetime.fromtimestamp(at, UTC).isoformat()
    alert = {
        "status": "firing",
        "labels": {"alertname": "HighErrorRate", "service": entity},
        "startsAt": stamp,
        "fingerprint": f"{key}-{entity}",
    }
    return json.dumps({"version": "4", "groupKey": key, "status": "firing", "alerts": [alert]}).encode()


def main() -> int:
    """Run both phases and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--rate", type=float, default=5.0, help="new alert groups per second")
    parser.add_argument("--senders", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rca-bridge-bench-") as tmp:
        settings = GraphSettings(password=PASSWORD, data_dir=Path(tmp) / "graph", heap="1g")
        server = embedded_server(settings).start()
        processes: list[subprocess.Popen] = []
        try:
            with GraphStore.connect(settings, uri=server.bolt_uri, user=EMBEDDED_USER) as store:
                migrations.migrate(store)
                incidents = [write_incident(store, seed, 300, FAULTS[seed % len(FAULTS)]) for seed in range(4)]
            receiver = Receiver()
            env = {
                **os.environ,
                "NEO4J_URI": server.bolt_uri,
                "NEO4J_USER": EMBEDDED_USER,
                "NEO4J_PASSWORD": PASSWORD,
                "RCA_GRAPH__DATABASE": settings.database,
                "RCA_SERVICE__METRICS_PORT": "0",
                "RCA_SERVICE__PROCESSES": "1",
                "RCA_BRIDGE__RECEIVERS": json.dumps([{"kind": "webhook", "url": receiver.url}]),
            }
            service, announced = start_rca(["serve", "--port", "0"], env, "RootCause serving")
            processes.append(service)
            target = announced.split(" on ", 1)[1].split(" ", 1)[0]
            bridge_port = free_port()
            bridge, _ = start_rca(
                ["bridge", "alertmanager", "--listen", f"127.0.0.1:{bridge_port}", "--target", target],
                env,
                "Alertmanager bridge",
            )
            processes.append(bridge)
            url = f"http://127.0.0.1:{bridge_port}/alerts"
            print(f"machine: {describe_machine()}")

            # 1. acceptance of repeat notifications of one diagnosed group
            first = incidents[0].symptoms[0]
            repeat = body("repeat-group", first["entity_id"], first["observed_at"])
            session = requests.Session()
            session.post(url, data=repeat, timeout=30)
            _wait(lambda: "repeat-group" in arrived(receiver), 60)
            local = threading.local()

            def post(_: int) -> int:
                if not hasattr(local, "session"):
                    local.session = requests.Session()
                return local.session.post(url, data=repeat, timeout=30).status_code

            started = time.perf_counter()
            with ThreadPoolExecutor(args.senders) as pool:
                codes = list(pool.map(post, range(args.repeats)))
            elapsed = time.perf_counter() - started
            accepted = sum(c == 200 for c in codes)
            print(
                f"acceptance: {accepted}/{args.repeats} repeat notifications accepted in {elapsed:.2f} s by "
                f"{args.senders} senders: {accepted / elapsed:.0f} notifications/s (target >= 200)"
            )

            # 2. time from a new group's notification to its delivered diagnosis
            sent: dict[str, float] = {}
            for k in range(args.groups):
                incident = incidents[k % len(incidents)]
                symptom = incident.symptoms[0]
                key = f"group-{k}"
                sent[key] = due = time.perf_counter()
                answer = session.post(url, data=body(key, symptom["entity_id"], symptom["observed_at"]), timeout=30)
                if answer.status_code != 200:
                    print(f"  {key}: HTTP {answer.status_code} {answer.text[:200]}")
                time.sleep(max(0.0, due + 1.0 / args.rate - time.perf_counter()))
            _wait(lambda: all(k in arrived(receiver) for k in sent), 120)
            first = arrived(receiver)
            delays = [(first[k] - t) * 1000 for k, t in sent.items() if k in first]
            print(
                f"diagnosis: {len(delays)}/{args.groups} new groups at {args.rate:g}/s delivered; notification to "
                f"delivered diagnosis p50 {statistics.median(delays):.0f} ms, p99 {percentile(delays, 99):.0f} ms "
                f"(target p99 <= 1000 ms)"
            )
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=60)
            server.stop()
    return 0


def arrived(receiver: Receiver) -> dict[str, float]:
    """When each alert group's first diagnosis reached the receiver."""
    out: dict[str, float] = {}
    for at, body in zip(list(receiver.arrivals), list(receiver.bodies)):
        out.setdefault(body["group_key"], at)
    return out


def _wait(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the receiver did not get every diagnosis in time")
        time.sleep(0.05)


if __name__ == "__main__":
    sys.exit(main())
