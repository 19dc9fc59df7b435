"""Training data from the simulator: named suites simulated, analysed as the engine analyses live
incidents, and cached on disk, so a training run, the fit of the composition and the benchmark never
simulate the same incident twice.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch
from tqdm import tqdm

from rca.rank.analysis import analyse
from rca.rank.features import FEATURE_SCHEMA_VERSION
from rca.rank.gnn.data import Sample, sample_from
from rca.rank.rules.evaluate import RuleEngine
from rca.simulator.incident import simulate
from rca.simulator.knobs import knob_values
from rca.simulator.suite import IncidentSpec, suite


def analysed(
    specs, rules, max_hops: int | None = None, *, desc: str = "incidents", progress: bool = True, leave: bool = True
):
    """(spec, subgraph, feature table, root cause id) of each simulated incident, analysed by the engine.

    Incidents whose root cause lies outside the subgraph cut to max_hops are skipped (there is
    nothing to learn or measure on them).
    """
    for spec in tqdm(list(specs), desc=desc, unit="inc", leave=leave, disable=not progress):
        incident = simulate(spec.seed, spec.size, spec.fault_type)
        subgraph = incident.to_subgraph(max_hops)
        if incident.root_cause_id not in subgraph.nodes:
            continue
        table = analyse(subgraph, rules).table  # the engine's own analysis: the same features as live data
        yield spec, subgraph, table, incident.root_cause_id


def simulate_samples(
    specs: list[IncidentSpec],
    rules: RuleEngine,
    max_hops: int | None = None,
    desc: str = "incidents",
    progress: bool = True,
) -> tuple[list[str], list[Sample]]:
    """Simulate and analyse incidents; skips the few whose root cause lies outside the subgraph."""
    names: list[str] = []
    out = []
    for spec, sub, table, root in analysed(specs, rules, max_hops, desc=desc, progress=progress, leave=False):
        names = table.names
        out.append(sample_from(sub, table, root, fault_type=spec.fault_type, size=spec.size))
    return names, out


def code_digest() -> str:
    """A digest of the simulator, feature and rule code and data: cached samples from other code are not reused."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for package in ("rank", "simulator"):
        for path in sorted((root / package).rglob("*")):
            if path.suffix in (".py", ".yaml", ".json") and path.name != "weights.json":
                h.update(path.name.encode())
                h.update(path.read_bytes())
    return h.hexdigest()[:12]


def cached_suite(
    cache_dir: Path | None,
    name: str,
    per_cell: int,
    sizes: tuple[int, ...],
    rules: RuleEngine,
    max_hops: int | None = None,
    fault_types: tuple[str, ...] | None = None,
    progress: bool = True,
) -> tuple[list[str], list[Sample]]:
    """The samples of a named suite, read from cache_dir when built before with the same rules."""
    kwargs = {"fault_types": fault_types} if fault_types else {}
    specs = list(suite(name, per_cell, sizes, **kwargs))
    key = hashlib.sha256(
        repr(
            (name, per_cell, sizes, max_hops, fault_types, rules.version, FEATURE_SCHEMA_VERSION, code_digest())
            + tuple(sorted(knob_values().items()))  # knobs moved at run time (rca train --knob) change the suite
        ).encode()
    ).hexdigest()[:12]
    path = cache_dir / f"{name}-{key}.pt" if cache_dir else None
    if path is not None and path.exists():
        data = torch.load(path, weights_only=False)
        return data["names"], data["samples"]
    names, samples = simulate_samples(specs, rules, max_hops, desc=f"{name} incidents", progress=progress)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # written aside and renamed: a run reading the cache meanwhile (two trainings at once) or after
        # this one was killed finds the whole file or none, never a truncated one it cannot load
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        try:
            torch.save({"names": names, "samples": samples}, partial)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
    return names, samples
