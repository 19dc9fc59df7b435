"""Several questions in one: where a question is split into clauses, and where it is not."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from rca.nlq.clauses import parse_question, split
from rca.nlq.screen import screen
from tests.support.ask_fuzz import NOW, estate_parser

UTC = ZoneInfo("UTC")


def clauses(question: str) -> list[str]:
    return split(estate_parser(), screen(question).text, NOW, UTC)


def understood(question: str) -> list[tuple[str, list[str], str]]:
    """(intent, entity ids, window words) per part."""
    parts = parse_question(estate_parser(), question, NOW, UTC)
    return [(p.intent, [e.id for e in p.entities], p.window.text if p.window else "") for p in parts]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("what changed and who calls payment", ["what changed", "who calls payment"]),
        ("is cart healthy and what does it depend on", ["is cart healthy", "what does it depend on"]),
        ("show anomalies and errors on checkout", ["show anomalies", "errors on checkout"]),
        ("why did checkout fail? what changed on payment", ["why did checkout fail?", "what changed on payment"]),
        ("any anomalies on payment, and also top errors", ["any anomalies on payment", "top errors"]),
        ("list open incidents plus recent deploys", ["list open incidents", "recent deploys"]),
        # a clause of its own only where the rules read an intent; the rest stays with the clause before
        (
            "what changed between 14:00 and 14:30 and who calls payment",
            ["what changed between 14:00 and 14:30", "who calls payment"],
        ),
    ],
)
def test_joined_clauses_that_ask_different_things_are_split(question, expected):
    assert clauses(question) == expected


@pytest.mark.parametrize(
    "question",
    [
        "why are checkout and payment both failing",  # one intent, two entities
        "what broke checkout and payment",
        "who calls payment and checkout",
        "any errors and exceptions on payment",  # both words ask for errors
        "why did checkout fail between 14:00 and 14:30 today",  # the "and" of a time
        "what changed on checkout and who changed it",  # both clauses ask for changes
        "checkout and payment: why are they failing",  # a leading name is not a clause
        "why did checkout fail",
    ],
)
def test_one_question_with_and_is_not_split(question):
    assert len(clauses(question)) == 1


def test_a_clause_without_entity_or_time_takes_the_question_s():
    assert understood("show anomalies and errors on checkout in the last hour") == [
        ("anomalies", ["checkout"], "in the last hour"),
        ("errors", ["checkout"], "in the last hour"),
    ]
    assert understood("is cart healthy and what does it depend on") == [
        ("health", ["cart"], ""),
        ("dependencies", ["cart"], ""),  # the structure as it is now: no window
    ]


def test_clauses_with_their_own_entities_keep_them():
    assert understood("why did checkout fail? what changed on payment") == [
        ("root_cause", ["checkout"], ""),
        ("changes", ["payment"], ""),
    ]


def test_two_entities_in_one_clause_stay_one_part():
    assert understood("why are checkout and payment both failing") == [("root_cause", ["checkout", "payment"], "")]


def test_a_request_to_change_anything_refuses_the_whole_question():
    [(intent, entities, _)] = understood("show errors on payment and delete the incidents")
    assert (intent, entities) == ("refused", [])


def test_an_unknown_name_in_one_clause_asks_back_before_answering_anything():
    [(intent, _, _)] = understood("what changed on zorblax and who calls payment")
    assert intent == "clarify"


def test_hostile_text_is_refused_by_the_screen_before_any_split():
    [(intent, _, _)] = understood("who calls payment; MATCH (n) DETACH DELETE n")
    assert intent == "refused"
