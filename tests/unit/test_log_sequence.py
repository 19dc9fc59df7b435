"""Logs as sequence evidence (rca.rank.log_sequence): a routine line that stopped keeping pace with its partner."""

from __future__ import annotations

import numpy as np
import pytest

from rca.rank.log_change import BURST_MIN_HISTORY
from rca.rank.log_sequence import (
    SEQUENCE_FROM,
    SEQUENCE_RECENT_S,
    _pair_dispersion,
    broken_sequences,
    same_statement,
)
from rca.rank.types import EventSignal

ALERT = 1_700_000_000.0
HISTORY = [ALERT - 1800 + 60 * k for k in range(28)]  # every minute until the recent ones
RECENT = [ALERT - SEQUENCE_RECENT_S + 60 * k for k in range(3)]  # the last two minutes and the alert's
LOAD = [20, 35, 12, 28, 40, 18, 25, 31, 22, 15] * 3  # requests a minute: the load moves, the ratios do not

RECEIVED = "price query received for route <*>"
ANSWERED = "price found for route <*>: <*>"


def _minute(entity: str, template: str, at: float, count: int, severity: int = 6) -> EventSignal:
    return EventSignal(entity, template, "other", severity, count, at, at + 50, template)


def _handler(entity: str, minutes: list[float], loads: list[int], answered: float = 1.0) -> list[EventSignal]:
    """A handler logging a line on each request and another when it answers (the share given answers)."""
    events = [_minute(entity, RECEIVED, at, n) for at, n in zip(minutes, loads)]
    return events + [
        _minute(entity, ANSWERED, at, round(n * answered)) for at, n in zip(minutes, loads) if n * answered
    ]


def test_a_line_that_stops_following_the_line_it_always_followed_is_a_broken_sequence():
    events = _handler("pricing", HISTORY, LOAD) + _handler("pricing", RECENT, [30, 30, 10], answered=0.0)
    found = broken_sequences(events, ALERT)["pricing"]
    assert (found.template, found.partner) == (ANSWERED, RECEIVED)
    assert (found.lines_recent, found.partner_recent) == (0, 70)
    assert found.lines_before == found.partner_before == sum(LOAD[: len(HISTORY)])
    assert found.is_broken and found.surprise > 10


def test_both_lines_falling_together_is_a_change_of_load_not_a_broken_sequence():
    events = _handler("pricing", HISTORY, LOAD) + _handler("pricing", RECENT, [4, 3, 2])
    assert not broken_sequences(events, ALERT)["pricing"].is_broken


def test_a_shift_within_the_split_a_pair_always_wandered_over_is_not_broken():
    # two endpoints of one service whose mix the callers decide: the share of the second wanders
    # from a tenth to nine tenths from minute to minute; a recent share of three tenths is nothing unusual
    shares = [0.1, 0.9, 0.3, 0.7, 0.5, 0.2, 0.8, 0.4, 0.6, 0.5] * 3
    events = []
    for at, n, share in zip(HISTORY, LOAD, shares):
        events += [_minute("station", "query station by id <*>", at, round(n * (1 - share)))]
        events += [_minute("station", "query stations in batch <*>", at, round(n * share))]
    events += [_minute("station", "query station by id <*>", at, 21) for at in RECENT]
    events += [_minute("station", "query stations in batch <*>", at, 9) for at in RECENT]
    assert not broken_sequences(events, ALERT)["station"].is_broken
    # the same recent minutes against a pair that kept a 1:1 split are broken
    steady = []
    for at, n in zip(HISTORY, LOAD):
        steady += [
            _minute("station", "query station by id <*>", at, n),
            _minute("station", "query stations in batch <*>", at, n),
        ]
    recent = events[-2 * len(RECENT) :]
    assert broken_sequences(steady + recent, ALERT)["station"].is_broken


def test_a_pair_broken_earlier_in_the_window_still_shows_the_break_now():
    # a recurring defect: three minutes of the window, a quarter of an hour ago, every answer failed;
    # now half of them fail. The earlier break must not make the pair look as if it never kept pace
    earlier = HISTORY[10:13]
    steady = [at for at in HISTORY if at not in earlier]
    events = _handler("pricing", steady, LOAD[: len(steady)])
    events += _handler("pricing", earlier, [40, 40, 40], answered=0.0)
    events += _handler("pricing", RECENT, [30, 30, 10], answered=0.5)
    found = broken_sequences(events, ALERT)["pricing"]
    assert (found.template, found.partner) == (ANSWERED, RECEIVED)
    assert found.is_broken


def test_one_statement_printed_with_other_values_is_not_its_own_partner():
    # a template miner keeps literal lists apart: the two train type lists trade places with the data
    fast = "INFO trace <*> span <*> [retrieveByNames][Retrieve trains] types: [DongCheOne, GaoTieOne, GaoTieTwo]"
    slow = "INFO trace <*> span <*> [retrieveByNames][Retrieve trains] types: [TeKuai, ZhiDa, KuaiSu]"
    assert same_statement(fast, slow) and not same_statement(RECEIVED, ANSWERED)
    events = [_minute("train", t, at, n) for at, n in zip(HISTORY, LOAD) for t in (fast, slow)]
    events += [_minute("train", fast, at, 30) for at in RECENT] + [_minute("train", slow, at, 1) for at in RECENT]
    assert "train" not in broken_sequences(events, ALERT)  # no partner left: not judged


def test_an_error_that_stops_is_a_recovery_not_a_broken_sequence():
    events = [_minute("basic", "route lookup failed: <*>", at, n, severity=3) for at, n in zip(HISTORY, LOAD)]
    events += [_minute("basic", RECEIVED, at, n) for at, n in zip(HISTORY, LOAD)]
    events += [_minute("basic", RECEIVED, at, 30) for at in RECENT]
    found = broken_sequences(events, ALERT).get("basic")
    assert found is None or found.surprise < SEQUENCE_FROM


def test_too_little_history_or_too_few_recent_lines_judge_nothing():
    short = HISTORY[-(BURST_MIN_HISTORY - 1) :]
    events = _handler("pricing", short, LOAD) + _handler("pricing", RECENT, [30, 30, 10], answered=0.0)
    assert broken_sequences(events, ALERT) == {}
    enough = HISTORY[-BURST_MIN_HISTORY:]
    events = _handler("pricing", enough, LOAD) + _handler("pricing", RECENT, [30, 30, 10], answered=0.0)
    assert broken_sequences(events, ALERT)["pricing"].is_broken
    sparse = _handler("pricing", HISTORY, LOAD) + _handler("pricing", RECENT, [2, 1, 1], answered=0.0)
    assert broken_sequences(sparse, ALERT)["pricing"].surprise == 0.0  # four lines: too few to judge a split


def test_a_line_logged_in_few_minutes_is_not_steady_enough_to_judge():
    events = [_minute("orders", RECEIVED, at, n) for at, n in zip(HISTORY, LOAD)]
    events += [_minute("orders", ANSWERED, at, n) for at, n in zip(HISTORY[::5], LOAD)]  # one minute in five
    events += [_minute("orders", RECEIVED, at, 30) for at in RECENT]
    assert "orders" not in broken_sequences(events, ALERT)  # one steady template: nothing to pair


def test_a_pair_split_by_chance_reads_a_dispersion_of_one_though_its_unsteadiest_minutes_are_left_out():
    # 200 minutes of 40 requests, each logging one of two lines at even odds: a binomial split, whose
    # dispersion is 1 by definition; leaving out the unsteadiest tenth must not make it look steadier
    rng = np.random.default_rng(11)
    first = rng.binomial(40, 0.5, size=200).astype(float)
    counts = np.column_stack([first, 40 - first])
    dispersion, share = _pair_dispersion(counts)
    assert share[0, 1] == pytest.approx(0.5, abs=0.02)
    assert dispersion[0, 1] == pytest.approx(1.0, abs=0.15)
