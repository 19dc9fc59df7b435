"""Fit the engine's combination weights on the validation split of simulator incidents.

    python -m rca.training.calibrate [--per-cell 8] [--sizes 20,100,300] [--out rca/rank/weights.json]

The model is a conditional logit (softmax over an incident's entities, one true root cause per
incident) with an L2 penalty, then one temperature (a scale of all weights) fitted by maximum
likelihood to undo the penalty's shrinkage, so the softmax output is a calibrated probability
on incidents like the validation ones. The held-out benchmark suite uses other seeds.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from rca.rank.combined import WEIGHTS_FILE
from rca.rank.features import FEATURE_SCHEMA_VERSION
from rca.rank.rules.evaluate import default_rule_engine
from rca.simulator.suite import analysed, suite

L2 = 0.05


def collect(specs, rules, max_hops: int | None = None) -> tuple[list[str], list[tuple[np.ndarray, int]]]:
    """Feature matrices of the incidents and the row of each true root cause (skipped if absent)."""
    data, names = [], []
    for _, _, table, root in analysed(specs, rules, max_hops):
        names = table.names
        data.append((table.matrix, table.index[root]))
    return names, data


def fit(data: list[tuple[np.ndarray, int]], n_features: int, l2: float = L2) -> np.ndarray:
    """Weights maximising the mean log-probability of the true root causes."""
    def loss(w):
        total, grad = 0.0, np.zeros_like(w)
        for x, y in data:
            z = x @ w
            z -= z.max()
            p = np.exp(z)
            p /= p.sum()
            total -= np.log(p[y] + 1e-12)
            grad -= x[y] - p @ x
        n = len(data)
        return total / n + l2 * w @ w, grad / n + 2 * l2 * w
    result = minimize(loss, np.zeros(n_features), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return result.x


def temperature(data: list[tuple[np.ndarray, int]], w: np.ndarray) -> float:
    """The scale of w that maximises the likelihood: undoes the L2 shrinkage so scores are calibrated."""
    from scipy.optimize import minimize_scalar

    def nll(t):
        total = 0.0
        for x, y in data:
            z = t * (x @ w)
            z -= z.max()
            total -= z[y] - np.log(np.exp(z).sum())
        return total / len(data)
    return float(minimize_scalar(nll, bounds=(0.1, 20.0), method="bounded").x)


def top1(data, w) -> float:
    """Share of incidents whose true root cause gets the highest score."""
    return float(np.mean([int(np.argmax(x @ w) == y) for x, y in data]))


def main(argv: list[str] | None = None) -> int:
    """Fit and write the weights file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-cell", type=int, default=8)
    parser.add_argument("--sizes", default="20,100,300")
    parser.add_argument("--max-hops", type=int, default=None)
    parser.add_argument("--out", type=Path, default=WEIGHTS_FILE)
    args = parser.parse_args(argv)
    sizes = tuple(int(s) for s in args.sizes.split(","))
    rules = default_rule_engine()
    names, data = collect(suite("validation", args.per_cell, sizes), rules, args.max_hops)
    w = fit(data, len(names))
    scale = temperature(data, w)
    w = w * scale
    version = f"logit-{time.strftime('%Y%m%d', time.gmtime())}-v{len(data)}"
    args.out.write_text(json.dumps({
        "version": version, "feature_schema_version": FEATURE_SCHEMA_VERSION, "rules_version": rules.version,
        "fitted_on": {"suite": "validation", "per_cell": args.per_cell, "sizes": sizes, "incidents": len(data), "l2": L2,
                      "temperature_scale": round(scale, 4)},
        "validation_top1": round(top1(data, w), 4),
        "names": names, "weights": [round(float(v), 6) for v in w],
    }, indent=1) + "\n")
    print(f"fitted on {len(data)} validation incidents: top-1 {top1(data, w):.3f}; wrote {args.out}")
    for name, value in sorted(zip(names, w), key=lambda kv: -abs(kv[1]))[:12]:
        print(f"  {name:32s} {value:+.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
