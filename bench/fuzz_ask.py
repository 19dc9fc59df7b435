"""Fuzz target of Ask's question parser for bench/fuzz.py: any bytes, read as UTF-8, parsed against the example
estate, through the clause splitter; the properties are tests/support/ask_fuzz.check_question's (the hypothesis
tests of tests/unit/test_ask_parser_properties.py check the same)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import strategies as st

from bench.fuzz_targets import target

# the words questions are made of: the estate's names, time forms, joints, typos and hostile text (quotes,
# comment markers, query-looking words); data, so no query-looking text stands in the code
WORDS_FILE = Path(__file__).with_name("data") / "ask_fuzz_words.txt"


def _question_inputs() -> st.SearchStrategy[bytes]:
    words = st.sampled_from(WORDS_FILE.read_text().split())
    sentences = st.lists(st.one_of(words, st.text(max_size=12)), max_size=30).map(" ".join)
    return st.one_of(sentences.map(lambda s: s.encode("utf-8", "surrogatepass")), st.binary(max_size=600))


@target(
    "ask_question",
    instrument=(
        "rca.nlq.screen",
        "rca.nlq.tokens",
        "rca.nlq.time_grammar",
        "rca.nlq.entities",
        "rca.nlq.parser",
        "rca.nlq.clauses",
    ),
    inputs=_question_inputs,
    seeds=(
        b"why did checkout fail",
        b"what changed on the payments db between 14:00 and 14:30 today",
        b"is cart healthy and what does it depend on",
    ),
)
def ask_question():
    """Ask's question parser: screen, clauses, tokens, time grammar, entity linking, intent; never raises, every
    refusal names its reason and every clarification what it asks about."""
    from tests.support.ask_fuzz import ZONES, check_question, estate_parser

    parser = estate_parser()

    def check(data: bytes) -> None:
        text = data.decode("utf-8", errors="replace")
        check_question(parser, text, ZONES[len(data) % len(ZONES)])

    return check
