"""Run the rule packs over one request's facts, isolated from concurrent requests."""

from __future__ import annotations

import math
import threading
import uuid
from dataclasses import dataclass, field

from durable.engine import MessageNotHandledException
from durable.lang import assert_fact, assert_facts, delete_state, get_host

from rca import fast
from rca.fast.rule_prefilter import Predicate, compile_any
from rca.rank.rules.packs import RULES, condition_definitions, define_ruleset
from rca.rank.rules.thresholds import Thresholds, load_thresholds
from rca.rank.types import Finding

# durable-rules keeps rulesets and their sessions in one process-wide host whose Python glue is
# not written for threads; each request gets its own session id and the engine calls are
# serialised. The lock covers only a few milliseconds of fact matching per request.
_LOCK = threading.Lock()
_RESULTS: dict[str, list[tuple[str, dict]]] = {}
_DEFINED: dict[str, str] = {}


def _no_background_work() -> None:
    """Stands in for durable-rules' background dispatch on our rulesets."""


def _record(rule: str, fact: dict) -> None:
    _RESULTS.setdefault(fact["sid"], []).append((rule, fact))


@dataclass
class RuleEngine:
    """The rule packs with one threshold set; evaluate() is safe to call from many threads."""

    thresholds: Thresholds
    # facts that cannot match any rule are not asserted (see rca/fast/rule_prefilter.py)
    may_fire: Predicate = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.may_fire = compile_any(list(condition_definitions(self.thresholds).values()))

    @property
    def version(self) -> str:
        """Names the rule packs and thresholds in use."""
        return self.thresholds.version

    def _ruleset_name(self) -> str:
        name = _DEFINED.get(self.thresholds.version)
        if name is None:
            name = "rca_" + "".join(ch if ch.isalnum() else "_" for ch in self.thresholds.version)
            define_ruleset(name, self.thresholds, _record)
            host = get_host()  # registers the pending definition now, under the lock
            # durable-rules' host also runs actions from background timer threads, outside our
            # lock; these rules have no timers or queued actions (every action runs inside
            # assert_fact), so the background pass is switched off for this ruleset lest it pick
            # up an action of a request in flight and record it after the request returned.
            ruleset_object = host.get_ruleset(name)
            ruleset_object.dispatch = _no_background_work
            ruleset_object.dispatch_timers = _no_background_work
            _DEFINED[self.thresholds.version] = name
        return name

    def evaluate(self, facts: list[dict], at: float, prefiltered: bool = False) -> list[Finding]:
        """Findings for these facts (see rca/rank/rules/facts.py), strongest first.

        prefiltered: the facts already passed may_fire (build_facts(..., keep=may_fire) did it on columns).
        """
        if not prefiltered and fast.enabled():
            facts = [f for f in facts if self.may_fire(f)]
        if not facts:
            return []  # nothing can fire: no need to open a session
        with _LOCK:
            name = self._ruleset_name()
            plain = [_plain_numbers(fact) for fact in facts]
            try:
                fired = _fire(name, plain, batch=True)
            except MessageNotHandledException:
                # durable-rules refuses a batch holding a fact no rule looks at (may_fire keeps those out,
                # but prefiltered=True takes the caller's word): a fresh session, one fact at a time
                fired = _fire(name, plain, batch=False)
        kept: dict[tuple[str, str], Finding] = {}
        for rule_name, fact in fired:  # an OR condition fires once per matching branch: keep one
            rule = RULES[rule_name]
            strength = rule.strength(fact, self.thresholds[rule_name])
            kept[(rule_name, fact["entity"])] = Finding(
                rule_name, fact["entity"], round(strength, 4), rule.text(fact), at
            )
        findings = list(kept.values())
        findings.sort(key=lambda f: (-f.strength, f.rule, f.entity_id))
        return findings


def _fire(ruleset_name: str, facts: list[dict], batch: bool) -> list[tuple[str, dict]]:
    """(rule, fact) of every firing of these facts in a session of their own (call under _LOCK).

    batch: all facts in one assert_facts call. Each call into durable-rules costs its Python glue
    (JSON both ways, a pass over pending actions) about 0.1 ms, so one call for the request's
    facts instead of one per fact saves about a third of the rules stage. A batch holding a
    fact that no rule looks at raises MessageNotHandledException and fires nothing; one fact at
    a time skips such facts.
    """
    sid = uuid.uuid4().hex
    try:
        # first and alone, so the session exists whatever the facts do: durable-rules crashes
        # deleting a session that no fact ever created
        assert_fact(ruleset_name, {"sid": sid, "request_opened": 1})
        if batch:
            if facts:  # durable-rules crashes on an empty batch
                assert_facts(ruleset_name, [{**fact, "sid": sid} for fact in facts])
        else:
            for fact in facts:
                try:
                    assert_fact(ruleset_name, {**fact, "sid": sid})
                except MessageNotHandledException:
                    pass  # no rule looks at this fact
        return _RESULTS.pop(sid, [])
    finally:
        _RESULTS.pop(sid, None)
        delete_state(ruleset_name, sid)


# durable-rules' JSON parser rejects numbers written with an exponent ("1e-07", "1e+16": error
# 204) and infinities (202), which Python writes for tiny, huge and infinite floats. No rule
# threshold lives below 1e-4 or above 1e15, so such values are asserted as 0 or as +-1e15.
_TINY, _HUGE = 1e-4, 1e15


def _plain_numbers(fact: dict) -> dict:
    """The fact with every float in a range durable-rules can parse (see above)."""
    out = {}
    for key, value in fact.items():
        if isinstance(value, float) and value == value:  # NaN parses and compares false, as it should
            if abs(value) < _TINY:
                value = 0.0
            elif abs(value) >= _HUGE:
                value = math.copysign(_HUGE, value)
        out[key] = value
    return out


def default_rule_engine() -> RuleEngine:
    """The rule packs with the bundled thresholds, registered now rather than on the first request."""
    engine = RuleEngine(load_thresholds())
    with _LOCK:
        engine._ruleset_name()
    return engine
