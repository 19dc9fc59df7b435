"""The final score, composed in one place from the rankers' outputs, with its breakdown by contribution.

Each ranker contributes one output per entity, and each enters the score once:

- `gnn`: the graph network's log-probability of the entity being the root cause (it reads the base
  evidence and the topology, never another ranker's output), floored at one in ten thousand: below
  that it says only "not this one", and an unbounded log-probability would let the network's
  overconfidence on far-away entities swamp every other term of the breakdown;
- `rules`: the strongest rule finding on the entity (durable-rules packs);
- `propagation`: propagation consistency (own evidence, effects downstream, onset order);
- `walk`: where a random walk from the symptoms over evidence-weighted causes ends up;
- `magnitude`: the size of the entity's largest metric deviation (the N-Sigma / BARO baseline's signal);
- `quiet`: how far the entity is observed and normal: watched (some signal family or its logs reach
  the graph) yet showing no deviation, no changed log template and no recent change. Its fitted
  weight is what keeps structure alone (the deepest entity, the entity the alert fired on) from
  ranking a healthy, watched entity above one with evidence; an unobserved entity scores 0 here,
  since its silence says nothing.

One more term is not fitted there and reads the `magnitude` output a second time: `beyond_range`,
the part of the entity's distinct deviation past BEYOND_RANGE_FROM, where the simulator's faults
never reach. The network reads anomaly scores capped at the simulator's largest
(features.SCORE_CAP), so a process whose CPU leaves its baseline by a robust z of 200, alone among
its peers, looks to it like one at 14; no fit on simulated incidents can weigh what they do not
contain. Its two constants were chosen on real faults (docs/accuracy.md, "Deviations beyond the
model's range").

A second unfitted term, `log_burst`, reads the analysis's `log_burst` column
(rca.rank.log_change.log_bursts): how improbable the entity's run of a log template in the
minutes before the alert is, past log_change.BURST_FROM. The simulator's services seldom log such a run
(one incident in twelve has one anywhere, and there a single minute of a line the entity had not
logged scores about 0.9, under the floor), so a fit on simulated incidents leaves it unweighed; on
real systems a failing code path announces itself this way, often with nothing in its metrics.
Its constants were chosen on real faults too (docs/accuracy.md, "Bursts of a rare log template").

A third, `log_sequence`, reads the analysis's `log_sequence` column (rca.rank.log_sequence): how
improbable it is that a routine line the entity logged in step with another fell this far behind it in
the minutes before the alert, past log_sequence.SEQUENCE_FROM (a chance of one in a hundred). A code
path that now throws between its two lines shows nothing else at its root. The simulator's services log
no such steady pairs, so no fit on them could weigh it; its weight is the log burst's, the two being
surprises on one scale, -log10 of a chance (docs/accuracy.md, "A log line that stopped keeping pace").

A fourth, `hop_slowdown`, reads the analysis's `hop_slowdown` column: how many times its usual time
the hops into the entity took (ingest/syslog/trace_hops.py: from the caller's line to the entity's
first line of one trace), past HOP_SLOWDOWN_FROM times. A hop into an entity is the entity's own delay
(its network, a CPU it cannot get), never its callees', so unlike every other latency it does not
travel up the callers; the network reads latencies only by family, and the simulator's services log
no trace ids. TrainTicket's tuning half holds no fault it sees, so its constants were set by reason
(beyond_range's weight, three times the usual hop) and then run on the held-aside half
(docs/accuracy.md, "Hops into a service, timed from its logs", has the grid).

The composition is a conditional logit: logit(entity) = sum over terms of weight x output, and the
score is the softmax of the logits over the incident's entities (the probability that the entity is
the root cause). The weights are fitted by maximum likelihood on a validation split of simulator
incidents (rca.training.ensemble_fit), never on a benchmark suite. A breakdown gives every
term's contribution relative to the incident's average entity, so the contributions of one entity
sum exactly to its logit, and comparing two candidates' breakdowns says what put one above the other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rca.rank.features import KINDS, OBSERVABLE, FeatureTable, showing_families
from rca.rank.log_change import BURST_FROM
from rca.rank.log_sequence import SEQUENCE_FROM

TERMS: tuple[str, ...] = ("gnn", "rules", "propagation", "walk", "magnitude", "quiet")
WITHOUT_MODEL: tuple[str, ...] = tuple(t for t in TERMS if t != "gnn")
BEYOND_RANGE = "beyond_range"  # the unfitted terms' names in a breakdown (compose)
LOG_BURST = "log_burst"
LOG_SEQUENCE = "log_sequence"
HOP_SLOWDOWN = "hop_slowdown"
UNFITTED: tuple[str, ...] = (BEYOND_RANGE, LOG_BURST, LOG_SEQUENCE, HOP_SLOWDOWN)
LABELS = {
    "gnn": "graph model",
    "rules": "rule findings",
    "propagation": "propagation consistency",
    "walk": "random walk from the symptoms",
    "magnitude": "deviation size",
    "quiet": "observed and normal",
    BEYOND_RANGE: "deviation beyond the model's range",
    LOG_BURST: "burst of a rare log template",
    LOG_SEQUENCE: "a log line that stopped keeping pace with its partner",
    HOP_SLOWDOWN: "slower hops into it (lines with trace ids)",
}
# magnitude_distinct past which a deviation lies beyond anything the simulator's faults show: a robust
# z of about 57 (log1p(z) / log1p(SCORE_CAP) = 1.5) in a family no other entity deviates in, more where
# others do; below it the fitted terms, the network's included, have seen such evidence and weigh it
BEYOND_RANGE_FROM = 1.5
BEYOND_RANGE_WEIGHT = 2.0  # log-odds per unit of magnitude_distinct past BEYOND_RANGE_FROM
LOG_BURST_WEIGHT = 8.0  # log-odds per unit of log1p(surprise past log_change.BURST_FROM)
LOG_SEQUENCE_WEIGHT = LOG_BURST_WEIGHT  # the same, past log_sequence.SEQUENCE_FROM: both surprises are -log10 p
HOP_SLOWDOWN_FROM = 3.0  # hops three times slower than usual: less is a busy minute
HOP_SLOWDOWN_WEIGHT = BEYOND_RANGE_WEIGHT  # log-odds per unit of ln(slowdown / HOP_SLOWDOWN_FROM)
WEIGHTS_FILE = Path(__file__).with_name("weights.json")  # the composition used when no model is served
GNN_FLOOR = float(np.log(1e-4))
QUIET_MARGIN = 1.0  # log-odds a fully watched, silent entity stays below every other (compose)


@dataclass(frozen=True)
class EnsembleWeights:
    """Fitted weight of every term, by name, and the version that names the fit."""

    names: tuple[str, ...]
    values: np.ndarray
    version: str

    def __post_init__(self) -> None:
        unknown = [n for n in self.names if n not in TERMS]
        if unknown or len(self.names) != len(self.values):
            raise ValueError(f"ensemble weights name unknown terms {unknown} or do not match their values")

    def as_dict(self) -> dict:
        """Plain form, as stored in weights.json and in a model artifact."""
        return {
            "version": self.version,
            "names": list(self.names),
            "weights": [round(float(v), 6) for v in self.values],
        }

    @classmethod
    def from_dict(cls, data: dict) -> EnsembleWeights:
        """The weights stored by as_dict (ValueError when they do not fit the terms)."""
        return cls(tuple(data["names"]), np.array(data["weights"], dtype=float), str(data["version"]))


def load_weights(path: Path = WEIGHTS_FILE) -> EnsembleWeights:
    """The composition without a model (weights.json); ValueError naming the command that refits it."""
    data = json.loads(path.read_text())
    if tuple(data.get("names", ())) != WITHOUT_MODEL:
        raise ValueError(
            f"{path} composes {data.get('names')}, this code composes {list(WITHOUT_MODEL)}; "
            "re-run python -m rca.training.calibrate"
        )
    return EnsembleWeights.from_dict(data)


def ranker_outputs(table: FeatureTable, names: tuple[str, ...], gnn_logits: np.ndarray | None = None) -> np.ndarray:
    """(entities, len(names)) matrix: each named ranker's output per entity, in table order."""
    columns = []
    for name in names:
        if name == "gnn":
            if gnn_logits is None:
                raise ValueError("the composition has a graph-model term but no model output was given")
            z = gnn_logits - gnn_logits.max()
            columns.append(np.maximum(z - np.log(np.exp(z).sum()), GNN_FLOOR))
        elif name == "rules":
            columns.append(table.column("rule_max"))
        elif name == "propagation":
            columns.append(table.column("propagation_score"))
        elif name == "walk":
            columns.append(table.column("walk_score"))
        elif name == "magnitude":
            columns.append(magnitude(table))
        else:  # quiet
            columns.append(observed_quiet(table))
    return np.column_stack(columns) if columns else np.zeros((len(table.node_ids), 0))


def magnitude(table: FeatureTable) -> np.ndarray:
    """Per entity: its largest deviation in the window, anomaly or not (the magnitude baseline's
    signal, BARO / N-Sigma style), 1 at the simulator's largest score; weighted by how distinct it
    is among the entities watched in its family (features.magnitude_distinct)."""
    return table.column("magnitude_distinct")


def beyond_range(table: FeatureTable) -> np.ndarray:
    """Per entity: how far its distinct deviation (magnitude) lies past BEYOND_RANGE_FROM, else 0."""
    return np.maximum(magnitude(table) - BEYOND_RANGE_FROM, 0.0)


def log_burst(table: FeatureTable) -> np.ndarray:
    """Per entity: log1p of how far its burst surprise lies past BURST_FROM, else 0 (the log keeps a run
    of many improbable minutes from counting as many times one)."""
    return np.log1p(np.maximum(table.column("log_burst") - BURST_FROM, 0.0))


def log_sequence(table: FeatureTable) -> np.ndarray:
    """Per entity: log1p of how far its broken sequence's surprise lies past SEQUENCE_FROM, else 0."""
    return np.log1p(np.maximum(table.column("log_sequence") - SEQUENCE_FROM, 0.0))


def hop_slowdown(table: FeatureTable) -> np.ndarray:
    """Per entity: ln of how far its hops' slowdown lies past HOP_SLOWDOWN_FROM times, else 0."""
    return np.log(np.maximum(table.column("hop_slowdown"), HOP_SLOWDOWN_FROM) / HOP_SLOWDOWN_FROM)


def unfitted_outputs(table: FeatureTable) -> np.ndarray:
    """(entities, len(UNFITTED)): the unfitted terms' outputs, in UNFITTED's order."""
    return np.column_stack([beyond_range(table), log_burst(table), log_sequence(table), hop_slowdown(table)])


def observed_quiet(table: FeatureTable) -> np.ndarray:
    """Per entity in [0, 1]: 1 when every family and its logs that its kind is watched in are watched on
    it and show nothing (no anomaly, no changed template, no log burst, no broken log sequence), nothing
    changed on it recently and no rule finds anything on it; 0 when any of them is unwatched on it or shows.

    All of them, not a share: a root cause whose telling series is missing must not pay for the
    families it is watched in (its silence there is what a fault elsewhere looks like). But a family
    no entity of its kind is watched in (hosts without network series, as in the lab) says nothing
    about one of them, as the simulator's FAMILY_GAP teaches the model: a host watched in everything
    hosts are watched in here, and quiet, is as silent as one could be.
    """
    quiet = np.column_stack([table.column(f"quiet_{f}") for f in OBSERVABLE]) > 0
    watched = quiet | showing_families(table.column)
    relevant = np.zeros_like(quiet)
    for kind in KINDS:
        of_kind = table.column(f"kind_{kind.lower()}") > 0
        if of_kind.any():
            relevant[of_kind] = watched[of_kind].any(axis=0)
    watched_normal = ((quiet | ~relevant).all(axis=1) & relevant.any(axis=1)).astype(float)
    # a rule finding is evidence too (callers failing to authenticate against an entity that logs nothing),
    # and so are a burst of a log template that is neither new nor faster (a code path failing again) and
    # a log line that stopped keeping pace with its partner (a code path throwing half-way)
    no_log_evidence = ((log_burst(table) == 0.0) & (log_sequence(table) == 0.0)).astype(float)
    return watched_normal * (1.0 - table.column("change_recent")) * (1.0 - table.column("rule_max")) * no_log_evidence


@dataclass(frozen=True)
class Composition:
    """Final logits and scores of an incident's entities, and every term's contribution to them."""

    names: tuple[str, ...]
    contributions: np.ndarray  # (entities, terms): weight x (output - the incident's mean output)
    logits: np.ndarray  # (entities,): the row sums of contributions
    scores: np.ndarray  # (entities,): softmax of the logits, summing to 1

    def breakdown(self, row: int) -> tuple[tuple[str, float], ...]:
        """(term, contribution) of one entity, in term order; the values sum to its logit."""
        return tuple(zip(self.names, self.contributions[row].tolist()))


def compose(outputs: np.ndarray, weights: EnsembleWeights, unfitted: np.ndarray | None = None) -> Composition:
    """The one place the final score is built. Centring each output on the incident's mean changes no
    score (a softmax ignores a shift shared by all entities) and makes each contribution readable as
    "how much this term raised or lowered the entity against the average entity of this incident".
    `unfitted` (unfitted_outputs) adds the unfitted terms, last in the breakdown; fitting leaves them out."""
    names = weights.names
    contributions = (outputs - outputs.mean(axis=0)) * weights.values
    if unfitted is not None:
        names = (*names, *UNFITTED)
        # read here: tests turn one off
        unfitted_weights = np.array([BEYOND_RANGE_WEIGHT, LOG_BURST_WEIGHT, LOG_SEQUENCE_WEIGHT, HOP_SLOWDOWN_WEIGHT])
        contributions = np.column_stack([contributions, (unfitted - unfitted.mean(axis=0)) * unfitted_weights])
    logits = contributions.sum(axis=1)
    if "quiet" in weights.names:
        _rank_quiet_last(outputs[:, weights.names.index("quiet")], contributions, weights.names.index("quiet"))
        logits = contributions.sum(axis=1)
    p = np.exp(logits - logits.max())
    return Composition(names, contributions, logits, p / p.sum())


def _rank_quiet_last(quiet: np.ndarray, contributions: np.ndarray, column: int) -> None:
    """No structural prior without evidence: an entity watched in every family and showing nothing
    (quiet output 1) ends at least QUIET_MARGIN below every entity that shows something or is not fully
    watched, whatever structure says. The extra penalty is booked on the quiet term, so the breakdown
    still sums to the logit and says why."""
    silent = quiet >= 1.0
    if not silent.any() or silent.all():
        return
    logits = contributions.sum(axis=1)
    ceiling = logits[~silent].min() - QUIET_MARGIN
    over = silent & (logits > ceiling)
    contributions[over, column] -= logits[over] - ceiling


def deciding_terms(
    first: tuple[tuple[str, float], ...], second: tuple[tuple[str, float], ...], limit: int = 2
) -> list[tuple[str, float]]:
    """The terms that put the first candidate above the second most: (term, margin), largest first."""
    margins = [(name, a - b) for (name, a), (_, b) in zip(first, second)]
    return sorted((m for m in margins if m[1] > 0.05), key=lambda m: -m[1])[:limit]
