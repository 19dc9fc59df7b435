"""Ask's entity linking over the example estate: names, aliases, variants, typos; ambiguity asks back."""

from __future__ import annotations

import pytest

from rca.nlq.entities import EntityCatalog, singular
from rca.nlq.structure import Structure
from rca.nlq.tokens import tokenize
from tests.support.ask_fuzz import estate_edges, estate_parser, estate_rows

CATALOG = EntityCatalog(estate_rows())
VOCABULARY = estate_parser().vocabulary


def link(question: str):
    return CATALOG.link(tokenize(question), set(), VOCABULARY)


def ids(question: str) -> list[str]:
    return [x.entity.id for x in link(question).links]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("why did checkout fail", ["checkout"]),
        ("WHY DID CHECKOUT FAIL", ["checkout"]),  # case
        ("who calls postgres-payments", ["postgres-payments"]),
        ("who calls postgres_payments", ["postgres-payments"]),  # underscore
        ("who calls postgres payments", ["postgres-payments"]),  # space
        ("who calls Postgres.Payments", ["postgres-payments"]),  # dot
        ("errors on check out", ["checkout"]),  # run together
        ("is frontend_0 ok", ["frontend-0"]),
        ("what runs on node 4", ["node-4"]),
        ("what runs on node4", ["node-4"]),
        ("why are payments failing", ["payment"]),  # plural
        ("slow recommendations", ["recommendation"]),
        ("what changed on the payments db", ["postgres-payments"]),  # derived alias
        ("is the cart cache ok", ["redis-cart"]),
        ("kafka lag", ["kafka-events"]),  # distinctive part of one name
        ("chekout errors", ["checkout"]),  # typos
        ("why did paymnt fail", ["payment"]),
        ("who calls postgres paymnets", ["postgres-payments"]),  # typo inside a two-word name
        ("why are checkout and payment both failing", ["checkout", "payment"]),  # several, in question order
    ],
)
def test_linked(question, expected):
    assert ids(question) == expected


def test_exact_matches_score_100_and_typos_less():
    [exact] = link("why did checkout fail").links
    [typo] = link("why did chekout fail").links
    assert exact.score == 100 and exact.text == "checkout"
    assert 85 <= typo.score < 100 and typo.text == "chekout"


def test_a_part_of_several_names_is_not_guessed():
    found = link("why did postgres fail")
    assert not found.links
    [unclear] = found.unresolved
    assert unclear.text == "postgres"
    assert {e.id for e, _ in unclear.candidates} >= {"postgres-payments", "postgres-users", "postgres-catalog"}


def test_near_miss_is_asked_back_not_linked():
    found = link("why did paymant-gateway fail")
    assert not any(x.entity.id == "payment" and x.text == "gateway" for x in found.links)
    unknown = link("why did billing fail")
    assert not unknown.links  # nothing like it: no guess
    assert CATALOG.closest("billing")  # but candidates to offer


def test_question_words_are_never_names():
    for question in ("what changed recently", "show me the top errors", "who calls it", "has this happened before"):
        assert ids(question) == [], question


def test_aliases_listed_in_the_topology_attributes():
    rows = [
        {
            "id": "svc-7",
            "name": "svc-7",
            "label": "Service",
            "technology": "go",
            "attrs": '{"aliases": ["Billing API"]}',
        }
    ]
    catalog = EntityCatalog(rows)
    found = catalog.link(tokenize("why did the billing api fail"), set(), VOCABULARY)
    assert [x.entity.id for x in found.links] == ["svc-7"]


def test_singular():
    assert [singular(w) for w in ("payments", "caches", "entries", "address", "bus")] == [
        "payment",
        "cache",
        "entry",
        "address",
        "bus",
    ]


def test_structure_walks_downstream_and_upstream():
    structure = Structure(estate_edges())
    down = {r.id: r for r in structure.downstream("payment")}
    assert down["fraud"].depth == 1 and down["fraud"].relation == "CALLS"
    assert down["postgres-payments"].relation == "DEPENDS_ON"
    assert {"node-4", "node-5"} <= {i for i, r in down.items() if r.relation == "RUNS_ON"}  # its instances' hosts
    assert down["redis-fraud"].depth == 2
    up = {r.id: r for r in structure.upstream("postgres-payments")}
    assert up["payment"].depth == 1 and up["checkout"].depth == 2 and up["frontend"].depth == 3
    host = {r.id: r.depth for r in structure.upstream("db-1")}  # what runs on it, and who uses that
    assert host["postgres-payments"] == 1 and host["payment"] == 2 and host["checkout"] == 3
