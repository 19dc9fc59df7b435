"""The training suites' cache: a write that did not finish leaves nothing a later run would load."""

from __future__ import annotations

import pytest

from rca.rank.rules.evaluate import default_rule_engine
from rca.training import samples
from rca.training.samples import cached_suite


def test_a_suite_cache_interrupted_while_written_leaves_nothing_a_later_run_would_read(tmp_path, monkeypatch):
    rules = default_rule_engine()
    real_save = samples.torch.save

    def killed_midway(obj, target):  # what a run stopped while saving leaves: the file's first bytes
        with open(target, "wb") as out:
            out.write(b"\x80\x02partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(samples.torch, "save", killed_midway)
    with pytest.raises(KeyboardInterrupt):
        cached_suite(tmp_path, "training", 1, (20,), rules, progress=False)
    assert list(tmp_path.iterdir()) == []

    monkeypatch.setattr(samples.torch, "save", real_save)
    names, built = cached_suite(tmp_path, "training", 1, (20,), rules, progress=False)
    again_names, read_back = cached_suite(tmp_path, "training", 1, (20,), rules, progress=False)
    assert len(list(tmp_path.iterdir())) == 1 and again_names == names and len(read_back) == len(built) > 0
