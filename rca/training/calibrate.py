"""Fit the composition of the rankers' outputs (rca.rank.ensemble) on the validation split of simulator incidents.

    python -m rca.training.calibrate [--per-cell 8] [--sizes 20,100,300] [--out rca/rank/weights.json]

The model is a conditional logit (softmax over an incident's entities, one true root cause per
incident) with an L2 penalty, then one temperature (a scale of all weights) fitted by maximum
likelihood to undo the penalty's shrinkage, so the softmax output is a calibrated probability
on incidents like the validation ones. The held-out benchmark suite uses other seeds. The command
fits the composition served without a model (weights.json); `rca train` fits the one with the
graph model's term into the model artifact, with the same functions.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from rca.rank.ensemble import WEIGHTS_FILE, WITHOUT_MODEL, EnsembleWeights, ranker_outputs
from rca.rank.rules.evaluate import default_rule_engine
from rca.simulator.suite import suite
from rca.training.samples import analysed

L2 = 0.05


def collect(specs, rules, max_hops: int | None = None) -> list[tuple[np.ndarray, int]]:
    """The composition's inputs without a model (rankers' outputs per entity) and each true root cause's row."""
    return [
        (ranker_outputs(table, WITHOUT_MODEL), table.index[root])
        for _, _, table, root in analysed(specs, rules, max_hops)
    ]


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


def fit_composition(data: list[tuple[np.ndarray, int]], names: tuple[str, ...], label: str) -> EnsembleWeights:
    """Weights of the named terms maximising the likelihood of the true root causes, then calibrated."""
    w = fit(data, len(names))
    w = w * temperature(data, w)
    return EnsembleWeights(names, w, f"{label}-{time.strftime('%Y%m%d', time.gmtime())}-v{len(data)}")


def main(argv: list[str] | None = None) -> int:
    """Fit and write the weights file of the composition without a model."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-cell", type=int, default=8)
    parser.add_argument("--sizes", default="20,100,300")
    parser.add_argument("--max-hops", type=int, default=None)
    parser.add_argument("--out", type=Path, default=WEIGHTS_FILE)
    args = parser.parse_args(argv)
    sizes = tuple(int(s) for s in args.sizes.split(","))
    rules = default_rule_engine()
    data = collect(suite("validation", args.per_cell, sizes), rules, args.max_hops)
    weights = fit_composition(data, WITHOUT_MODEL, "ensemble")
    args.out.write_text(
        json.dumps(
            {
                **weights.as_dict(),
                "rules_version": rules.version,
                "fitted_on": {
                    "suite": "validation",
                    "per_cell": args.per_cell,
                    "sizes": sizes,
                    "incidents": len(data),
                    "l2": L2,
                },
                "validation_top1": round(top1(data, weights.values), 4),
            },
            indent=1,
        )
        + "\n"
    )
    print(f"fitted on {len(data)} validation incidents: top-1 {top1(data, weights.values):.3f}; wrote {args.out}")
    for name, value in zip(weights.names, weights.values):
        print(f"  {name:14s} {value:+.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
