"""Fine-tuning from confirmed incidents stored in the graph (`rca train --with-feedback`).

Confirmed incidents become samples from their stored feature and structure snapshots. A share of
them is held back (chosen by a hash of the incident id, so the split is stable); the rest are
mixed into the simulator training data with a higher weight, and the active model is fine-tuned.
The new version replaces the active one only when the held-back confirmed incidents are ranked
no worse and the simulator validation split did not degrade (nothing forgotten).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace

import numpy as np

from graph_schema import incident_snapshots
from graph_schema.cypher import incident_learning as cypher
from rca.rank.ensemble import EnsembleWeights
from rca.rank.gnn.artifact import Artifact
from rca.rank.gnn.data import EDGE_TYPES, Sample, typed_edges
from rca.rank.types import Edge
from rca.training.gnn import TrainSettings, metrics_of, ranks
from rca.training.pipeline import composition_data, composition_metrics, model_view, train_artifact

FORGETTING_TOLERANCE = 0.02  # simulator validation AC@1 may drop this much, not more


class FeedbackRefused(ValueError):
    """The feedback set cannot be used; the message says why."""


@dataclass
class FeedbackSet:
    """Usable confirmed incidents, split into fine-tuning and held-back parts, and what was skipped."""

    tune: list[Sample]
    held_back: list[Sample]
    skipped: list[str] = field(default_factory=list)


def read_confirmed(store, since: float = 0.0) -> list[dict]:
    """Every confirmed incident created at or after `since`, with its snapshots and feedback records."""
    return store.read(cypher.CONFIRMED_FOR_TRAINING, since=float(since))


def _contradictions(rows: list[dict]) -> list[str]:
    problems = []
    by_snapshot: dict[str, tuple[str, str]] = {}
    for row in rows:
        records = json.loads(row.get("feedback_json") or "[]")
        confirmed = {r.get("root_cause_entity_id") for r in records if r.get("verdict") == "CONFIRMED"}
        rejected = {r.get("root_cause_entity_id") for r in records if r.get("verdict") == "REJECTED"}
        if len(confirmed) > 1:
            problems.append(
                f"incident {row['id']} was confirmed with different root causes: {', '.join(sorted(confirmed))}"
            )
        if confirmed & rejected:
            problems.append(
                f"incident {row['id']}: {', '.join(sorted(confirmed & rejected))} was both confirmed and rejected"
            )
        # the parsed snapshots, not their text: the same features may be written in another order
        snapshots = [incident_snapshots.features_of(row), incident_snapshots.edges_of(row)]
        key = hashlib.sha256(json.dumps(snapshots, sort_keys=True).encode()).hexdigest()
        if key in by_snapshot and by_snapshot[key][1] != row["root_cause_id"]:
            other, root = by_snapshot[key]
            problems.append(
                f"incidents {other} and {row['id']} saw the same evidence but confirm different root causes "
                f"({root} vs {row['root_cause_id']})"
            )
        by_snapshot.setdefault(key, (row["id"], row["root_cause_id"]))
    return problems


def sample_from_row(row: dict, names: list[str]) -> Sample:
    """A training sample from a stored incident; ValueError naming what is missing."""
    features = incident_snapshots.features_of(row)
    if not features:
        raise ValueError("no feature snapshot")
    stored_edges = incident_snapshots.edges_of(row)
    if not stored_edges:
        raise ValueError("no structure snapshot (stored without a model)")
    ids = list(features)
    if row["root_cause_id"] not in features:
        raise ValueError(f"confirmed root cause {row['root_cause_id']} is not in its subgraph")
    col = {n: j for j, n in enumerate(names)}
    x = np.zeros((len(ids), len(names)), dtype=np.float32)
    for i, entity in enumerate(ids):
        for name, value in features[entity].items():
            if name in col:
                x[i, col[name]] = value
    index = {n: i for i, n in enumerate(ids)}
    edges = [Edge(s, t, kind) for s, t, kind in stored_edges if kind in EDGE_TYPES]
    return Sample(
        x, typed_edges(edges, index), index[row["root_cause_id"]], fault_type="confirmed", size=len(ids), node_ids=ids
    )


def _held_back(incident_id: str, share: float) -> bool:
    return int(hashlib.sha256(incident_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < share


def prepare(rows: list[dict], names: list[str], held_back_share: float, weight: float) -> FeedbackSet:
    """Check and split the confirmed incidents; FeedbackRefused when empty or contradictory."""
    if not rows:
        raise FeedbackRefused("no confirmed incidents in the graph: confirm root causes with the Feedback call first")
    problems = _contradictions(rows)
    if problems:
        raise FeedbackRefused("contradictory feedback: " + "; ".join(problems[:5]))
    tune: list[Sample] = []
    held: list[Sample] = []
    skipped: list[str] = []
    for row in rows:
        try:
            sample = replace(sample_from_row(row, names), weight=weight)
        except ValueError as exc:
            skipped.append(f"{row['id']}: {exc}")
            continue
        (held if _held_back(row["id"], held_back_share) else tune).append(sample)
    if not tune and len(held) > 1:  # tiny sets: keep at least one to learn from
        tune.append(held.pop())
    if not held and len(tune) > 1:
        held.append(tune.pop())
    if not tune or not held:
        reason = "; ".join(skipped[:5]) or "too few incidents"
        raise FeedbackRefused(
            f"need at least 2 usable confirmed incidents (one to learn from, one to judge by); "
            f"usable: {len(tune) + len(held)}; {reason}"
        )
    return FeedbackSet(tune, held, skipped)


def fine_tune_settings(settings: TrainSettings) -> TrainSettings:
    """Fine-tuning continues from the active weights: a third of the learning rate, a few epochs."""
    return replace(settings, lr=settings.lr / 3, max_epochs=min(settings.max_epochs, 6))


def judge(artifact: Artifact, names: list[str], held: list[Sample], val_set: list[Sample]) -> dict:
    """Held-back confirmed and simulator-validation figures of one artifact (the network alone and composed).

    The samples hold full analysed tables in `names` order; the network reads its own columns of them.
    """
    model = artifact.model()
    out = {
        "held_back": metrics_of(ranks(model, model_view(held, names))),
        "simulator_validation": metrics_of(ranks(model, model_view(val_set, names))),
    }
    if artifact.combination:
        out["held_back_combined"] = composition_metrics(
            composition_data(model, held, names), EnsembleWeights.from_dict(artifact.combination)
        )
    return out


def fine_tune(
    active: Artifact,
    feedback: FeedbackSet,
    names: list[str],
    train_set: list[Sample],
    val_set: list[Sample],
    settings: TrainSettings,
    progress: bool = True,
) -> tuple[Artifact, dict, bool, str]:
    """Fine-tune the active model; returns the new artifact, before/after figures, and whether it may replace.

    Every sample holds a full analysed table in `names` order (simulated and confirmed alike).
    """
    before = judge(active, names, feedback.held_back, val_set)
    tuned = train_artifact(
        settings,
        names,
        train_set + feedback.tune,
        val_set,
        progress=progress,
        init=active.model(),
        parent=active.version,
        extra_settings={"feedback_incidents": len(feedback.tune), "feedback_held_back": len(feedback.held_back)},
    )
    after = judge(tuned, names, feedback.held_back, val_set)
    key = "held_back_combined" if "held_back_combined" in after else "held_back"
    b, a = before[key], after[key]
    if (a["ac1"], a["avg5"]) < (b["ac1"], b["avg5"]):
        return (
            tuned,
            {"before": before, "after": after},
            False,
            (
                f"held-back confirmed incidents got worse (AC@1 {b['ac1']:.3f} -> {a['ac1']:.3f}, "
                f"Avg@5 {b['avg5']:.3f} -> {a['avg5']:.3f})"
            ),
        )
    sim_b, sim_a = before["simulator_validation"]["ac1"], after["simulator_validation"]["ac1"]
    if sim_a < sim_b - FORGETTING_TOLERANCE:
        return (
            tuned,
            {"before": before, "after": after},
            False,
            (f"simulator validation AC@1 dropped {sim_b:.3f} -> {sim_a:.3f} (forgetting)"),
        )
    return tuned, {"before": before, "after": after}, True, "no worse on the held-back confirmed incidents"
