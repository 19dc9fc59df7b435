"""Case folders from a linear structural-equation generator that shares nothing with the project's simulator.

    python bench/sem_cases.py OUT [--cases 60] [--seed 1]
    python bench/accuracy.py --cases OUT

Issue 19 measured the engine on incidents from an independent generator: a random dependency graph of
10-60 entities, each with one metric that is a weighted sum of its dependencies' metrics plus noise,
and faults that shift a root's level, scale its noise or change the weights it combines its inputs
with, at one or several roots. This writes such incidents as `rca diagnose` case folders, so that they
reach the engine as an operator's data would (the metrics detector, the deviation scoring, Infer),
and `bench/accuracy.py --cases` puts the engine beside the simple baselines on them. Nothing here
reads the project's simulator, its fault profiles or its signal names: each entity's one metric is
called `value` and mapped to the latency family, judged both ways, as a user would map a metric the
project does not know.

What each case holds:

- a topology: every entity after the first (`svc-0`, the front) is called by one or two entities
  created before it, so the calls form a DAG under the front, and a callee's metric feeds its
  callers' (each caller adds its deviation times a weight of 0.3 to 0.9);
- 60 points of history at a step of 15 s, 60 s or 5 min, then the fault, then 12 points;
- the fault at one root (two or three in a fifth of the cases), of one kind:
  `level_shift` (2 to 12 noise deviations, up or down; under 6 the detector's own threshold is not
  reached at the root), `noise_scale` (its noise times 4 to 8) or `causal_weight` (the weights of its
  inputs multiplied by 5 to 15, with a shift of 2 deviations: a root with no inputs gets a shift of 4);
- the alert on the front's metric at the fault plus two steps;
- `generator.yaml`: what was drawn (the kind, the step, the fault's time, each root's shift, weight
  factor and noise gain), for whoever checks the generator; `rca diagnose` does not read it.

The faults take turns by case number, so 60 cases hold 20 of each kind. docs/accuracy.md ("An
independent generator") has the figures.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import yaml

HISTORY_POINTS = 60
AFTER_POINTS = 12
STEPS_S = (15, 60, 300)
KINDS = ("level_shift", "noise_scale", "causal_weight")
GENERATOR_FILE = "generator.yaml"
START = 1_700_000_000  # 2023-11-14T22:13:20Z: any fixed time will do


def _entity(index: int) -> str:
    """The id of the entity drawn as number `index` (0 is the front)."""
    return f"svc-{index}"


def _topology(rng: np.random.Generator, n: int) -> dict[int, list[int]]:
    """Entity -> the entities it calls; every entity but the front has one or two callers before it."""
    calls: dict[int, list[int]] = {i: [] for i in range(n)}
    for callee in range(1, n):
        for caller in rng.choice(callee, size=min(callee, int(rng.integers(1, 3))), replace=False):
            calls[int(caller)].append(callee)
    return calls


def _series(
    rng: np.random.Generator, calls: dict[int, list[int]], roots: list[int], kind: str
) -> tuple[np.ndarray, dict]:
    """Every entity's metric over history and fault, callees first (they are the larger ids)."""
    n = len(calls)
    points = HISTORY_POINTS + AFTER_POINTS
    fault_at = HISTORY_POINTS
    weight = {(caller, callee): rng.uniform(0.3, 0.9) for caller, callees in calls.items() for callee in callees}
    sigma = rng.uniform(0.5, 2.0, n)
    base = rng.uniform(10.0, 100.0, n)
    values = np.zeros((points, n))
    shift = {}
    for r in roots:
        if kind == "level_shift":
            size = float(rng.uniform(2.0, 12.0)) * (1 if rng.random() < 0.8 else -1)
            shift[r] = size
        elif kind == "causal_weight":
            shift[r] = 2.0 if calls[r] else 4.0
    factor = {r: float(rng.uniform(5.0, 15.0)) for r in roots} if kind == "causal_weight" else {}
    noise_gain = {r: float(rng.uniform(4.0, 8.0)) for r in roots} if kind == "noise_scale" else {}
    detail = {
        _entity(r): {
            "shift_sigmas": round(shift.get(r, 0.0), 2),
            "weight_factor": round(factor.get(r, 1.0), 2),
            "noise_gain": round(noise_gain.get(r, 1.0), 2),
        }
        for r in roots
    }
    for i in reversed(range(n)):  # callees before callers
        noise = rng.normal(0.0, sigma[i], points)
        if i in noise_gain:
            noise[fault_at:] *= noise_gain[i]
        own = noise.copy()
        if i in shift:
            own[fault_at:] += shift[i] * sigma[i]
        inputs = np.zeros(points)
        for callee in calls[i]:
            w = np.full(points, weight[(i, callee)])
            if i in factor:
                w[fault_at:] *= factor[i]
            inputs += w * (values[:, callee] - base[callee])
        values[:, i] = base[i] + inputs + own
    return values, detail


def write_case(out: Path, index: int, rng: np.random.Generator) -> None:
    """One case folder."""
    n = int(rng.integers(10, 61))
    calls = _topology(rng, n)
    kind = KINDS[index % len(KINDS)]
    root_count = 1 if rng.random() < 0.8 else int(rng.integers(2, 4))
    roots = [int(r) for r in rng.choice(np.arange(1, n), size=root_count, replace=False)]
    step = int(STEPS_S[int(rng.integers(len(STEPS_S)))])
    values, detail = _series(rng, calls, roots, kind)
    folder = out / f"sem-{index:03d}-{kind}"
    folder.mkdir(parents=True, exist_ok=True)
    services = []
    for i in range(n):
        entry: dict = {"id": _entity(i)}
        if calls[i]:
            entry["calls"] = [_entity(c) for c in calls[i]]
        services.append(entry)
    (folder / "topology.yaml").write_text(
        yaml.safe_dump({"version": 1, "estate": f"sem-{index:03d}", "services": services}, sort_keys=False)
    )
    times = START + step * np.arange(len(values))
    header = "time," + ",".join(f"{_entity(i)}/value" for i in range(n))
    rows = [f"{t}," + ",".join(f"{v:.4f}" for v in row) for t, row in zip(times, values)]
    (folder / "metrics.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    case = {
        "description": f"{kind} at {', '.join(_entity(r) for r in roots)} ({GENERATOR_FILE} has the draw)",
        "source": "bench/sem_cases.py",
        "fault": kind,
        "alert": {
            "at": int(times[HISTORY_POINTS] + 2 * step),
            "symptoms": [{"entity": _entity(0), "family": "latency"}],
        },
        "signals": {"value": {"family": "latency", "direction": "both"}},
        "root_causes": [_entity(r) for r in roots],
    }
    (folder / "case.yaml").write_text(yaml.safe_dump(case, sort_keys=False))
    # what was drawn, for whoever checks the generator (rca diagnose reads only the files above)
    (folder / GENERATOR_FILE).write_text(
        yaml.safe_dump({"kind": kind, "step_s": step, "fault_at": int(times[HISTORY_POINTS]), "roots": detail})
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder the case folders are written into")
    parser.add_argument("--cases", type=int, default=60, help="how many (default 60; the fault kinds take turns)")
    parser.add_argument("--seed", type=int, default=1, help="the draw (docs/accuracy.md reports seeds 1 and 2)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    for index in range(args.cases):
        write_case(args.out, index, rng)
    print(f"{args.cases} cases in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
