"""Ask's time grammar: every form on a fixed clock, in several zones, across day boundaries."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from rca.nlq.time_grammar import AROUND_S, NOW_S, find_window
from rca.nlq.tokens import tokenize

UTC = ZoneInfo("UTC")
PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


def at(text: str, zone=UTC) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=zone).timestamp()


def window(question: str, now: float, zone=UTC) -> tuple[float, float] | None:
    found = find_window(tokenize(question), now, zone)
    return None if found is None else (found.start, found.end)


NOW = at("2026-12-06T14:42:00")  # a Sunday


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("what changed in the last 2 hours", NOW - 7200, NOW),
        ("errors past 30 minutes", NOW - 1800, NOW),
        ("anomalies since 10 minutes", NOW - 600, NOW),
        ("anomalies since 10 minutes ago", NOW - 600, NOW),
        ("what changed 20 minutes ago", NOW - 1200, NOW),
        ("errors in the last hour", NOW - 3600, NOW),
        ("in the past half an hour", NOW - 1800, NOW),
        ("in the last couple of hours", NOW - 7200, NOW),
        ("last 3h", NOW - 3 * 3600, NOW),
        ("the last five minutes", NOW - 300, NOW),
        ("within the past 2 days", NOW - 2 * 86400, NOW),
        ("what is failing right now", NOW - NOW_S, NOW),
        ("what is failing now", NOW - NOW_S, NOW),
        ("changes today", at("2026-12-06T00:00"), NOW),
        ("errors yesterday", at("2026-12-05T00:00"), at("2026-12-06T00:00")),
        ("what broke this morning", at("2026-12-06T06:00"), at("2026-12-06T12:00")),
        ("what changed this afternoon", at("2026-12-06T12:00"), NOW),
        ("what happened last night", at("2026-12-05T18:00"), at("2026-12-06T06:00")),
        ("yesterday evening", at("2026-12-05T18:00"), at("2026-12-06T00:00")),
        ("incidents this week", at("2026-11-30T00:00"), NOW),
        ("incidents this month", at("2026-12-01T00:00"), NOW),
        ("changes since yesterday", at("2026-12-05T00:00"), NOW),
        ("since this morning", at("2026-12-06T06:00"), NOW),
        ("what changed since 14:00", at("2026-12-06T14:00"), NOW),
        ("errors since 2pm", at("2026-12-06T14:00"), NOW),
        ("between 14:00 and 14:30 today", at("2026-12-06T14:00"), at("2026-12-06T14:30")),
        ("from 2pm to 3pm yesterday", at("2026-12-05T14:00"), at("2026-12-05T15:00")),
        ("between 23:00 and 01:00 yesterday", at("2026-12-05T23:00"), at("2026-12-06T01:00")),
        ("why did checkout fail at 14:05", at("2026-12-06T14:05") - AROUND_S, at("2026-12-06T14:05") + AROUND_S),
        ("since 2026-12-06T01:00:00Z", at("2026-12-06T01:00"), NOW),
        ("between 2026-12-06T01:00:00Z and 2026-12-06T02:00:00Z", at("2026-12-06T01:00"), at("2026-12-06T02:00")),
        ("around 2026-12-06T14:00", at("2026-12-06T14:00") - AROUND_S, at("2026-12-06T14:00") + AROUND_S),
        ("changes on 2026-12-05", at("2026-12-05T00:00"), at("2026-12-06T00:00")),
    ],
)
def test_every_form_on_a_fixed_clock(question, start, end):
    assert window(question, NOW) == (start, end)


def test_no_time_in_the_question_gives_no_window():
    for question in ("why did checkout fail", "who calls payment", "what does the 2 factor auth call"):
        assert window(question, NOW) is None


def test_the_span_and_its_tokens_are_reported():
    tokens = tokenize("what changed on payment in the last 2 hours please")
    found = find_window(tokens, NOW, UTC)
    assert found is not None and found.text == "in the last 2 hours"
    assert tokens[found.first_token : found.end_token] == ["in", "the", "last", "2", "hours"]


def test_day_words_follow_the_zone():
    # 23:30 UTC on Dec 6 is already Dec 7 in Paris and still Dec 6 in New York
    now = at("2026-12-06T23:30")
    assert window("today", now, PARIS) == (at("2026-12-07T00:00", PARIS), now)
    assert window("today", now, NEW_YORK) == (at("2026-12-06T00:00", NEW_YORK), now)
    assert window("yesterday", now, PARIS) == (at("2026-12-06T00:00", PARIS), at("2026-12-07T00:00", PARIS))


def test_clock_times_are_read_in_the_zone():
    now = at("2026-12-06T16:00", PARIS)
    assert window("between 14:00 and 14:30 today", now, PARIS) == (
        at("2026-12-06T14:00", PARIS),
        at("2026-12-06T14:30", PARIS),
    )
    # an ISO time with a zone keeps it; one without takes the question's
    assert window("since 2026-12-06T10:00:00Z", now, PARIS) == (at("2026-12-06T10:00"), now)
    assert window("since 2026-12-06T10:00", now, PARIS) == (at("2026-12-06T10:00", PARIS), now)


def test_day_boundary_just_after_midnight():
    now = at("2026-12-06T00:05")
    assert window("today", now) == (at("2026-12-06T00:00"), now)
    assert window("yesterday", now) == (at("2026-12-05T00:00"), at("2026-12-06T00:00"))
    # a clock time later than now is yesterday's
    assert window("since 23:00", now) == (at("2026-12-05T23:00"), now)
    assert window("this week", now) == (at("2026-11-30T00:00"), now)


def test_monday_starts_the_week():
    monday = at("2026-12-07T09:00")
    assert window("this week", monday) == (at("2026-12-07T00:00"), monday)


def test_impossible_times_are_not_windows():
    assert window("between 25:00 and 26:00", NOW) is None
    assert window("since 13pm", NOW) is None
    # an empty range is no window; what remains readable ("today") is
    assert window("between 14:30 and 14:30 today", NOW) == (at("2026-12-06T00:00"), NOW)
