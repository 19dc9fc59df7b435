"""The rule packs: named, documented rules a senior SRE applies first, in durable-rules.

Every rule matches one entity fact (rca/rank/rules/facts.py) against thresholds from thresholds.yaml
and records a finding with a strength in [0, 1] and a sentence saying why. Rulesets are global
per process in durable-rules, so each threshold set is defined once under its own name; a
request's facts carry the request's session id (`sid`) and findings are collected per sid.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from durable.lang import m, ruleset, when_all

from rca.rank.rules.thresholds import Thresholds


@dataclass(frozen=True)
class Rule:
    """A rule's name, what it means, how strong its finding is and how it reads."""

    name: str
    doc: str
    strength: Callable[[dict, dict], float]
    text: Callable[[dict], str]


def _clip(x: float) -> float:
    return max(0.0, min(1.0, x))


RULES: dict[str, Rule] = {
    r.name: r
    for r in (
        Rule(
            "datastore_unreachable_callers_timeout",
            "A datastore whose users time out, are refused or degrade after it is the likely cause, "
            "even when its own metrics went silent.",
            lambda f, t: _clip(
                0.3 + 0.35 * f["users_failing_share"] + 0.25 * min(1.0, f["users_failing"] / 4) + 0.1 * f["evidence"]
            ),
            lambda f: (
                f"{f['users_failing']} of {f['users_total']} users of datastore {f['name']} time out, "
                f"are refused or degrade"
            ),
        ),
        Rule(
            "host_exhausted_instances_degrade",
            "A host that is saturated or gone while what runs on it degrades explains all of them at once.",
            lambda f, t: _clip(
                0.35 + 0.45 * f["residents_share"] + 0.2 * min(1.0, max(f["saturation"], f["traffic"]) / 8)
            ),
            lambda f: (
                f"host {f['name']}: {f['residents_degraded']} of {f['residents_total']} residents degrade"
                + (
                    f", host saturation score {max(f['saturation'], f['traffic']):.1f}"
                    if max(f["saturation"], f["traffic"])
                    else ""
                )
            ),
        ),
        Rule(
            "change_before_first_symptom",
            "A deploy or config change shortly before the first symptom, on an entity that then shows "
            "trouble (itself or at its users), is the first thing to roll back.",
            lambda f, t: _clip(math.exp(-f["change_gap_s"] / t["decay_s"]) * (0.5 + 0.5 * f["change_evidence"])),
            lambda f: f"{f['name']} changed {f['change_gap_s'] / 60:.0f} min before the first symptom",
        ),
        Rule(
            "crash_loop_or_oom",
            "Crash or out-of-memory lines, or restarts, mark an entity that is failing by itself.",
            lambda f, t: _clip(
                0.5 + 0.1 * math.log1p(f["crash_lines"] + 3 * f["oom_lines"]) + 0.2 * min(1, f["restarts"])
            ),
            lambda f: (
                f"{f['name']}: {f['crash_lines']} crash lines, {f['oom_lines']} out-of-memory lines, "
                f"{f['restarts']} restarts"
            ),
        ),
        Rule(
            "downstream_error_first",
            "When a callee's errors or latency start before those of its callers, the trouble came from "
            "the callee and travelled up.",
            lambda f, t: _clip(
                f["later_share"] * math.sqrt(min(1.0, f["lead_s"] / 120)) * min(1.0, max(f["errors"], f["latency"]) / 8)
            ),
            lambda f: f"{f['name']} degraded {f['lead_s']:.0f} s before its callers",
        ),
        Rule(
            "saturation_cascade",
            "A saturated entity followed by degrading dependants is a resource exhaustion cascading.",
            lambda f, t: _clip(min(1.0, f["saturation"] / 10) * math.sqrt(min(1.0, f["degraded_later"] / 3))),
            lambda f: (
                f"{f['name']} saturated (score {f['saturation']:.1f}), then {f['degraded_later']} dependants degraded"
            ),
        ),
        Rule(
            "certificate_or_auth_failure",
            "Callers failing certificate or authentication checks against an entity point at its "
            "certificate or credentials.",
            lambda f, t: _clip(
                max(0.5 + 0.5 * f["users_auth_share"] if f["users_auth_share"] else 0.0, min(0.6, f["auth_lines"] / 40))
            ),
            lambda f: (
                f"{f['users_auth_share']:.0%} of the callers of {f['name']} fail certificate/authentication checks"
                + (f"; {f['auth_lines']} auth failures logged by itself" if f["auth_lines"] else "")
            ),
        ),
    )
}


def _conditions(t: Thresholds) -> dict:
    """The durable-rules condition of each rule, with thresholds from the data file."""
    d, h, c = (
        t["datastore_unreachable_callers_timeout"],
        t["host_exhausted_instances_degrade"],
        t["change_before_first_symptom"],
    )
    k, s, x, a = (
        t["crash_loop_or_oom"],
        t["downstream_error_first"],
        t["saturation_cascade"],
        t["certificate_or_auth_failure"],
    )
    return {
        "datastore_unreachable_callers_timeout": (m.kind == "Datastore")
        & (m.users_failing >= d["min_users_failing"])
        & (m.users_failing_share >= d["min_users_share"]),
        "host_exhausted_instances_degrade": (m.kind == "Host")
        & (m.residents_degraded >= h["min_residents_degraded"])
        & (m.residents_share >= h["min_residents_share"])
        & (
            (m.saturation >= h["min_host_saturation"])
            | (m.traffic >= h["min_host_saturation"])
            | ((m.residents_share >= h["silent_residents_share"]) & (m.residents_degraded >= h["min_silent_residents"]))
        ),
        "change_before_first_symptom": (m.change_gap_s >= 0)
        & (m.change_gap_s <= c["max_gap_s"])
        & (m.change_evidence >= c["min_evidence"]),
        "crash_loop_or_oom": (m.crash_lines >= k["min_crash_lines"])
        | (m.oom_lines >= k["min_oom_lines"])
        | (m.restarts >= k["min_restarts"]),
        "downstream_error_first": (m.lead_s >= s["min_lead_s"])
        & (m.later_share >= s["min_later_share"])
        & ((m.errors >= s["min_score"]) | (m.latency >= s["min_score"])),
        "saturation_cascade": (m.saturation >= x["min_saturation"]) & (m.degraded_later >= x["min_degraded_effects"]),
        "certificate_or_auth_failure": (m.users_auth_share >= a["min_users_auth_share"])
        | (m.auth_lines >= a["min_own_auth_lines"]),
    }


def condition_definitions(thresholds: Thresholds) -> dict[str, dict]:
    """Each rule's condition as the definition durable-rules receives (read by the fact prefilter)."""
    return {name: condition.define() for name, condition in _conditions(thresholds).items()}


def define_ruleset(name: str, thresholds: Thresholds, record: Callable[[str, dict], None]) -> None:
    """Register the packs under `name`; every firing calls record(rule name, fact)."""
    conditions = _conditions(thresholds)
    with ruleset(name):
        for rule_name, condition in conditions.items():
            when_all(condition)(_action(rule_name, record))
        # Every request asserts this first, so its session always exists and can be deleted
        # afterwards (durable-rules crashes deleting a session that no fact ever created).
        when_all(m.request_opened == 1)(_opened)


def _opened(c) -> None:
    """The request's session is open; nothing to conclude."""


def _action(rule_name: str, record: Callable[[str, dict], None]) -> Callable:
    def action(c):
        record(rule_name, dict(c.m.items()))

    return action
