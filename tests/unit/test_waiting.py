"""tests.support.waiting: polling for an outcome against a deadline instead of sleeping."""

from __future__ import annotations

import itertools
import time

import pytest

from tests.support.waiting import WaitTimeout, stays_true, wait_until


def test_wait_until_returns_the_first_truthy_value_as_soon_as_it_comes():
    calls = itertools.count(1)
    started = time.monotonic()
    assert wait_until(lambda: next(calls) >= 3 and "ready", timeout=5, interval=0.01) == "ready"
    assert time.monotonic() - started < 1


def test_wait_until_fails_with_the_message_at_the_deadline():
    started = time.monotonic()
    with pytest.raises(WaitTimeout, match=r"not true within 0.1 s: the flag is set \(last value 0\)"):
        wait_until(lambda: 0, timeout=0.1, interval=0.01, message="the flag is set")
    assert 0.1 <= time.monotonic() - started < 2


def test_stays_true_stops_at_the_first_check_that_fails():
    calls = itertools.count()
    assert not stays_true(lambda: next(calls) < 2, for_s=5, interval=0.01)
    assert stays_true(lambda: True, for_s=0.05, interval=0.01)
