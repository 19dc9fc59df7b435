"""Logs as change evidence (rca.rank.log_change): rates over the time the logs were heard, not the wall time."""

from __future__ import annotations

import pytest

from rca.rank.log_change import BURST_MIN_HISTORY, WEIGHT_OTHER, log_bursts, template_changes
from rca.rank.types import EventSignal

ALERT = 1_700_000_000.0
START, END = ALERT - 1800, ALERT + 300  # the service's default window
SPLIT = ALERT - 600


def _minute(entity: str, template: str, at: float, count: int, severity: int = 6) -> EventSignal:
    return EventSignal(entity, template, "other", severity, count, at, at + 50, template)


def test_a_routine_template_heard_through_gaps_in_delivery_is_not_faster():
    # an export that kept two minutes of history (a reference minute and one more, 25 minutes apart)
    # and the six minutes around the fault: the same 30 lines a minute throughout
    heard = [ALERT - 1500, ALERT - 1440] + [ALERT - 240 + 60 * k for k in range(6)]
    events = [_minute("orders", "GET /orders <*>", at, 30) for at in heard]
    assert template_changes(events, START, ALERT, END) == []
    # the same lines with a minute logged in every minute of the history are not faster either
    steady = [_minute("orders", "GET /orders <*>", at, 30) for at in range(int(START), int(ALERT) + 300, 60)]
    assert template_changes(steady, START, ALERT, END) == []


def test_a_template_logged_four_times_faster_per_heard_minute_is_faster():
    heard = [ALERT - 1500, ALERT - 1440]
    events = [_minute("orders", "GET /orders <*>", at, 30) for at in heard]
    events += [_minute("orders", "GET /orders <*>", ALERT - 240 + 60 * k, 150) for k in range(6)]
    changes = template_changes(events, START, ALERT, END)
    assert [(c.entity_id, c.kind, c.lines_after, c.lines_before) for c in changes] == [("orders", "faster", 900, 60)]


def test_events_are_read_once_so_a_generator_gives_what_a_list_gives():
    # 30 lines a minute over two heard minutes, then 40 a minute over six: not four times faster,
    # unless the heard times were lost (a second pass over a spent iterator)
    heard = [ALERT - 1500, ALERT - 1440]
    events = [_minute("orders", "GET /orders <*>", at, 30) for at in heard]
    events += [_minute("orders", "GET /orders <*>", ALERT - 240 + 60 * k, 40) for k in range(6)]
    assert template_changes(iter(events), START, ALERT, END) == template_changes(events, START, ALERT, END) == []


def test_a_template_is_new_only_against_a_history_long_enough_to_have_shown_it():
    # four error lines in the two minutes after the split, at a rate that would have written a line
    # a minute before: absent from a single heard minute of history by chance, absent from half an hour
    # of it only if it is new
    fault = [_minute("orders", "payment declined <*>", ALERT - 180 + 60 * k, 2, severity=3) for k in range(2)]
    routine = "GET /orders <*>"
    one_minute = [_minute("orders", routine, ALERT - 700, 30)]
    assert [c.template for c in template_changes(one_minute + fault, START, ALERT, END)] == []
    half_hour = [_minute("orders", routine, at, 30) for at in range(int(START), int(SPLIT) - 60, 60)]
    changes = template_changes(half_hour + fault, START, ALERT, END)
    assert [(c.template, c.kind, c.lines_after) for c in changes] == [("payment declined <*>", "new", 4)]
    # nothing heard before the split at all (a recording that starts with the fault): nothing to judge by
    assert [c.kind for c in template_changes(fault, START, ALERT, END)] == ["new"]


def test_a_template_is_new_when_all_its_lines_falling_after_the_split_is_under_a_chance_of_e_minus_3():
    # two heard minutes before the split and two after: each line falls after it with a chance of a half,
    # four lines all together with 1/16 (2.8 nats), five with 1/32 (3.5 nats)
    history = [_minute("orders", "GET /orders <*>", at, 30) for at in (SPLIT - 200, SPLIT - 140)]
    for lines, new in ((4, False), (5, True)):
        fault = [
            _minute("orders", "payment declined", ALERT - 180, lines - 2, 3),
            _minute("orders", "payment declined", ALERT - 120, 2, 3),
        ]
        changes = template_changes(history + fault, START, ALERT, END)
        assert [c.template for c in changes if c.kind == "new"] == (["payment declined"] if new else [])


LISTED = "<*> INFO TraceID: <*> [getSoldTickets][info is: LeftTicketInfo{soldTickets=[ITEMS]}"
ITEM = "Ticket(seatNo=<*>, startStation=shanghai, destStation=nanjing),"


def _listing(items: int) -> str:
    """The template a miner makes of a line printing `items` tickets (one template per token count)."""
    return LISTED.replace("ITEMS", " ".join([ITEM] * items))


def test_a_line_printing_a_longer_list_is_the_same_statement_not_a_new_template():
    before = [_minute("orders", _listing(3), ALERT - 1500 + 60 * k, 20) for k in range(10)]
    after = [_minute("orders", _listing(n), ALERT - 240 + 60 * k, 20) for k, n in enumerate((2, 5, 7, 4))]
    assert template_changes(before + after, START, ALERT, END) == []
    # a statement the service had not written before is still new, whatever it lists
    failed = [_minute("orders", "<*> ERROR [getSoldTickets][seat service failed: " + ITEM, ALERT - 120, 12, 3)]
    changes = template_changes(before + after + failed, START, ALERT, END)
    assert [(c.entity_id, c.kind, c.lines_after) for c in changes] == [("orders", "new", 12)]


def _heard_every_minute(start: float, end: float) -> list[EventSignal]:
    """A routine line of a bystander in every minute: what makes the minutes heard."""
    return [_minute("gateway", "GET / <*>", at, 20) for at in range(int(start), int(end), 60)]


def test_a_run_of_minutes_of_a_template_logged_in_few_earlier_minutes_is_an_improbable_burst():
    earlier = [_minute("travel", "route lookup failed", ALERT - 1500 + 60 * k, 30, 3) for k in range(3)]
    recent = [_minute("travel", "route lookup failed", ALERT - 240 + 60 * k, 8, 3) for k in range(5)]
    events = _heard_every_minute(START, ALERT + 60) + earlier + recent
    # in 3 of the 25 minutes heard before the recent six: 5 of those six has a chance of about 2e-4
    bursts = log_bursts(events, ALERT)
    travel = bursts["travel"]
    assert 3.5 < travel.surprise < 4.0 and travel.is_burst
    assert (travel.minutes_recent, travel.heard_recent, travel.minutes_before, travel.heard_before) == (5, 6, 3, 25)
    assert bursts["gateway"].surprise < 0.1  # in every minute before and since: nothing improbable
    # not new, and against its mean rate over the heard time not four times faster either
    assert template_changes(events, START, ALERT, END) == []


def test_one_minute_of_a_new_line_is_weak_and_an_informational_run_weighs_less_than_an_error_run():
    events = _heard_every_minute(START, ALERT + 60) + [_minute("cart", "retrying <*>", ALERT - 30, 2, 3)]
    assert not log_bursts(events, ALERT)["cart"].is_burst  # BURST_FROM's reason
    run = [_minute("cart", "retrying <*>", ALERT - 240 + 60 * k, 2, 3) for k in range(5)]
    info = [_minute("shop", "retrying <*>", ALERT - 240 + 60 * k, 2, 6) for k in range(5)]
    bursts = log_bursts(_heard_every_minute(START, ALERT + 60) + run + info, ALERT)
    assert bursts["shop"].surprise == pytest.approx(bursts["cart"].surprise * WEIGHT_OTHER)


def test_without_minutes_heard_before_the_recent_ones_nothing_is_a_burst():
    recent = [_minute("travel", "route lookup failed", ALERT - 240 + 60 * k, 8, 3) for k in range(5)]
    few = _heard_every_minute(ALERT - 300 - 60 * (BURST_MIN_HISTORY - 1), ALERT - 300)
    assert log_bursts(few + recent, ALERT) == {}
    enough = _heard_every_minute(ALERT - 300 - 60 * BURST_MIN_HISTORY, ALERT - 300)
    assert log_bursts(enough + recent, ALERT)["travel"].is_burst
