"""Generator knobs: set by name, rejected with the setting named, and part of the training suites' cache key."""

from __future__ import annotations

import importlib

import pytest

from rca.rank.rules.evaluate import default_rule_engine
from rca.simulator import incident
from rca.simulator.knobs import KNOBS, KnobError, knob_values, set_knobs
from rca.training.samples import cached_suite


@pytest.fixture
def restored(monkeypatch):
    """Every knob put back as it was after the test (set_knobs moves the process's generator)."""
    for module, constant in KNOBS.values():
        target = importlib.import_module(module)
        monkeypatch.setattr(target, constant, getattr(target, constant))


def test_knobs_are_set_by_name_and_report_how_they_moved(restored):
    shares = incident.UNWATCHED_SHARES
    moved = set_knobs(["stray_blame=0.5", "unwatched_share=0.6"])
    assert moved == ["stray_blame 0.0 -> 0.5", f"unwatched_share {shares} -> (0.6,)"]
    assert incident.STRAY_BLAME == 0.5 and incident.UNWATCHED_SHARES == (0.6,)  # a tuple knob: one value for all
    assert knob_values()["stray_blame"] == 0.5 and set(knob_values()) == set(KNOBS)


@pytest.mark.parametrize(
    ("setting", "words"),
    [
        ("bogus=1", "'bogus=1': expected NAME=VALUE with NAME one of missing_signal"),
        ("root_blames=x", "must be a number"),
    ],
)
def test_a_bad_setting_is_named_and_nothing_moves(restored, setting, words):
    before = knob_values()
    with pytest.raises(KnobError, match=words):
        set_knobs(["stray_blame=0.5", setting])
    assert knob_values() == before


def test_a_moved_knob_builds_its_own_training_suite(restored, tmp_path):
    rules = default_rule_engine()
    names, plain = cached_suite(tmp_path, "training", 1, (20,), rules, progress=False)
    set_knobs(["root_blames=1", "stray_blame=1"])
    _, blaming = cached_suite(tmp_path, "training", 1, (20,), rules, progress=False)
    assert len(list(tmp_path.iterdir())) == 2  # a second file, not the first suite read back

    def naming(samples) -> int:  # incidents where some entity's new error lines name a peer
        return sum(bool(s.x[:, names.index("names_peer")].any()) for s in samples)

    assert naming(blaming) > naming(plain)


def test_chance_deviations_stray_further_with_noise_deviation_size(restored):
    from rca.simulator import simulate

    def stray_peaks() -> list[float]:  # deviations of entities no fault reached (reached ones carry the fault's)
        peaks = []
        for seed in range(12):
            sim = simulate(seed, 20, "latency")
            reached = {a.entity_id for a in sim.to_subgraph(None).anomalies} | {sim.root_cause_id}
            peaks += [d.peak for d in sim.to_subgraph(None).deviations if d.entity_id not in reached]
        return peaks

    usual = stray_peaks()
    set_knobs(["noise_deviation_size=2.0"])
    wide = stray_peaks()
    assert usual and wide and max(usual) <= 6.5 < max(wide)  # the floor 3 plus five times the size at most
    assert sum(wide) / len(wide) > sum(usual) / len(usual) + 0.5
