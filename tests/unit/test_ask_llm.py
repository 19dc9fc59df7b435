"""The optional language-model backend against a fake HTTP server: asked only when the offline parser is unsure,
its typed answer used when valid, and the offline answer kept on timeout, error, garbage or unknown names."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from rca.nlq.llm import LanguageModel
from settings.ask import AskSettings
from tests.support.ask_fuzz import NOW, estate_parser
from tests.support.fake_llm import FakeLanguageModel

UTC = ZoneInfo("UTC")
UNSURE = "anything on checkout"  # no rule matches, and the classifier is not sure


def ask(fake: FakeLanguageModel, question: str, kind: str = "openai", timeout_s: float = 2.0):
    parser = estate_parser()
    settings = AskSettings(llm_url=fake.url, llm_kind=kind, llm_model="tiny", llm_timeout_s=timeout_s)
    return parser.parse(question, NOW, UTC, LanguageModel(settings, parser.catalog))


def test_offline_parser_is_unsure_of_the_question():
    parsed = estate_parser().parse(UNSURE, NOW, UTC)
    assert parsed.understood_by == "classifier" and parsed.confidence < 0.5 and parsed.intent == "clarify"


@pytest.mark.parametrize("kind", ["openai", "ollama"])
def test_a_valid_answer_fills_the_typed_intent_and_entities(kind):
    with FakeLanguageModel({"intent": "changes", "entities": ["checkout"]}) as fake:
        parsed = ask(fake, UNSURE, kind)
    assert (parsed.intent, parsed.understood_by, [e.id for e in parsed.entities]) == ("changes", "llm", ["checkout"])
    [(path, body)] = fake.requests
    assert path == ("/api/chat" if kind == "ollama" else "/chat/completions") and body["model"] == "tiny"
    assert "anything on checkout" in body["messages"][0]["content"]


def test_not_asked_when_the_rules_understand():
    with FakeLanguageModel({"intent": "changes", "entities": ["checkout"]}) as fake:
        parsed = ask(fake, "why did checkout fail")
    assert parsed.intent == "root_cause" and parsed.understood_by == "rules" and not fake.requests


@pytest.mark.parametrize(
    ("mode", "reply"),
    [
        ("slow", {"intent": "changes", "entities": []}),  # past the timeout
        ("error", {"intent": "changes", "entities": []}),  # HTTP 500
        ("garbage", {}),  # not JSON
        ("ok", {"intent": "drop_database", "entities": []}),  # not an intent
        ("ok", {"intent": "changes", "entities": ["billing"]}),  # not an entity of the graph
        ("ok", {"intent": "changes", "entities": "checkout"}),  # not a list
        ("ok", {"cypher": "MATCH (n) DETACH DELETE n"}),  # not the slots at all
    ],
)
def test_any_failure_keeps_the_offline_answer(mode, reply):
    with FakeLanguageModel(reply, mode=mode, delay_s=1.5) as fake:
        parsed = ask(fake, UNSURE, timeout_s=0.5)
    assert fake.requests, "the model was asked"
    assert parsed.understood_by == "classifier" and parsed.intent == "clarify"


def test_unreachable_endpoint_keeps_the_offline_answer():
    parser = estate_parser()
    settings = AskSettings(llm_url="http://127.0.0.1:9", llm_timeout_s=0.5)
    parsed = parser.parse(UNSURE, NOW, UTC, LanguageModel(settings, parser.catalog))
    assert parsed.understood_by == "classifier" and parsed.intent == "clarify"
