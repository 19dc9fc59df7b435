"""Property test of Ask's question parser: no exception escapes, whatever the text; rejections name a reason."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.ask_fuzz import ZONES, check_parse, check_question, estate_parser

WORDS = st.sampled_from(
    "why did what who calls changed in the last 2 hours since between and 14:00 today yesterday checkout payment "
    "postgres-payments payments db node-4 errors anomalies incidents before it MATCH ( ) ' -- ; DELETE "
    "2026-12-06T01:00:00Z 99:99 pm am".split()
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=600), st.lists(st.one_of(WORDS, st.text(max_size=8)), max_size=40).map(" ".join)))
def test_any_text_parses_to_an_answerable_question_a_clarification_or_a_refusal(text):
    check_parse(estate_parser(), text, ZONES[len(text) % len(ZONES)])


JOINTS = st.sampled_from(["and", "and also", "?", ", and", "plus", "as well as", "also"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.one_of(WORDS, JOINTS), min_size=1, max_size=8).map(" ".join), min_size=1, max_size=4))
def test_any_clauses_joined_parse_to_answerable_parts_or_one_clarification_or_refusal(clauses):
    check_question(estate_parser(), " and ".join(clauses), ZONES[len(clauses) % len(ZONES)])
