"""Template mining: grouping accuracy on the loghub samples, persistence, and the accuracy measure."""

from __future__ import annotations

import csv

import pytest

from ingest.syslog.parser import SyslogParser
from ingest.syslog.templates import LogTemplates, grouping_accuracy, load_masks
from settings.ingest import SyslogSettings
from tests.unit.loghub_data import LOGHUB


def _mine(name: str, templates: LogTemplates) -> float:
    rows = list(csv.DictReader((LOGHUB / name / f"{name}_2k.log_structured.csv").open()))
    parser = SyslogParser()
    lines = (LOGHUB / name / f"{name}_2k.log").read_text().splitlines()
    mined = [templates.add(parser.parse(line).message) for line in lines]
    return grouping_accuracy([row["EventId"] for row in rows], mined)


def _default_templates(**kwargs) -> LogTemplates:
    s = SyslogSettings()
    return LogTemplates(
        load_masks(), sim_th=s.drain_sim_th, depth=s.drain_depth, max_clusters=s.drain_max_clusters, **kwargs
    )


@pytest.mark.parametrize("name", ["Linux", "OpenSSH"])
def test_grouping_accuracy_reaches_090(name):
    accuracy = _mine(name, _default_templates())
    print(f"{name} grouping accuracy {accuracy:.4f}")
    assert accuracy >= 0.90


def test_untuned_drain_is_measurably_worse():
    # The measure must be able to tell bad grouping from good: Drain3's defaults, no masks.
    assert _mine("Linux", LogTemplates([], sim_th=0.4, depth=4)) < 0.75


def test_grouping_accuracy_measure():
    assert grouping_accuracy(["a", "a", "b"], [1, 1, 2]) == 1.0
    assert grouping_accuracy(["a", "a", "b"], [1, 1, 1]) == 0.0
    assert grouping_accuracy(["a", "a", "b"], [1, 2, 3]) == pytest.approx(1 / 3)


def test_state_persists_and_ids_are_stable(tmp_path):
    state = tmp_path / "drain.bin"
    first = _default_templates(state_file=state)
    a = first.add("connect to 10.0.0.1 port 5432 refused")
    b = first.add("user alice logged in")
    first.save()
    second = _default_templates(state_file=state)
    assert second.add("connect to 10.9.9.9 port 6379 refused") == a
    assert second.add("user bob logged in") == b
    assert second.template(a) == "connect to <HOST> port <NUM> refused"


def test_extra_masks_come_first(tmp_path):
    masks = load_masks(extra=[{"name": "ORDER", "pattern": r"\bORD-\d+\b"}])
    assert masks[0] == ("ORDER", r"\bORD-\d+\b", ())
    with pytest.raises(ValueError, match="needs a name and a pattern"):
        load_masks(extra=[{"name": "X"}])
