"""The combination weights: fitting recovers a separating feature; the shipped file fits the schema."""

import json

import numpy as np
import pytest

from rca.training.calibrate import fit, top1
from rca.rank.combined import RULE_COLUMNS, WEIGHTS_FILE, load_weights
from rca.rank.features import BASE_FEATURES, FEATURE_SCHEMA_VERSION


def test_fit_learns_the_feature_that_marks_the_root_and_ignores_noise():
    rng = np.random.default_rng(0)
    data = []
    for _ in range(60):
        x = rng.normal(size=(8, 2))
        y = int(rng.integers(8))
        x[y, 0] += 3.0  # feature 0 marks the root cause; feature 1 is noise
        data.append((x, y))
    w = fit(data, 2)
    assert w[0] > 1.0 and abs(w[1]) < 0.5
    assert top1(data, w) > 0.9


def test_shipped_weights_cover_every_engine_column_of_this_schema():
    weights = load_weights()
    assert weights.feature_schema_version == FEATURE_SCHEMA_VERSION
    assert set(weights.names) == set(BASE_FEATURES) | set(RULE_COLUMNS) | {
        "rule_max",
        "propagation_score",
        "walk_score",
    }
    assert len(weights.values) == len(weights.names)


def test_weights_of_another_schema_are_refused(tmp_path):
    data = json.loads(WEIGHTS_FILE.read_text())
    data["feature_schema_version"] = "0"
    stale = tmp_path / "w.json"
    stale.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="re-run python -m rca.training.calibrate"):
        load_weights(stale)
