"""Root-cause accuracy on a folder of case folders (`rca diagnose` format): engine and baselines side by side.

    python bench/accuracy.py --cases DIR [--mlp-model PATH] [--ranks-json FILE]

Each case goes through the path `rca diagnose --all` takes (topology reconcile, syslog pipeline, the
metrics detector, Infer over gRPC on one throwaway graph and service). Then the subgraph that Infer
ranked is fetched again from the graph and every ranker of bench/accuracy.py ranks it in-process, so
all rows see the same evidence. "service" is the gRPC answer itself (it must agree with "engine").
A root cause outside the subgraph counts as missed by every ranker. Prints AC@1 / AC@3 / Avg@5
overall, per fault kind (case.yaml `fault`) and per UTC day of the alert. --ranks-json FILE also
writes, per case, its fault kind and the rank of its truth under every ranker (0 = not in the top 5),
which `rca lab run` puts beside the live diagnosis.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections import defaultdict

from tqdm import tqdm

from bench.machine import describe_machine
from rca.cli.diagnose.case import load_case
from rca.cli.diagnose.errors import CaseError
from rca.cli.diagnose.session import open_session, project_signals
from rca.cli.diagnose_commands import case_folders
from rca.rank.scoring import TOP, summarise
from rca.service import subgraph_fetch
from rca.service.requests import parse_infer
from settings.root import load_settings

SERVICE = "service"


def fault_of(case) -> str:
    """The case's fault kind (case.yaml `fault`), "unlabelled" when it names none."""
    import yaml

    return str((yaml.safe_load((case.path / "case.yaml").read_text()) or {}).get("fault") or "unlabelled")


def diagnosed(folder, elapsed=None):
    """Per case folder under ``folder`` with root causes: (case, the service's result, the subgraph Infer
    ranked, fetched again from the graph), all on one throwaway graph and service. Folders that do not
    load, or name no root cause, are reported and skipped. ``elapsed["diagnose"]`` sums the diagnoses."""
    logging.getLogger("ingest").setLevel(logging.ERROR)  # per-series warnings of each case's poll
    settings = load_settings(None)
    known = {name: t.family for name, t in project_signals(settings.metrics).items()}
    with open_session(settings) as session:
        for path in tqdm(case_folders(folder), desc="cases", unit="case"):
            try:
                case = load_case(path, known)
            except CaseError as exc:
                print(f"skipped: {exc}")
                continue
            if not case.root_causes:
                print(f"skipped: {path}: no root_causes in case.yaml")
                continue
            t = time.perf_counter()
            result = session.run(case)
            if elapsed is not None:
                elapsed["diagnose"] += time.perf_counter() - t
            subgraph, _ = subgraph_fetch.from_graph(
                session.store,
                parse_infer(session.last_request, settings.service.model_copy(update={"max_top_k": 1000})),
            )
            yield case, result, subgraph


def run_cases(folder, rankers, ranks_json=None) -> int:
    """Diagnose every case under ``folder`` and print the table of every ranker."""
    names = [SERVICE] + [r.name for r in rankers]
    groups: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    covered = total = 0
    per_case: dict[str, dict] = {}
    elapsed: dict[str, float] = defaultdict(float)
    started = time.monotonic()
    for case, result, subgraph in diagnosed(folder, elapsed):
        truth = set(case.root_causes)
        total += 1
        covered += bool(truth & set(subgraph.nodes))
        ranks = {SERVICE: result.rank_of_truth() or 0}
        for ranker in rankers:
            t = time.perf_counter()
            ranked = ranker.rank(subgraph, TOP)
            elapsed[ranker.name] += time.perf_counter() - t
            ranks[ranker.name] = next((c.rank for c in ranked.candidates if c.entity_id in truth), 0)
        day = dt.datetime.fromtimestamp(case.alert_at, dt.UTC).strftime("%Y-%m-%d")
        per_case[case.name] = {"fault": fault_of(case), "ranks": ranks}
        for group in ("OVERALL", f"fault {fault_of(case)}", f"day {day}"):
            for name in names:
                groups[group][name].append(ranks[name])
    seconds = time.monotonic() - started
    if ranks_json is not None:
        ranks_json.write_text(json.dumps(per_case, indent=1) + "\n", encoding="utf-8")  # rankers in table order
    print(f"\nmachine: {describe_machine()}")
    print(
        f"cases: {folder}, {total} with root causes; {seconds:.0f} s ({total / seconds:.2f} cases/s with the rankers)"
    )
    print(f"root cause inside the ranked subgraph: {covered}/{total} (the ceiling of every ranker)")
    print("AC@1 / AC@3 / Avg@5")
    print(f"{'group':26s} {'n':>3s} " + " ".join(f"{n:>20s}" for n in names))
    for group in ["OVERALL", *sorted(g for g in groups if g != "OVERALL")]:
        n = len(groups[group][SERVICE])
        cells = [" / ".join(f"{v:.3f}" for v in summarise(groups[group][name])) for name in names]
        print(f"{group:26s} {n:>3d} " + " ".join(f"{c:>20s}" for c in cells))
    print(
        f"{'ms per case':26s} {'':>3s} "
        + " ".join(f"{elapsed['diagnose' if n == SERVICE else n] / max(total, 1) * 1000:>20.1f}" for n in names)
    )
    return 0
