"""The Ask question parser under property tests and fuzzing: its catalog (the example estate, no graph) and the
properties every parse must keep, whatever the text.

Used by tests/unit/test_ask_parser_properties.py (hypothesis) and bench/fuzz_ask.py (bench/fuzz.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo

from ingest.topology.file import load_topology_file
from rca.cli.demo_commands import EXAMPLE_ESTATE
from rca.nlq.clauses import parse_question
from rca.nlq.entities import EntityCatalog
from rca.nlq.intent_rules import INTENTS
from rca.nlq.parser import Parsed, QuestionParser
from rca.nlq.screen import MAX_QUESTION_CHARS

NOW = datetime(2026, 12, 6, 14, 42, tzinfo=UTC).timestamp()
ZONES = (ZoneInfo("UTC"), ZoneInfo("Europe/Paris"), ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata"))


def estate_rows() -> list[dict]:
    """The example estate's entities as graph_schema.cypher.ask.ENTITY_NAMES returns them."""
    snapshot = load_topology_file(EXAMPLE_ESTATE)
    return [
        {
            "id": e.id,
            "name": e.name or e.id,
            "label": str(e.label),
            "technology": e.technology,
            "attrs": json.dumps(e.attrs) if e.attrs else None,
        }
        for e in snapshot.entities
    ]


def estate_edges() -> list[dict]:
    """The example estate's structural edges as graph_schema.cypher.ask.STRUCTURE_EDGES returns them."""
    snapshot = load_topology_file(EXAMPLE_ESTATE)
    return [{"source": e.source_id, "relation": str(e.relation.type), "target": e.target_id} for e in snapshot.edges]


@cache
def estate_parser() -> QuestionParser:
    """A parser over the example estate (built once)."""
    return QuestionParser(EntityCatalog(estate_rows()))


def check_parse(parser: QuestionParser, text: str, zone: ZoneInfo = ZONES[0], now: float = NOW) -> Parsed:
    """Parse ``text`` and assert what holds for any text: a known intent; a refusal says why; a clarification
    says about what or offers candidates; an answerable question's entities are the catalog's and its window
    is ordered. Any exception escaping parse() is a failure of the caller's test."""
    parsed = parser.parse(text[:MAX_QUESTION_CHARS], now, zone)
    check_parsed(parser, parsed)
    return parsed


def check_question(parser: QuestionParser, text: str, zone: ZoneInfo = ZONES[0], now: float = NOW) -> list[Parsed]:
    """As check_parse, through the clause splitter: every part holds the same, and a question answered in
    several parts has only answerable parts."""
    parts = parse_question(parser, text[:MAX_QUESTION_CHARS], now, zone)
    for parsed in parts:
        check_parsed(parser, parsed)
    assert len(parts) == 1 or all(p.intent not in ("clarify", "refused") for p in parts)
    return parts


def check_parsed(parser: QuestionParser, parsed: Parsed) -> None:
    """What holds for any question as understood (check_parse)."""
    assert parsed.intent in INTENTS, parsed.intent
    if parsed.intent == "refused":
        assert parsed.refusal.strip(), "a refusal names its reason"
        assert not parsed.links and parsed.window is None
    elif parsed.intent == "clarify":
        assert parsed.unresolved, "a clarification says what is unclear"
    else:
        assert all(parser.catalog.by_id.get(link.entity.id) == link.entity for link in parsed.links)
    if parsed.window is not None:
        assert parsed.window.start < parsed.window.end
