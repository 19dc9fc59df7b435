"""The question parser: screen, tokens, time window, entities, intent; never raises on any text.

``QuestionParser.parse`` returns a ``Parsed``: the intent, the linked entities, the window read from
the question (or none), and, when the question cannot be answered as asked, a clarification (words
that could be several entities, or none) or a refusal with its reason. Intent comes from the rules
first, then the classifier; an optional language model is asked only when neither is sure.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import tzinfo
from functools import cache
from pathlib import Path

from rapidfuzz import fuzz, process
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from rca.nlq import intent_model, intent_rules
from rca.nlq.entities import Entity, EntityCatalog, Link, Unresolved
from rca.nlq.screen import screen
from rca.nlq.time_grammar import STARTERS, TimeSpan, find_window
from rca.nlq.tokens import tokenize

log = logging.getLogger(__name__)
CONFIDENT = 0.5  # the classifier's probability from which its intent is taken without asking further
TYPO_SCORE = 85.0  # an unknown word this close to a known one is that word with a typo
# Words of questions about operations that the paraphrase set may not hold; with the stop words, the
# time words, the words the intent rules read and the paraphrase set's words they are the vocabulary:
# any other word may be a name.
OPS_WORDS = frozenset(
    """
    service services host hosts node nodes instance instances pod pods server servers database databases db dbs cache
    caches queue datastore datastores store system systems app application cluster estate team prod production
    failing failed fail failure failures fails broken broke break breaking down outage outages crash crashed
    slow slowness latency timeout timeouts errors error erroring 500s 5xx 503 502 500 alert alerts alerting
    please show me list give tell us any anything something happen happening happened today right now recently
    lately currently latest last past recent both also just still ok okay fine healthy up
    die dies died dead dying goes going went gone hit hits affected affect broken stopped stops unhappy bad
    delete drop remove wipe truncate restart reboot kill shutdown shut stop close create insert update set deploy
    rollback roll scale confirm reject modify rename purge erase clear ignore forget disregard instructions rules
    """.split()
)


@dataclass
class Parsed:
    """A question as understood."""

    intent: str
    links: list[Link] = field(default_factory=list)
    window: TimeSpan | None = None
    unresolved: list[Unresolved] = field(default_factory=list)
    refusal: str = ""
    understood_by: str = "rules"
    confidence: float = 1.0
    sentence: str = ""  # tokens with ENT and TIME placeholders, as the rules and the classifier read them
    family: str = "errors"  # root_cause: the symptoms' signal family
    hypotheses: list[Entity] = field(default_factory=list)  # root_cause: "did Y cause X" -> Y
    status: str = ""  # incidents: open, closed, confirmed or ''
    similar: bool = False  # incidents: "has this happened before"
    clarify_text: str = ""  # what the clarification asks about
    clause: str = ""  # of a question asking several things: the words this part was read from

    @property
    def entities(self) -> list[Entity]:
        """The linked entities in question order."""
        return [link.entity for link in self.links]


@dataclass(frozen=True)
class Shared:
    """What the clauses of one question share when a clause does not say it itself."""

    links: tuple[Link, ...] = ()
    window: TimeSpan | None = None


LlmFallback = Callable[[str, "Parsed"], "Parsed | None"]


class QuestionParser:
    """Understands questions against one entity catalog, offline."""

    def __init__(self, catalog: EntityCatalog, model: intent_model.IntentModel | None = None):
        self.catalog = catalog
        self.model = model or intent_model.load()
        self.vocabulary = frozenset(
            intent_model.vocabulary()
            | ENGLISH_STOP_WORDS
            | OPS_WORDS
            | STARTERS
            | _common_words()
            | intent_rules.rule_words()
        )
        self._typo_words = sorted(w for w in self.vocabulary if len(w) >= 4)
        self._stems = intent_rules.rule_stems()
        # the words whose inflections are known too: the curated ones, not the stop words ("bill" of "billing")
        # nor the paraphrase set's ("price" of "pricing"), service names are often such inflections
        self._inflected = OPS_WORDS | _common_words() | intent_rules.rule_words()

    def parse(
        self, question: str, now: float, tz: tzinfo, llm: LlmFallback | None = None, shared: Shared | None = None
    ) -> Parsed:
        """Understand ``question`` at ``now`` in ``tz``; refusals and clarifications are results, not errors.

        ``shared``: the entities and window of the question this is one clause of, taken when the clause
        names none of its own ("errors and anomalies on checkout": the errors of checkout too).
        """
        screened = screen(question)
        if screened.refusal:
            return Parsed("refused", refusal=screened.refusal)
        tokens, parsed = self._read(screened.text, now, tz, refer=shared is not None and bool(shared.links))
        sentence = parsed.sentence
        intent = intent_rules.rule_intent(sentence)
        if intent is not None:
            parsed.intent = intent
        else:
            prediction = self.model.predict(sentence)
            parsed.intent, parsed.understood_by, parsed.confidence = (
                prediction.intent,
                "classifier",
                round(prediction.probability, 3),
            )
            if prediction.probability < CONFIDENT:
                asked = llm(screened.text, parsed) if llm is not None else None
                if asked is not None:
                    parsed = asked
                else:  # about something of the estate, but what? Otherwise not about the estate at all
                    vague = parsed.links or parsed.unresolved or _VAGUE.search(sentence)
                    parsed.intent = "clarify" if vague else "refused"
        return self._finish(parsed, tokens, shared)

    def read(self, text: str, now: float, tz: tzinfo, *, refer: bool = False) -> Parsed | None:
        """What the rules alone make of ``text`` (intent "" when no rule matches); None if the screen refuses it.

        Cheap (no classifier, no language model): the clause splitter reads each candidate clause with it.
        ``refer``: a clause naming no entity may point back at the question's with "it" or "them".
        """
        screened = screen(text)
        if screened.refusal:
            return None
        _, parsed = self._read(screened.text, now, tz, refer=refer)
        parsed.intent = intent_rules.rule_intent(parsed.sentence) or ""
        return parsed

    def _read(self, text: str, now: float, tz: tzinfo, *, refer: bool = False) -> tuple[list[str], Parsed]:
        """Tokens, window, entities and the placeholder sentence of screened text; intent left undecided."""
        tokens = tokenize(text)
        window = find_window(tokens, now, tz)
        skip = set(range(window.first_token, window.end_token)) if window else set()
        linking = self.catalog.link(tokens, skip, self.vocabulary)
        sentence = self._sentence(tokens, window, linking.links, linking.unresolved)
        if refer and not linking.links and not linking.unresolved:
            sentence = _PRONOUNS.sub("ENT", sentence)
        return tokens, Parsed("refused", linking.links, window, linking.unresolved, sentence=sentence)

    def _sentence(self, tokens: list[str], window: TimeSpan | None, links, unresolved) -> str:
        """The tokens with ENT for entity words, TIME for the time expression, typos of known words mended."""
        marks: dict[int, str] = {}
        for span in (*links, *unresolved):
            marks[span.first] = "ENT"
            marks.update(dict.fromkeys(range(span.first + 1, span.end), ""))
        if window is not None:
            marks[window.first_token] = "TIME"
            marks.update(dict.fromkeys(range(window.first_token + 1, window.end_token), ""))
        words: list[str] = []
        for i, token in enumerate(tokens):
            word = marks.get(i, self._mend(token))
            if word:
                words.append(word)
        return " ".join(words)

    def _mend(self, token: str) -> str:
        if token in self.vocabulary or len(token) < 4 or not token.isalpha():
            return token
        match = process.extractOne(token, self._typo_words, scorer=fuzz.ratio, score_cutoff=TYPO_SCORE)
        return match[0] if match else token

    def _unknown_words(self, tokens: list[str], parsed: Parsed) -> list[str]:
        """Words that are neither known words nor part of a name or the time: maybe names we do not know."""
        used = {i for link in parsed.links for i in range(link.first, link.end)}
        named = {word for link in parsed.links for word in tokenize(link.text)}  # links of no span (the model's)
        used |= {i for u in parsed.unresolved for i in range(u.first, u.end)}
        if parsed.window is not None:
            used |= set(range(parsed.window.first_token, parsed.window.end_token))
        return [
            t
            for i, t in enumerate(tokens)
            if i not in used
            and t not in named
            and t.isalpha()
            and len(t) >= 3
            and not self._known(t, tokens[i - 1] if i else "")
        ]

    def _known(self, token: str, before: str) -> bool:
        """A known word, or, out of a name's place ("on pricing", "the billing"), a typo of one ("killing" for
        "billing" is not), a word a rule's stem begins ("anomalous") or an inflection of a known word
        ("hitting", "biggest"): not a name the catalog lacks."""
        if token in self.vocabulary:
            return True
        if before in _NAME_PLACE:
            return False
        return (
            self._mend(token) in self.vocabulary
            or token.startswith(self._stems)
            or any(base in self._inflected for base in base_forms(token))
        )

    def _finish(self, parsed: Parsed, tokens: list[str], shared: Shared | None = None) -> Parsed:
        sentence = parsed.sentence
        if parsed.intent == "refused":
            parsed.refusal = parsed.refusal or _refusal_reason(sentence)
            parsed.links, parsed.window, parsed.unresolved = [], None, []
            return parsed
        if parsed.unresolved:
            first = parsed.unresolved[0]
            parsed.intent, parsed.clarify_text = "clarify", first.text
            return parsed
        unknown = self._unknown_words(tokens, parsed)
        if shared is not None:  # after the unknown words: the shared spans index another clause's tokens
            parsed.links = parsed.links or list(shared.links)
            parsed.window = parsed.window or shared.window
        if (parsed.intent in intent_rules.NEEDS_ENTITY and not parsed.links) or unknown or parsed.intent == "clarify":
            text = " ".join(unknown)
            candidates = tuple(self.catalog.closest(text)) if text else ()
            parsed.unresolved = [Unresolved(text, candidates, 0, 0)]
            parsed.intent, parsed.clarify_text = "clarify", text
            return parsed
        if parsed.intent in ("dependencies", "dependents"):
            parsed.window = None  # the structure as it is now
        if parsed.intent == "root_cause":
            parsed.family = intent_rules.symptom_family(sentence)
            if len(parsed.links) > 1 and intent_rules.hypothesis_first(sentence):
                parsed.hypotheses = [parsed.links[0].entity]
        if parsed.intent == "incidents":
            parsed.status = intent_rules.incident_status(sentence)
            parsed.similar = intent_rules.asks_for_similar(sentence)
        return parsed


COMMON_WORDS = Path(__file__).with_name("data") / "common_words.txt"


@cache
def _common_words() -> frozenset[str]:
    lines = COMMON_WORDS.read_text().splitlines()
    return frozenset(word for line in lines if not line.startswith("#") for word in line.split())


_SUFFIXES = ("ing", "ed", "es", "s", "est", "ly", "ness")  # not "er": "mailer", "indexer" are names
# Words after which a word is where a name goes ("errors on pricing", "is the billing ok").
_NAME_PLACE = frozenset("on for of in to from with the about is are was by at".split())


def base_forms(word: str) -> list[str]:
    """The words ``word`` may be an inflection of: hitting -> hit, biggest -> big, tried -> try, outages -> outage."""
    forms = []
    for suffix in _SUFFIXES:
        base = word[: -len(suffix)]
        if not word.endswith(suffix) or len(base) < 3:
            continue
        forms += [base, base + "e"]
        if base[-1] == base[-2]:  # hitting, stopped
            forms.append(base[:-1])
        if base.endswith("i"):  # spikier, tried
            forms.append(base[:-1] + "y")
    return forms


# Words a clause points back at the question's entity with: "is cart healthy and what does it depend on".
_PRONOUNS = re.compile(r"\b(it|they|them)\b")
# Words that point at something of the estate without naming it: "why did it fail", "who calls the database".
_VAGUE = re.compile(r"\b(it|this|that|they|them|database|db|service|host|node|server|cache|instance|pod)\b")


def _refusal_reason(sentence: str) -> str:
    if intent_rules.rule_intent(sentence) == "refused":
        return "this only reads the graph: it cannot change, restart or delete anything"
    return "the question is not about the estate's services, changes, signals or incidents"
