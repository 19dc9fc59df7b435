"""Intent rules: the first and surest way a question's intent is found.

Rules read the question as the parser hands it over: lower-case tokens with the linked entities
replaced by ENT and the time expression by TIME ("why did ENT fail TIME"). They are tried in order;
the first that matches decides. What no rule matches goes to the classifier (intent_model.py).
"""

from __future__ import annotations

import re

INTENTS = (
    "root_cause",
    "changes",
    "dependencies",
    "dependents",
    "anomalies",
    "errors",
    "incidents",
    "health",
    "clarify",
    "refused",
)
# Intents answered about one or more named entities; without one the parser asks back.
NEEDS_ENTITY = frozenset({"root_cause", "dependencies", "dependents", "health"})

_WRITE_VERBS = (
    "delete|drop|remove|wipe|truncate|restart|reboot|kill|shutdown|shut down|stop|close|create|insert|update|set|"
    "deploy|rollback|roll back|scale|confirm|reject|change|modify|rename|purge|erase|clear"
)
_RULES: tuple[tuple[str, str], ...] = (
    # a request to change something: this layer only reads
    ("refused", rf"^(please |can you |could you )?({_WRITE_VERBS})\b(?! (is|was|did|does))"),
    ("refused", r"\b(ignore|forget|disregard)\b.*\b(instructions|rules|prompt|previous)\b"),
    # incidents: "has this happened before", similar ones, history, incidents with a root cause
    ("incidents", r"\b(happened|happen|seen|failed|had|occurred)\b.*\bbefore\b|\bsimilar\b|\bincident history\b"),
    ("incidents", r"\bincidents? (where|with|in which)\b"),
    # upstream: who calls X, what runs on X, the blast radius
    (
        "dependents",
        (
            r"\b(who|what|which \w+)( \w+)? "
            r"(calls?|uses?|depends? on|relies? on|connects? to|reads? from|needs|consumes?|talks? to|"
            r"speaks? to|sends? to|writes? to|queries|hits|is using|are using|is calling|are calling) (the )?ENT\b"
        ),
    ),
    # "services using kafka", "everything hitting the db": the verbs above as participles
    (
        "dependents",
        (
            r"\b(services|apps|things|stuff|everything|anything|who|what|which \w+)( \w+)? (using|calling|hitting|"
            r"talking to|depending on|relying on|reading from|writing to|connected to|connecting to|querying|"
            r"consuming) (the )?ENT\b"
        ),
    ),
    ("dependents", r"\b(callers?|consumers?|users|dependents|clients) of\b|\bupstream\b|\bblast radius\b"),
    ("dependents", r"\bENT( \w+)? (callers|consumers|clients|dependents)\b"),
    ("dependents", r"\bwhat (would |will )?(breaks?|be affected|is affected|is impacted|gets? hit|fails?) if\b"),
    ("dependents", r"\bimpact(ed)?\b"),
    ("dependents", r"\b(what|which \w+) (runs|is running|are running|is hosted|are hosted|lives|live|run) on\b"),
    # downstream: what X calls, depends on, runs on
    (
        "dependencies",
        (
            r"\b(what|which)( \w+)? (does|do|is) (the )?ENT( service)? (call|calling|depend|use|need|rely|talk|connect|"
            r"run|running|query|built)"
        ),
    ),
    ("dependencies", r"\bENT( \w+)? (dependencies|deps)\b|\b(dependencies|deps) (of|for)\b|\bdownstream\b"),
    ("dependencies", r"\bwhat (the )?ENT (calls|depends on|relies on|uses|needs|runs on)\b"),  # "... and what it calls"
    # "list everything checkout needs": the question ends with what the entity calls
    (
        "dependencies",
        (
            r"\bENT (needs|calls|uses|depends on|relies on|talks to|connects to|hits|queries|reads from|writes to)"
            r"( TIME)?$"
        ),
    ),
    ("dependencies", r"\bwhere (does|do|is) (the )?ENT\b.*\b(run|running|hosted|live|deployed)\b"),
    ("dependencies", r"\bwhich hosts? (does|do|is) (the )?ENT\b"),
    # root cause
    ("root_cause", r"\bwhy\b"),
    (
        "root_cause",
        (
            r"\b(root cause|caused?|causing|what broke|broke ENT|what made|what took|diagnose|explain|went wrong|"
            r"wrong with|the matter with|happened to ENT|behind the|triggered|rca|culprit|to blame|at fault)\b|"
            r"\bENT (the )?(problem|issue|cause)\b|"
            r"\b(making|slowing( down)?|breaking|hurting|killing) (the )?ENT\b"
        ),
    ),
    # signals
    (
        "changes",
        (
            r"\b(chang\w*|deploy\w*|redeploy\w*|releas\w*|rolled out|rollouts?|reconfigur\w*|versions?|upgrade\w*|"
            r"push(ed|es)?|shipped|hotfix\w*|patch(ed|es)?|bump(ed)?|merged|new builds?)\b"
        ),
    ),
    (
        "anomalies",
        (
            r"\b(anomal\w*|abnormal|unusual|spik\w*|deviat\w*|out of the ordinary|metrics?|weird\w*|odd|strange|"
            r"funky|wonky|alerts?|alarms?|firing)\b|\b(looks?|looking|seems?|seeming) (off|weird|odd|strange)\b"
        ),
    ),
    (
        "errors",
        (
            r"\b(errors?|erroring|exceptions?|logs?|logging|logged|log messages?|signatures?|stack ?traces?|panic\w*|"
            r"throw\w*|[45]xx|[45]\d\ds?)\b"
        ),
    ),
    ("incidents", r"\b(incidents?|outages?)\b"),
    # "what happened overnight": no entity named, the incidents of the time asked about
    ("incidents", r"^(so )?what (happened|went on|was going on|has happened)\b(?!.*\bENT\b)"),
    # a symptom stated, not asked ("frontend slow af", "checkout down again"): what is behind it
    (
        "root_cause",
        (
            r"^(the )?ENT( service)? (is |are |seems |looks |looking |keeps |been |has been |went |still )?"
            r"(\w+ )?(slow|down|broken|failing|erroring|timing out|on fire|dead|hosed|borked|tanking|tanked|"
            r"flapping|crashing|crashlooping|struggling|melting|choking|hanging|lagging)\b"
        ),
    ),
    # one entity's state
    (
        "health",
        (
            r"^(how|hows)( is| are| was| healthy is| does)?( the)? ENT\b|"
            r"\b(status|state|health\w*|ok|okay|fine|alright|up|working|running|good shape|overview)\b|"
            r"^(?=.*\bENT\b).*\b(good|happy|green|stable|alive|degraded|unhealthy|sick)\b|"  # of a named entity
            r"\b(going on|happening) (with|on|in) (the )?ENT\b|"
            r"^check ENT"
        ),
    ),
)
_COMPILED = tuple((intent, re.compile(pattern)) for intent, pattern in _RULES)

_FAMILIES = (
    ("latency", r"\b(slow\w*|latency|lag\w*|timing out|time ?outs?|timed out|hangs?|hanging|sluggish)\b"),
    ("saturation", r"\b(saturat\w*|cpu|memory|full|exhaust\w*|overload\w*|connections? limit|capacity)\b"),
    ("traffic", r"\b(traffic|throughput|no requests|request rate|dropp\w*)\b"),
)


_STATUS_WORDS = (
    ("open", r"\b(open|ongoing|active|unresolved|still)\b"),
    ("closed", r"\b(closed|resolved)\b"),
    ("confirmed", r"\bconfirmed\b|\bwas the root cause\b"),
)


def rule_words() -> frozenset[str]:
    """The whole words the rules read ("dependents", "ongoing", "culprit"): known words, never a name.

    Taken from the patterns themselves, so a word a rule is written for is never asked back as a name the
    parser does not know. A word written with "?" ("errors?") gives both forms; a stem ("chang\\w*") none.
    """
    words: set[str] = set()
    for pattern in [p for _, p in _RULES] + [p for _, p in _FAMILIES] + [p for _, p in _STATUS_WORDS]:
        text = re.sub(r"\\[wd]", "\0", re.sub(r"\\[bsB]", " ", pattern))  # \w, \d: a stem goes on; \b, \s: a gap
        for word, optional in re.findall(r"(?<![a-z\0])([a-z]{3,})(\?)?(?![a-z\0*+])", text):
            words.add(word)
            if optional:
                words.add(word[:-1])
    return frozenset(words)


def rule_stems() -> tuple[str, ...]:
    """The stems the rules read ("anomal" of "anomal\\w*", "deploy"): a word they begin is a known word."""
    stems: set[str] = set()
    for pattern in [p for _, p in _RULES] + [p for _, p in _FAMILIES]:
        stems.update(re.findall(r"(?<![a-z\\])([a-z]{4,})\\w[*+]", pattern))
    return tuple(sorted(stems))


def rule_intent(sentence: str) -> str | None:
    """The intent the first matching rule gives ``sentence`` (ENT/TIME placeholders), or None."""
    for intent, pattern in _COMPILED:
        if pattern.search(sentence):
            return intent
    return None


def symptom_family(sentence: str) -> str:
    """The signal family a root-cause question is about: latency, saturation, traffic, else errors."""
    for family, pattern in _FAMILIES:
        if re.search(pattern, sentence):
            return family
    return "errors"


def incident_status(sentence: str) -> str:
    """'open', 'closed' or 'confirmed' when the question filters incidents by status, else ''."""
    for status, pattern in _STATUS_WORDS:
        if re.search(pattern, sentence):
            return status
    return ""


def asks_for_similar(sentence: str) -> bool:
    """True for "has this happened before" and "similar incidents": the similar-incident memory answers."""
    return bool(re.search(r"\bbefore\b|\bsimilar\b|\bseen this\b|\blike this\b", sentence))


def hypothesis_first(sentence: str) -> bool:
    """True for "did Y cause the X errors": the first entity is a suspected cause, not a symptom."""
    return bool(re.search(r"\b(did|could|can|has|is|was) ENT (cause|break|be the cause|the cause|behind)", sentence))
