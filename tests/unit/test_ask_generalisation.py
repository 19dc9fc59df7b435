"""How Ask generalises to phrasings nobody tuned it on: the held-aside sets (bench/data/ask_heldaside*.yaml) must
not fall below what they reached, and each general fix made on them holds for its whole class of phrasing.

The held-aside questions are never in the classifier's paraphrase set; see bench/ask_heldaside.py for what each
figure counts.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import yaml

from bench.ask_heldaside import DATA, score
from rca.nlq import intent_model
from rca.nlq.clauses import parse_question
from rca.nlq.intent_model import Prediction
from rca.nlq.intent_rules import rule_intent, rule_stems, rule_words
from rca.nlq.parser import QuestionParser, base_forms
from rca.nlq.time_grammar import find_window
from rca.nlq.tokens import tokenize
from tests.support.ask_fuzz import NOW, estate_parser

UTC = ZoneInfo("UTC")
MARGIN = 0.03  # a question or three of slack: the floors below are what the sets reached, less this


def parse(question: str):
    return estate_parser().parse(question, NOW, UTC)


def window(question: str) -> tuple[str, str] | None:
    found = find_window(tokenize(question), NOW, UTC)
    if found is None:
        return None
    return tuple(datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M") for t in (found.start, found.end))


# -- the held-aside sets -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "intent", "entity", "window_exact", "asked_back"),
    [
        # reached 2026-12-07 after the fixes (first blind figures: 0.821/0.990/0.950 and 0.850/1.000/1.000)
        ("ask_heldaside.yaml", 1.000, 1.000, 1.000, 1),
        ("ask_heldaside2.yaml", 1.000, 1.000, 1.000, 0),
        # another author's 25, measured once and never tuned on (2026-12-07): the one window miss is "this morning"
        ("ask_heldaside3.yaml", 1.000, 1.000, 0.958, 0),
    ],
)
def test_held_aside_questions_stay_understood(name, intent, entity, window_exact, asked_back):
    figures = score(DATA / name).figures()
    assert figures["intent"] >= intent - MARGIN, figures
    assert figures["entity"] >= entity - MARGIN, figures
    assert figures["window"] >= window_exact - MARGIN, figures
    assert figures["answerable_asked_back"] + figures["answerable_refused"] <= asked_back + 3, figures
    assert figures["expected_unanswered_ok"] == figures["expected_unanswered"], figures


# Two short questions the held-aside sets were written with happen to be in the paraphrase set as it was before
# them (written independently): they stay, they are not copies.
ALREADY_PARAPHRASES = frozenset({"open incidents", "tell me a joke"})


def test_held_aside_questions_are_not_training_paraphrases():
    sentences, _ = intent_model.training_set()
    training = set(sentences) - ALREADY_PARAPHRASES
    for path in sorted(DATA.glob("ask_heldaside*.yaml")):
        for item in yaml.safe_load(path.read_text()):
            assert parse(item["q"]).sentence not in training, item["q"]


# -- time: shorthand for now, overnight, the weekend, days of the week -----------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("why is ads slow rn", ("2026-12-06T14:27", "2026-12-06T14:42")),
        ("errors atm", ("2026-12-06T14:27", "2026-12-06T14:42")),
        ("what happened overnight", ("2026-12-05T18:00", "2026-12-06T06:00")),
        ("anything deployed over the weekend", ("2026-12-05T00:00", "2026-12-06T14:42")),
        ("changes this weekend", ("2026-12-05T00:00", "2026-12-06T14:42")),
        ("incidents since the weekend", ("2026-12-05T00:00", "2026-12-06T14:42")),
        ("incidents since monday", ("2026-11-30T00:00", "2026-12-06T14:42")),
        ("what changed since last friday", ("2026-12-04T00:00", "2026-12-06T14:42")),
        ("errors on tuesday", ("2026-12-01T00:00", "2026-12-02T00:00")),
        ("errors on thu", ("2026-12-03T00:00", "2026-12-04T00:00")),
        ("incidents sunday", ("2026-12-06T00:00", "2026-12-06T14:42")),  # today is a Sunday
        ("incidents last sunday", ("2026-11-29T00:00", "2026-11-30T00:00")),  # the one before
        ("what happened at 3am on friday", ("2026-12-04T02:45", "2026-12-04T03:15")),
        ("since 9am on tuesday", ("2026-12-01T09:00", "2026-12-06T14:42")),
    ],
)
def test_casual_time_forms(question, expected):
    assert window(question) == expected


def test_short_day_names_that_are_words_are_not_days():
    assert window("the job sat in the queue") is None
    assert window("sun is up") is None


# -- intent rules: synonym families -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "intent"),
    [
        # who talks to X: talk, speak, send, write, hit, query
        ("which services talk to ENT", "dependents"),
        ("who talks to ENT", "dependents"),
        ("what writes to ENT", "dependents"),
        ("who hits ENT", "dependents"),
        # the same verbs as participles
        ("services using ENT", "dependents"),
        ("everything calling ENT", "dependents"),
        ("which apps are hitting ENT", "dependents"),
        ("anything reading from ENT", "dependents"),
        # a noun after the entity
        ("ENT dependents", "dependents"),
        ("ENT callers", "dependents"),
        ("ENT deps", "dependencies"),
        ("deps of ENT", "dependencies"),
        # what X needs, said at the end
        ("list everything ENT needs", "dependencies"),
        ("stuff ENT talks to", "dependencies"),
        # root cause: slang and the suspect's blame
        ("rca for ENT", "root_cause"),
        ("is ENT the problem", "root_cause"),
        ("is ENT the culprit", "root_cause"),
        ("who is to blame for the ENT errors", "root_cause"),
        ("what's the matter with ENT", "root_cause"),
        # a symptom stated, not asked
        ("ENT slow af", "root_cause"),
        ("ENT is down again", "root_cause"),
        ("the ENT service keeps crashing", "root_cause"),
        # shipping code
        ("did someone push a new build to ENT", "changes"),
        ("anything shipped TIME", "changes"),
        ("was ENT patched TIME", "changes"),
        ("any hotfixes on ENT", "changes"),
        # odd-looking signals and alerts
        ("anything weird on ENT TIME", "anomalies"),
        ("memory on ENT looks off", "anomalies"),
        ("any alerts on ENT", "anomalies"),
        ("what's firing", "anomalies"),
        # error shapes: status codes, throwing, stack traces
        ("what's throwing 500s", "errors"),
        ("any 5xx TIME", "errors"),
        ("ENT stack traces", "errors"),
        ("502s on ENT", "errors"),
        # what happened, no entity named: the incidents of the time
        ("what happened TIME", "incidents"),
        ("so what happened", "incidents"),
        # an entity's state in other words
        ("whats going on with ENT", "health"),
        ("what's happening with ENT", "health"),
        ("r we good on ENT", "health"),
        ("is ENT alive", "health"),
    ],
)
def test_phrasing_families(sentence, intent):
    assert rule_intent(sentence) == intent


@pytest.mark.parametrize("sentence", ["good morning", "recommend a good movie", "what happened to ENT"])
def test_families_stay_in_their_place(sentence):
    assert rule_intent(sentence) not in ("health", "incidents")


# -- vocabulary: the rules' own words, their stems, inflections of known words ----------------------------------


def test_the_words_the_rules_read_are_known_words():
    words = rule_words()
    assert {"dependents", "ongoing", "culprit", "callers", "error", "errors", "deps"} <= words
    assert not {"chang", "anomal"} & words  # stems are not words
    assert {"anomal", "chang", "deploy"} <= set(rule_stems())
    assert rule_words() <= estate_parser().vocabulary


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("recs redis dependents", "dependents"),
        ("ongoing incidents for payment", "incidents"),
        ("checkout deps", "dependencies"),
        ("wtf is up with checkout", "health"),
        ("did someone push a new version of payment", "changes"),
        # inflections of known words and words a rule's stem begins
        ("who's hitting redis-cart", "dependents"),
        ("biggest error sources today", "errors"),
        ("anything anomalous on currency", "anomalies"),
    ],
)
def test_ordinary_words_are_not_asked_back_as_names(question, intent):
    parsed = parse(question)
    assert parsed.intent == intent, (parsed.sentence, parsed.clarify_text)


@pytest.mark.parametrize(
    ("question", "unknown"),
    [
        ("errors on billing", "billing"),  # "killing" is a known word one letter away: not in a name's place
        ("errors on pricing in the last hour", "pricing"),  # "price" is a paraphrase word: not an inflection
        ("is the scheduler healthy", "scheduler"),  # "-er" makes names
        ("incidents for booking", "booking"),
        ("how is ranking", "ranking"),
        ("errors for indexer", "indexer"),
    ],
)
def test_unknown_names_are_still_asked_back(question, unknown):
    parts = parse_question(estate_parser(), question, NOW, UTC)
    assert [p.intent for p in parts] == ["clarify"]
    assert parts[0].clarify_text == unknown


def test_base_forms():
    assert "hit" in base_forms("hitting")
    assert "big" in base_forms("biggest")
    assert "try" in base_forms("tried")
    assert "stop" in base_forms("stopped")
    assert "outage" in base_forms("outages")
    assert base_forms("cart") == []  # too short to be an inflection


# -- a name of several entities is asked back, not refused, when the intent is unsure ---------------------------


class _Unsure:
    """A classifier that is never sure: what the parser does below its threshold."""

    def predict(self, sentence: str) -> Prediction:
        return Prediction("dependents", 0.2)


def test_ambiguous_name_with_unsure_intent_is_asked_back_not_refused():
    parser = QuestionParser(estate_parser().catalog, model=_Unsure())  # type: ignore[arg-type]
    parsed = parser.parse("postgres blorp", NOW, UTC)
    assert parsed.intent == "clarify"
    assert parsed.clarify_text == "postgres"
    assert {e.name for e, _ in parsed.unresolved[0].candidates} >= {"postgres-payments", "postgres-users"}
