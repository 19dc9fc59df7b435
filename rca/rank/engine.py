"""The service's ranker: every ranker run once over the analysed incident, composed by rca.rank.ensemble.

With a trained model the composition has the graph network's term; without one (model serving
turned off) it composes rules, propagation, the walk and the deviation size with the weights of
weights.json. Either way the result carries each candidate's score breakdown, and with a model
the incident's embedding and the network's own drivers (attribution) of the top candidates.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import torch

from rca.rank.analysis import analyse
from rca.rank.ensemble import TERMS, EnsembleWeights, compose, load_weights, ranker_outputs, unfitted_outputs
from rca.rank.features import FEATURE_SCHEMA_VERSION
from rca.rank.gnn.artifact import Artifact, ArtifactError
from rca.rank.gnn.attribution import attribution_findings, attribution_sentence
from rca.rank.gnn.serving import GraphModel, load_artifact
from rca.rank.graph import NeighbourhoodGraphs
from rca.rank.ranker import PATH_CANDIDATES, check_subgraph, finish, order
from rca.rank.rules.evaluate import RuleEngine, default_rule_engine
from rca.rank.types import IncidentSubgraph, RankingResult

log = logging.getLogger(__name__)


class Engine:
    """Rules, propagation, the walk, the deviation size and (when served) the graph model, composed."""

    def __init__(
        self,
        rules: RuleEngine,
        weights: EnsembleWeights,
        model: GraphModel | None = None,
        graphs_kept: int = 64,
        threads: int = 1,
    ):
        if ("gnn" in weights.names) != (model is not None):
            raise ValueError(
                f"ensemble weights {weights.version} compose {list(weights.names)}, "
                f"which {'needs' if model is None else 'does not take'} a graph model"
            )
        self.rules, self.weights, self.model = rules, weights, model
        self.threads = threads
        # propagation views of neighbourhoods asked about again (the service's snapshot keys them)
        self.graphs = NeighbourhoodGraphs(graphs_kept)
        self.name = "engine" if model is not None else "engine-no-model"

    @property
    def versions(self) -> dict[str, str]:
        """Versions of the rules, the model, the composition and the feature schema."""
        out = {
            "rules": self.rules.version,
            "ensemble": self.weights.version,
            "features": FEATURE_SCHEMA_VERSION,
            "ranker": self.name,
        }
        if self.model is not None:
            out["model"] = self.model.version
        return out

    def rank(self, subgraph: IncidentSubgraph, top_k: int) -> RankingResult:
        """Candidates with composed scores and their breakdowns, findings, paths and explanation."""
        started = time.perf_counter()
        check_subgraph(subgraph, top_k)
        analysis = analyse(subgraph, self.rules, self.graphs.of(subgraph))
        table, timings = analysis.table, analysis.timings_ms
        if self.model is not None and torch.get_num_threads() != self.threads:
            # torch's thread count is the calling thread's own (OpenMP): a gRPC worker thread starts at the
            # machine's core count, which ranks with another summation order (scores differing in the
            # sixth decimal from the same request served on the main thread) and competes for cores
            torch.set_num_threads(self.threads)
        run = self.model.run(table, analysis.graph) if self.model is not None else None
        if run is not None:
            timings["gnn"] = run.ms
        outputs = ranker_outputs(table, self.weights.names, run.logits if run else None)
        composition = compose(outputs, self.weights, unfitted_outputs(table))
        findings = list(analysis.findings)
        drivers: dict[str, list[tuple[str, float]]] = {}
        # one entity alone was not ranked against anything: no drivers to explain
        if run is not None and self.model is not None and self.model.attributes and len(table.node_ids) > 1:
            a0 = time.perf_counter()
            rows = order(table.node_ids, composition.scores)[: min(top_k, PATH_CANDIDATES)]
            gnn_weight = float(self.weights.values[self.weights.names.index("gnn")])
            # the network's drivers, scaled by the weight its term has in the composition
            drivers = {
                table.node_ids[r]: [(n, v * gnn_weight) for n, v in items]
                for r, items in self.model.drivers(run, rows).items()
            }
            findings += attribution_findings(list(drivers), drivers, subgraph.alert_time)
            timings["attribution"] = (time.perf_counter() - a0) * 1000
        result = finish(
            subgraph,
            analysis.graph,
            table,
            composition.scores,
            top_k,
            findings,
            self.versions,
            timings,
            started,
            with_features=True,
            composition=composition,
        )
        if drivers and result.candidates:
            top = result.candidates[0].entity_id
            sentence = attribution_sentence(subgraph.nodes[top].name, drivers.get(top, []))
            result.explanation = f"{result.explanation} {sentence}".strip()
        if run is not None:
            result.embedding = run.embedding
        return result


def model_engine(
    model_dir: Path | None = None, version: str | None = None, threads: int = 1, attribute: bool = True
) -> Engine:
    """The engine with the active (or named) model version; torch threads set for latency."""
    torch.set_num_threads(threads)
    return engine_of(load_artifact(model_dir, version), attribute=attribute, threads=threads)


def engine_of(artifact: Artifact, attribute: bool = True, threads: int = 1) -> Engine:
    """The engine with one model artifact and the composition fitted with it."""
    if tuple(artifact.combination.get("names", ())) != TERMS:
        raise ArtifactError(
            f"model {artifact.version} carries no composition of the terms {list(TERMS)}; retrain it with `rca train`"
        )
    return Engine(
        default_rule_engine(),
        EnsembleWeights.from_dict(artifact.combination),
        GraphModel(artifact, attribute=attribute),
        threads=threads,
    )


def engine_without_model() -> Engine:
    """The engine when model serving is off: the composition of weights.json, no graph model."""
    return Engine(default_rule_engine(), load_weights())
