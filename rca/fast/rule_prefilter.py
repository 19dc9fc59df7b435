"""Which facts can fire a rule at all, read from the rules' own durable-rules conditions.

durable-rules spends tens of microseconds of JSON and Python glue on every asserted fact, whether
or not a rule matches it, and most entities' facts match none. Evaluating the very condition
definitions the ruleset was built from in Python first lets the engine assert only the facts
that can match. The check only ever errs towards "may match": an operator it does not know, a
missing field, a value of another type or a number within a hair of its threshold all pass, so
durable-rules still decides every finding.

A predicate takes one fact (a dict of plain values) or many facts as columns (a dict of numpy
arrays, one entry per fact) and answers with a bool or a bool array accordingly.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from functools import reduce

Predicate = Callable[[dict], bool]  # (or dict of columns -> bool array)
_SLACK = 1e-9  # numbers this close to a threshold pass: the engine's own number parsing decides them

# comparison -> (operator, which way a near miss is let through)
_COMPARISONS: dict[str, tuple[Callable[[float, float], bool], float]] = {
    "$gte": (operator.ge, -1.0),
    "$gt": (operator.gt, -1.0),
    "$lte": (operator.le, 1.0),
    "$lt": (operator.lt, 1.0),
}


def _may(value, threshold, compare: Callable, towards: float):
    try:
        if isinstance(value, bool) or isinstance(threshold, bool):
            return True
        return compare(value, threshold) | compare(value, threshold + towards * _SLACK * max(1.0, abs(threshold)))
    except TypeError:  # numpy's "no loop for these types" is a TypeError too
        return True


def _field(name: str, threshold, compare: Callable, towards: float) -> Predicate:
    def check(fact: dict) -> bool:
        return name not in fact or _may(fact[name], threshold, compare, towards)

    return check


def _equals(name: str, expected) -> Predicate:
    def check(fact: dict) -> bool:
        value = fact.get(name, expected)
        if isinstance(expected, str) or isinstance(value, str):
            return value == expected
        return True  # numbers: leave equality of floats to the engine

    return check


def _always(fact: dict) -> bool:
    return True


def compile_condition(definition: dict) -> Predicate:
    """A predicate that is True for every fact the durable-rules condition `definition` can match."""
    if not isinstance(definition, dict) or len(definition) != 1:
        return _always
    ((key, arg),) = definition.items()
    if key in ("$and", "$or") and isinstance(arg, list):
        parts = [compile_condition(d) for d in arg]
        combine = operator.and_ if key == "$and" else operator.or_
        return lambda fact: reduce(combine, (p(fact) for p in parts))
    if key in _COMPARISONS and isinstance(arg, dict) and len(arg) == 1:
        ((name, threshold),) = arg.items()
        if isinstance(threshold, (int, float)):
            return _field(name, threshold, *_COMPARISONS[key])
        return _always
    if not key.startswith("$") and isinstance(arg, (str, int, float)):
        return _equals(key, arg)
    return _always


def compile_any(definitions: list[dict]) -> Predicate:
    """True for a fact that can match at least one of the conditions."""
    parts = [compile_condition(d) for d in definitions]
    return lambda fact: reduce(operator.or_, (p(fact) for p in parts), False)
