"""Waiting in tests without fixed sleeps: poll for the outcome against a deadline.

A test that sleeps "long enough" and then checks is slow when the condition comes early and
flaky when it comes late. ``wait_until`` returns as soon as the condition holds and fails with a
message when it does not by the deadline. ``stays_true`` is for the other case, a condition that
must *not* change for a while (a call that must keep waiting): there only a time window can show it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """The awaited condition did not hold by the deadline (an AssertionError, so pytest reports it as a failure)."""


def wait_until(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.05, message: str = "") -> T:
    """Call predicate until it returns something truthy, and return that; WaitTimeout after timeout seconds.

    The predicate is called once more at the deadline, so a slow machine gets the full timeout.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimeout(
                f"not true within {timeout:g} s: {message or getattr(predicate, '__name__', predicate)}"
                f" (last value {value!r})"
            )
        time.sleep(min(interval, remaining))


def stays_true(predicate: Callable[[], object], for_s: float, interval: float = 0.02) -> bool:
    """True when predicate holds at every check for for_s seconds; False at the first check where it does not."""
    deadline = time.monotonic() + for_s
    while time.monotonic() < deadline:
        if not predicate():
            return False
        time.sleep(interval)
    return bool(predicate())
