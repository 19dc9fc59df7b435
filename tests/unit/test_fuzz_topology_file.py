"""Property tests of the topology file loader (issue 20): no exception but TopologyFileError escapes, every
rejection starts with the file (and line) and says why, and what loads is consistent."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings

from tests.support.topology_fuzz import (
    alias_bomb,
    check_topology_document,
    check_topology_text,
    topology_documents,
    topology_texts,
)

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(topology_texts())
@example("&a [*a]\n")  # an alias inside the value it names: RecursionError before the fix
@example("version: 1\nhosts: &h\n  - id: h1\n    attrs: *h\n")
@example("[" * 2000 + "]" * 2000)  # RecursionError before the fix
@example(alias_bomb(9))  # 10**9 values once expanded: hung before the fix
def test_any_text_loads_or_is_rejected_naming_file_and_reason(text):
    assert check_topology_text(text) in ("loaded", "rejected")


@FAST
@given(topology_documents())
def test_any_document_loads_or_is_rejected_naming_file_and_reason(doc):
    assert check_topology_document(doc) in ("loaded", "rejected")
