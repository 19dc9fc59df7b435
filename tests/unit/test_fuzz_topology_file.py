"""Property tests of the topology file loader (issue 20): no exception but TopologyFileError escapes, every
rejection starts with the file (and line) and says why, and what loads is consistent."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from tests.support.topology_fuzz import (
    check_topology_document,
    check_topology_text,
    topology_documents,
    topology_texts,
)

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(topology_texts())
def test_any_text_loads_or_is_rejected_naming_file_and_reason(text):
    assert check_topology_text(text) in ("loaded", "rejected")


@FAST
@given(topology_documents())
def test_any_document_loads_or_is_rejected_naming_file_and_reason(doc):
    assert check_topology_document(doc) in ("loaded", "rejected")
